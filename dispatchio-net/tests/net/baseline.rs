//! The raw framing pipeline: the same length-delimited framing as
//! dispatchio's links (`dispatchio_net::codec`) over a plain Unix socket,
//! with no handshake, envelope, serialisation or dispatch; and the middle
//! point, two links with no dispatcher. Each completes and counts every
//! frame.

use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use tokio::net::{UnixListener, UnixStream};
use tokio_util::codec::Framed;

use dispatchio_net::{DEFAULT_MAX_FRAME_LEN, codec};

/// What one baseline run measured.
#[derive(Debug, Clone, Copy)]
struct BaselineRun {
    /// Frames sent.
    frames: usize,
    /// Wall time for the whole run, connection set-up excluded.
    elapsed: Duration,
}

impl BaselineRun {
    /// Frames per second.
    fn frames_per_sec(&self) -> f64 {
        self.frames as f64 / self.elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
    }

    /// Average time per frame (per round trip for [`round_trips`]).
    fn per_frame(&self) -> Duration {
        self.elapsed / u32::try_from(self.frames.max(1)).unwrap_or(u32::MAX)
    }
}

#[derive(Clone, Copy)]
enum Mode {
    /// Echo every frame back.
    Echo,
    /// Count frames; answer once after `n`.
    AckAfter(usize),
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn socket_path() -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("dio-baseline-{}-{n}.sock", std::process::id()))
}

async fn pair(
    mode: Mode,
) -> io::Result<(
    Framed<UnixStream, tokio_util::codec::LengthDelimitedCodec>,
    tokio::task::JoinHandle<io::Result<()>>,
)> {
    let path = socket_path();
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path)?;
    let client = UnixStream::connect(&path).await?;
    let (server, _) = listener.accept().await?;
    let _ = std::fs::remove_file(&path);
    let server = tokio::spawn(async move {
        let mut framed = Framed::new(server, codec(DEFAULT_MAX_FRAME_LEN));
        let mut seen = 0usize;
        while let Some(frame) = framed.next().await {
            let frame = frame?;
            seen += 1;
            match mode {
                Mode::Echo => framed.send(frame.freeze()).await?,
                Mode::AckAfter(n) if seen == n => framed.send(Bytes::from_static(b"ok")).await?,
                Mode::AckAfter(_) => {}
            }
        }
        Ok(())
    });
    Ok((Framed::new(client, codec(DEFAULT_MAX_FRAME_LEN)), server))
}

fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "baseline peer closed early")
}

/// Sends `frames` frames of `frame_len` bytes one at a time, each waiting for
/// its echo: the raw round-trip latency.
///
/// # Errors
/// Any socket error.
async fn round_trips(frames: usize, frame_len: usize) -> io::Result<BaselineRun> {
    let (mut client, server) = pair(Mode::Echo).await?;
    let body = Bytes::from(vec![0xA5u8; frame_len]);
    let start = Instant::now();
    for _ in 0..frames {
        client.send(body.clone()).await?;
        client.next().await.ok_or_else(closed)??;
    }
    let elapsed = start.elapsed();
    drop(client);
    server.await.map_err(io::Error::other)??;
    Ok(BaselineRun { frames, elapsed })
}

/// Streams `frames` frames of `frame_len` bytes one way (flushing in batches,
/// as a link does) and waits for one acknowledgement after the last: the raw
/// throughput.
///
/// # Errors
/// Any socket error.
async fn one_way(frames: usize, frame_len: usize) -> io::Result<BaselineRun> {
    let (mut client, server) = pair(Mode::AckAfter(frames)).await?;
    let body = Bytes::from(vec![0x5Au8; frame_len]);
    let start = Instant::now();
    for i in 0..frames {
        client.feed(body.clone()).await?;
        if i % 64 == 63 {
            SinkExt::<Bytes>::flush(&mut client).await?;
        }
    }
    SinkExt::<Bytes>::flush(&mut client).await?;
    if frames > 0 {
        client.next().await.ok_or_else(closed)??;
    }
    let elapsed = start.elapsed();
    drop(client);
    server.await.map_err(io::Error::other)??;
    Ok(BaselineRun { frames, elapsed })
}

/// Echoes every request back as its reply, straight from the link's reader.
struct Echo;

impl dispatchio_net::LinkEvents for Echo {
    async fn received(&self, link: &dispatchio_net::Link, payload: dispatchio_net::Payload) {
        if let dispatchio_net::Payload::Message(m) = payload {
            if m.response_required {
                let reply = dispatchio_net::WireReply {
                    to: m.id,
                    result: dispatchio_net::ReplyResult::Ok(m.content),
                };
                // The peer waits for each reply before sending the next
                // request, so the queue cannot be full here.
                let _ = link.try_send(dispatchio_net::Payload::Reply(reply));
            }
        }
    }
}

/// Forwards replies to the measuring loop.
struct Replies(tokio::sync::mpsc::UnboundedSender<u64>);

impl dispatchio_net::LinkEvents for Replies {
    async fn received(&self, _link: &dispatchio_net::Link, payload: dispatchio_net::Payload) {
        if let dispatchio_net::Payload::Reply(r) = payload {
            let _ = self.0.send(r.to);
        }
    }
}

/// The middle point between [`round_trips`] and a full dispatcher: request
/// and reply over two dispatchio links on a Unix socket (handshake done
/// beforehand; envelope, MessagePack content of `frame_len` bytes, the
/// links' queues and tasks), without any routing.
///
/// # Errors
/// Any error of listening, dialling or sending, as text.
async fn link_round_trips(frames: usize, frame_len: usize) -> Result<BaselineRun, String> {
    use dispatchio_net::{Address, NetConfig, Payload, WireContent, WireMessage};
    let address = Address::Unix(socket_path());
    let config = NetConfig::new("baseline").keepalive(None);
    let listener = dispatchio_net::listen(&address, &config, std::sync::Arc::new(Echo))
        .await
        .map_err(|e| e.to_string())?;
    let (tx, mut replies) = tokio::sync::mpsc::unbounded_channel();
    let link = dispatchio_net::connect(&address, &config, std::sync::Arc::new(Replies(tx)))
        .await
        .map_err(|e| e.to_string())?;
    let content =
        WireContent::encode("bytes", &body_of_len(frame_len)).map_err(|e| e.to_string())?;
    let start = Instant::now();
    for id in 0..frames as u64 {
        let request = WireMessage {
            response_required: true,
            ..WireMessage::new(id, "bench", Some(content.clone()))
        };
        link.send(Payload::Message(request)).await.map_err(|e| e.to_string())?;
        match replies.recv().await {
            Some(to) if to == id => {}
            other => return Err(format!("expected the reply to {id}, got {other:?}")),
        }
    }
    let elapsed = start.elapsed();
    link.close("done").await;
    listener.close().await;
    Ok(BaselineRun { frames, elapsed })
}

/// A byte string that MessagePack writes as `bin` (one header, then the
/// bytes), like the raw baseline's frame body.
fn body_of_len(len: usize) -> bytes::Bytes {
    Bytes::from(vec![0xA5u8; len])
}

#[tokio::test]
async fn baselines_complete_and_count_every_frame() {
    let rt = round_trips(100, 64).await.unwrap();
    assert_eq!(rt.frames, 100);
    assert!(rt.per_frame() > Duration::ZERO);
    let ow = one_way(1000, 256).await.unwrap();
    assert_eq!(ow.frames, 1000);
    assert!(ow.frames_per_sec() > 0.0);
    let links = link_round_trips(100, 64).await.unwrap();
    assert_eq!(links.frames, 100);
}
