//! Two processes over a Unix socket: dispatchio's links and dispatcher
//! against a raw socket with the same length-delimited framing
//! ([`dispatchio::net::codec`]). The parent listens on a socket in the temp
//! dir and re-runs this program as the child (told its part by an
//! environment variable); every message carries a 64-byte body. The same
//! dispatchio side also runs over TCP loopback, plaintext and TLS (with a
//! certificate made for the run, which the child pins), for their ratio.

use std::path::Path;
use std::process::{Child, Command};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use dispatchio::net::{DEFAULT_MAX_FRAME_LEN, NetExt, RemoteConfig, Tls, codec};
use dispatchio::routing::{Action, Field, RoutingTable};
use dispatchio::{ContentRegistry, Dispatcher, Id, Message, Reply, RoutedListener, Text};
use futures::{SinkExt, StreamExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::runtime::Runtime;
use tokio_util::codec::{Framed, LengthDelimitedCodec};

pub(crate) const CHILD_ENV: &str = "DISPATCHIO_BENCH_UDS_CHILD";
/// The file of the certificate a TLS child pins.
const PIN_ENV: &str = "DISPATCHIO_BENCH_TLS_PIN";
/// The shared secret of the TCP and TLS runs (a TCP listener needs one).
const SECRET: &str = "bench secret";
const BODY: usize = 64;
/// Messages sent between two round trips in the throughput runs, so the
/// sender stays within dispatchio's bounded link queue (a full queue
/// fails the send); the raw side does the same.
const WINDOW: u64 = 4096;
const PATIENCE: Duration = Duration::from_secs(60);

#[derive(Clone, Copy, Debug)]
pub(crate) enum Side {
    Dispatchio,
    Raw,
    Tcp,
    Tls,
}

impl Side {
    /// Its keys: throughput, round trip, the sender's and the
    /// receiver's CPU per message.
    pub(crate) fn keys(self) -> [&'static str; 4] {
        match self {
            Side::Dispatchio => [
                "uds_msgs_per_s",
                "uds_rtt_p50_us",
                "uds_sender_cpu_ns_per_msg",
                "uds_receiver_cpu_ns_per_msg",
            ],
            Side::Raw => [
                "uds_raw_msgs_per_s",
                "uds_raw_rtt_p50_us",
                "uds_raw_sender_cpu_ns_per_msg",
                "uds_raw_receiver_cpu_ns_per_msg",
            ],
            Side::Tcp => [
                "tcp_msgs_per_s",
                "tcp_rtt_p50_us",
                "tcp_sender_cpu_ns_per_msg",
                "tcp_receiver_cpu_ns_per_msg",
            ],
            Side::Tls => [
                "tls_msgs_per_s",
                "tls_rtt_p50_us",
                "tls_sender_cpu_ns_per_msg",
                "tls_receiver_cpu_ns_per_msg",
            ],
        }
    }
}

type Error = Box<dyn std::error::Error + Send + Sync>;

/// What one side of the Unix-socket figures measured.
pub(crate) struct Figures {
    /// Messages per second, median of the repetitions.
    pub(crate) tput: f64,
    /// Median round trip in microseconds, over every round trip.
    pub(crate) rtt_us: f64,
    /// CPU time of the sending process (all its threads) per message
    /// of the throughput runs, in nanoseconds; median of the repetitions.
    pub(crate) parent_cpu_ns: f64,
    /// The same for the receiving process.
    pub(crate) child_cpu_ns: f64,
}

/// The figures of one side; see [`Figures`].
pub(crate) fn measure(
    rt: &Runtime,
    side: Side,
    messages: u64,
    trips: u64,
    reps: usize,
) -> Result<Figures, Error> {
    let dir = std::env::temp_dir().join(format!("dio-bench-{}-{side:?}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("s.sock");
    let _ = std::fs::remove_file(&path);
    let result = rt.block_on(async {
        match side {
            Side::Raw => raw_side(&path, messages, trips, reps).await,
            _ => dispatchio_side(side, &dir, messages, trips, reps).await,
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// Starts the receiving process: this program again, or under the
/// command in `DISPATCHIO_BENCH_UDS_WRAP` (split at spaces), e.g.
/// `valgrind --tool=callgrind` to count its instructions.
fn spawn_child(part: &str, target: &str, pin: Option<&Path>) -> Result<Child, Error> {
    let exe = std::env::current_exe()?;
    let wrap = std::env::var("DISPATCHIO_BENCH_UDS_WRAP").unwrap_or_default();
    let mut words = wrap.split_whitespace();
    let mut command = match words.next() {
        Some(program) => {
            let mut c = Command::new(program);
            c.args(words).arg(exe);
            c
        }
        None => Command::new(exe),
    };
    if let Some(pin) = pin {
        command.env(PIN_ENV, pin);
    }
    Ok(command.env(CHILD_ENV, format!("{part} {target}")).spawn()?)
}

/// What each repetition measured.
#[derive(Default)]
struct Reps {
    tputs: Vec<f64>,
    rtts: Vec<f64>,
    parent_cpu: Vec<f64>,
    child_cpu: Vec<f64>,
}

impl Reps {
    /// Records a throughput run: `messages` in `wall`, with the CPU time
    /// each process spent meanwhile.
    fn throughput(&mut self, messages: u64, wall: Duration, parent: Duration, child: Duration) {
        let n = messages as f64;
        self.tputs.push(n / wall.as_secs_f64());
        self.parent_cpu.push(parent.as_nanos() as f64 / n);
        self.child_cpu.push(child.as_nanos() as f64 / n);
    }

    fn summarise(self) -> Figures {
        Figures {
            tput: super::median_of(self.tputs),
            rtt_us: super::median_of(self.rtts),
            parent_cpu_ns: super::median_of(self.parent_cpu),
            child_cpu_ns: super::median_of(self.child_cpu),
        }
    }
}

/// The content of a request asking the child for its CPU time so far.
const CPU_QUERY: &str = "cpu?";

/// The CPU time a process has used so far: all its threads.
fn cpu_now() -> Duration {
    cpu_time::ProcessTime::try_now().map_or(Duration::ZERO, |t| t.as_duration())
}

fn body() -> String {
    "x".repeat(BODY)
}

async fn dispatchio_side(
    side: Side,
    dir: &Path,
    messages: u64,
    trips: u64,
    reps_wanted: usize,
) -> Result<Figures, Error> {
    let d = Dispatcher::new();
    let parent = config("bench-parent");
    let pin = dir.join("listener.pem");
    let (addr, cfg, pin) = match side {
        Side::Tcp => ("tcp:127.0.0.1:0".to_owned(), parent.allow_plaintext(true), None),
        Side::Tls => {
            let (cert, key) = certificate()?;
            std::fs::write(&pin, &cert)?;
            let tls = Tls::new().identity_pem(cert.as_bytes(), key.as_bytes())?;
            ("tls:127.0.0.1:0".to_owned(), parent.tls(tls), Some(pin.as_path()))
        }
        _ => (format!("unix:{}", dir.join("s.sock").display()), parent, None),
    };
    let listener = d.listen_with(&addr, &cfg).await?;
    let mut child = spawn_child("dispatchio", &listener.local_addr().to_string(), pin)?;
    let sink = Id::from("sink");
    if !d.wait_for_destination(&sink, PATIENCE).await {
        let _ = child.kill();
        return Err("the child's listener was never announced".into());
    }
    let me = d.new_source();
    let text = body();
    let child_cpu = async || -> Result<Duration, Error> {
        let answer = me
            .request(Message::new(Text(CPU_QUERY.to_owned())).to(sink.clone()), Some(PATIENCE))
            .await?;
        let text = answer.content().downcast_ref::<Text>().ok_or("the CPU answer is not text")?;
        Ok(Duration::from_nanos(text.0.parse()?))
    };
    let mut reps = Reps::default();
    for _ in 0..reps_wanted {
        let child_before = child_cpu().await?;
        let parent_before = cpu_now();
        let start = Instant::now();
        for i in 0..messages {
            me.send(Message::new(Text(text.clone())).to(sink.clone()))?;
            if i % WINDOW == WINDOW - 1 {
                me.request(Message::new(Text(String::new())).to(sink.clone()), Some(PATIENCE))
                    .await?;
            }
        }
        me.request(Message::new(Text(String::new())).to(sink.clone()), Some(PATIENCE)).await?;
        let wall = start.elapsed();
        let parent = cpu_now().saturating_sub(parent_before);
        let child = child_cpu().await?.saturating_sub(child_before);
        reps.throughput(messages, wall, parent, child);
        for _ in 0..trips {
            let t = Instant::now();
            me.request(Message::new(Text(text.clone())).to(sink.clone()), Some(PATIENCE)).await?;
            reps.rtts.push(t.elapsed().as_secs_f64() * 1e6);
        }
    }
    listener.close().await;
    let _ = tokio::task::spawn_blocking(move || child.wait()).await;
    Ok(reps.summarise())
}

fn config(name: &str) -> RemoteConfig {
    let mut registry = ContentRegistry::new();
    registry.register::<Text>();
    RemoteConfig::new(name).registry(registry).keepalive(None).secret(SECRET)
}

/// A self-signed certificate for 127.0.0.1 and its key, as PEM.
fn certificate() -> Result<(String, String), Error> {
    let key = rcgen::KeyPair::generate()?;
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])?.self_signed(&key)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// Raw frames: a one-way frame's body starts with 0 and is counted; one
/// starting with 2 asks for the child's CPU time (8 bytes back, in
/// nanoseconds); any other frame is echoed back.
async fn raw_side(
    path: &std::path::Path,
    messages: u64,
    trips: u64,
    reps_wanted: usize,
) -> Result<Figures, Error> {
    let listener = UnixListener::bind(path)?;
    let mut child = spawn_child("raw", &path.display().to_string(), None)?;
    let (io, _) = tokio::time::timeout(PATIENCE, listener.accept()).await??;
    let mut framed = Framed::new(io, codec(DEFAULT_MAX_FRAME_LEN));
    let one_way = Bytes::from(vec![0u8; BODY]);
    let request = Bytes::from(vec![1u8; BODY]);
    let cpu_query = Bytes::from_static(&[2]);
    let mut reps = Reps::default();
    for _ in 0..reps_wanted {
        let child_before = raw_child_cpu(&mut framed, &cpu_query).await?;
        let parent_before = cpu_now();
        let start = Instant::now();
        for i in 0..messages {
            framed.feed(one_way.clone()).await?;
            if i % 64 == 63 {
                SinkExt::<Bytes>::flush(&mut framed).await?;
            }
            if i % WINDOW == WINDOW - 1 {
                round_trip(&mut framed, &request).await?;
            }
        }
        round_trip(&mut framed, &request).await?;
        let wall = start.elapsed();
        let parent = cpu_now().saturating_sub(parent_before);
        let child = raw_child_cpu(&mut framed, &cpu_query).await?.saturating_sub(child_before);
        reps.throughput(messages, wall, parent, child);
        for _ in 0..trips {
            let t = Instant::now();
            round_trip(&mut framed, &request).await?;
            reps.rtts.push(t.elapsed().as_secs_f64() * 1e6);
        }
    }
    drop(framed);
    let _ = tokio::task::spawn_blocking(move || child.wait()).await;
    Ok(reps.summarise())
}

async fn round_trip(
    framed: &mut Framed<UnixStream, LengthDelimitedCodec>,
    request: &Bytes,
) -> Result<Bytes, Error> {
    framed.send(request.clone()).await?;
    match framed.next().await {
        Some(Ok(answer)) => Ok(answer.freeze()),
        Some(Err(e)) => Err(e.into()),
        None => Err("the raw child closed early".into()),
    }
}

async fn raw_child_cpu(
    framed: &mut Framed<UnixStream, LengthDelimitedCodec>,
    query: &Bytes,
) -> Result<Duration, Error> {
    let answer = round_trip(framed, query).await?;
    let nanos: [u8; 8] = answer[..].try_into().map_err(|_| "a CPU answer is 8 bytes")?;
    Ok(Duration::from_nanos(u64::from_be_bytes(nanos)))
}

/// The child process: serves until the parent goes away.
pub(crate) fn child(spec: &str) {
    let Some((part, target)) = spec.split_once(' ') else {
        eprintln!("bad {CHILD_ENV}: {spec}");
        std::process::exit(2);
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let result: Result<(), Error> = rt.block_on(async {
        match part {
            "dispatchio" => serve_dispatchio(target).await,
            _ => serve_raw(target).await,
        }
    });
    if let Err(e) = result {
        eprintln!("bench child: {e}");
        std::process::exit(1);
    }
}

/// Serves the parent at `address` (`unix:`, `tcp:` or `tls:`).
async fn serve_dispatchio(address: &str) -> Result<(), Error> {
    let d = Dispatcher::new();
    let count = Arc::new(AtomicU64::new(0));
    let c = count.clone();
    let table = RoutingTable::builder()
        .rule("request", Field::ResponseRequired.is_true(), [Action::call("echo")])
        .otherwise([Action::call("count")])
        .build()?;
    let listener = RoutedListener::builder(table)
        .handler("echo", |m: &Message| match m.content().downcast_ref::<Text>() {
            Some(Text(q)) if q == CPU_QUERY => {
                Ok(Reply::with(Text(cpu_now().as_nanos().to_string())))
            }
            _ => Ok(Reply::Content(m.content().clone())),
        })
        .handler("count", move |_m: &Message| {
            c.fetch_add(1, Ordering::Relaxed);
            Ok(Reply::Empty)
        })
        .build()?;
    d.register("sink", Arc::new(listener))?;
    let mut cfg = config("bench-child");
    if let Ok(pin) = std::env::var(PIN_ENV) {
        cfg = cfg.tls(Tls::new().pin_pem(&std::fs::read(pin)?)?);
    }
    let peer = d.connect_with(address, &cfg).await?;
    // Serves until the parent closes (a dialled link would reconnect for
    // ever, so stop at the first loss).
    let mut state = peer.link().watch_state();
    let _ = state.wait_for(|s| *s != dispatchio::net::LinkState::Up).await;
    peer.close().await;
    Ok(())
}

async fn serve_raw(path: &str) -> Result<(), Error> {
    let io = UnixStream::connect(path).await?;
    let mut framed = Framed::new(io, codec(DEFAULT_MAX_FRAME_LEN));
    let mut count = 0u64;
    while let Some(frame) = framed.next().await {
        let frame = frame?;
        match frame.first() {
            Some(0) => count += 1,
            Some(2) => {
                let nanos = cpu_now().as_nanos() as u64;
                framed.send(Bytes::copy_from_slice(&nanos.to_be_bytes())).await?;
            }
            _ => framed.send(frame.freeze()).await?,
        }
    }
    let _ = count;
    Ok(())
}
