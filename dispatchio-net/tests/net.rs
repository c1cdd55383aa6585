//! The network layer end to end, over real sockets on this machine only
//! (Unix sockets in the temp dir, TCP on 127.0.0.1).
//!
//! Peers that misbehave (wrong version, garbage, a process that dies) are
//! played by raw sockets speaking the framing by hand.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use dispatchio_net::{
    self as net, Address, Announcement, DownReason, Handshake, Hello, Link, LinkEvents, LinkId,
    LinkState, NetConfig, NetError, PROTOCOL_VERSION, Payload, PeerLost, RefusalReason, Refused,
    ReplyResult, SendError, WireContent, WireId, WireMessage, WireReply,
};
use futures::{FutureExt, SinkExt, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;
use tokio_util::codec::{Framed, LengthDelimitedCodec};

/// Generous bound for "this happens promptly / does not hang".
const PROMPTLY: Duration = Duration::from_secs(10);

#[derive(Debug)]
enum Ev {
    Up(Link),
    Got(LinkId, Payload),
    Down(Link, PeerLost),
    HandshakeFailed(String),
}

struct Recorder {
    tx: mpsc::UnboundedSender<Ev>,
    snapshot: Vec<Announcement>,
    /// Answer every request with its own content.
    echo_requests: bool,
}

impl LinkEvents for Recorder {
    fn announcements(&self) -> Vec<Announcement> {
        self.snapshot.clone()
    }

    fn link_up(&self, link: &Link) {
        let _ = self.tx.send(Ev::Up(link.clone()));
    }

    async fn received(&self, link: &Link, payload: Payload) {
        if let Payload::Message(m) = &payload {
            if self.echo_requests && m.response_required {
                let reply = WireReply { to: m.id, result: ReplyResult::Ok(m.content.clone()) };
                // `try_send`, not `send`: awaiting room on the link we are reading
                // from could deadlock two peers that flood each other.
                link.try_send(Payload::Reply(reply)).expect("reply queued");
            }
        }
        let _ = self.tx.send(Ev::Got(link.id(), payload));
    }

    fn link_down(&self, link: &Link, lost: &PeerLost) {
        let _ = self.tx.send(Ev::Down(link.clone(), lost.clone()));
    }

    fn handshake_failed(&self, _remote: &str, error: &net::HandshakeError) {
        let _ = self.tx.send(Ev::HandshakeFailed(format!("{error:?}")));
    }
}

struct Events(mpsc::UnboundedReceiver<Ev>);

impl Events {
    async fn next(&mut self) -> Ev {
        tokio::time::timeout(PROMPTLY, self.0.recv())
            .await
            .expect("an event within the time limit")
            .expect("recorder alive")
    }

    /// Skips events until `pick` returns something.
    async fn until<T>(&mut self, mut pick: impl FnMut(Ev) -> Option<T>) -> T {
        loop {
            if let Some(t) = pick(self.next().await) {
                return t;
            }
        }
    }

    async fn up(&mut self) -> Link {
        self.until(|e| match e {
            Ev::Up(l) => Some(l),
            _ => None,
        })
        .await
    }

    async fn down(&mut self) -> (Link, PeerLost) {
        self.until(|e| match e {
            Ev::Down(l, p) => Some((l, p)),
            _ => None,
        })
        .await
    }

    async fn handshake_failed(&mut self) -> String {
        self.until(|e| match e {
            Ev::HandshakeFailed(s) => Some(s),
            _ => None,
        })
        .await
    }

    async fn message(&mut self) -> WireMessage {
        self.until(|e| match e {
            Ev::Got(_, Payload::Message(m)) => Some(m),
            _ => None,
        })
        .await
    }
}

fn recorder(snapshot: Vec<Announcement>, echo_requests: bool) -> (Arc<Recorder>, Events) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Arc::new(Recorder { tx, snapshot, echo_requests }), Events(rx))
}

fn unix_addr(tag: &str) -> Address {
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let path: PathBuf =
        std::env::temp_dir().join(format!("dio-net-{tag}-{}-{n}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    Address::Unix(path)
}

fn tcp_any() -> Address {
    Address::Tcp { host: "127.0.0.1".into(), port: 0 }
}

fn message(seq: u64, request: bool) -> WireMessage {
    WireMessage {
        source: Some(WireId::Str("sender".into())),
        dest: Some(WireId::Int(7)),
        response_required: request,
        ..WireMessage::new(seq, "tick", Some(WireContent::encode("u64", &seq).unwrap()))
    }
}

fn raw(io: UnixStream) -> Framed<UnixStream, LengthDelimitedCodec> {
    Framed::new(io, net::codec(net::DEFAULT_MAX_FRAME_LEN))
}

async fn raw_read_handshake(framed: &mut Framed<UnixStream, LengthDelimitedCodec>) -> Handshake {
    let bytes = tokio::time::timeout(PROMPTLY, framed.next())
        .await
        .expect("a handshake frame")
        .expect("connection open")
        .expect("readable");
    Handshake::decode(&bytes).expect("a valid handshake frame")
}

async fn raw_send_handshake(framed: &mut Framed<UnixStream, LengthDelimitedCodec>, h: Handshake) {
    framed.send(h.encode().unwrap()).await.unwrap();
}

fn hello(version: u32) -> Handshake {
    let nonce = net::Nonce::fresh().expect("a nonce");
    Handshake::Hello(Hello { version, peer_name: "raw".into(), nonce })
}

/// A raw listener at `addr` that accepts one connection and answers the
/// handshake with `Welcome` (version `PROTOCOL_VERSION`).
async fn raw_welcoming_listener(
    addr: &Address,
) -> tokio::task::JoinHandle<Framed<UnixStream, LengthDelimitedCodec>> {
    let Address::Unix(path) = addr else { unreachable!("raw peers are Unix only") };
    let listener = UnixListener::bind(path).unwrap();
    let path = path.clone();
    tokio::spawn(async move {
        let (io, _) = listener.accept().await.unwrap();
        let _ = std::fs::remove_file(&path);
        let mut framed = raw(io);
        assert!(matches!(raw_read_handshake(&mut framed).await, Handshake::Hello(_)));
        let welcome =
            net::Welcome { version: PROTOCOL_VERSION, peer_name: "raw listener".into(), mac: None };
        raw_send_handshake(&mut framed, Handshake::Welcome(welcome)).await;
        framed
    })
}

// ---------------------------------------------------------------- handshake

#[tokio::test]
async fn handshake_exchanges_names_and_announcement_snapshots() {
    let addr = unix_addr("hello");
    let served = vec![Announcement::Serve(WireId::Int(1)), Announcement::Subscribe("news".into())];
    let (server_events, mut server) = recorder(served.clone(), false);
    let listener = net::listen(&addr, &NetConfig::new("server"), server_events).await.unwrap();

    let (client_events, mut client) =
        recorder(vec![Announcement::Serve(WireId::Str("c".into()))], false);
    let link = net::connect(&addr, &NetConfig::new("client"), client_events).await.unwrap();
    assert_eq!(link.peer_name(), "server");
    assert_eq!(link.state(), LinkState::Up);
    assert_eq!(client.up().await.id(), link.id());

    let accepted = server.up().await;
    assert_eq!(accepted.peer_name(), "client");
    // Each side's snapshot is the first thing the other receives.
    match server.next().await {
        Ev::Got(id, Payload::Announce(a)) => {
            assert_eq!(id, accepted.id());
            assert_eq!(a, vec![Announcement::Serve(WireId::Str("c".into()))]);
        }
        other => panic!("expected the client's announcements, got {other:?}"),
    }
    match client.next().await {
        Ev::Got(_, Payload::Announce(a)) => assert_eq!(a, served),
        other => panic!("expected the server's announcements, got {other:?}"),
    }
    listener.close().await;
}

#[tokio::test]
async fn version_mismatch_is_reported_by_the_listener_and_told_to_the_dialler() {
    let addr = unix_addr("version-listener");
    let (events, mut server) = recorder(vec![], false);
    let _listener = net::listen(&addr, &NetConfig::new("server"), events).await.unwrap();

    let Address::Unix(path) = &addr else { unreachable!() };
    let mut peer = raw(UnixStream::connect(path).await.unwrap());
    raw_send_handshake(&mut peer, hello(PROTOCOL_VERSION + 98)).await;
    match raw_read_handshake(&mut peer).await {
        Handshake::Refused(Refused {
            reason: RefusalReason::VersionMismatch { listener_version },
            text,
        }) => {
            assert_eq!(listener_version, PROTOCOL_VERSION);
            assert!(text.contains("version"), "{text}");
        }
        other => panic!("expected a version refusal, got {other:?}"),
    }
    // ... and then the listener hangs up.
    assert!(tokio::time::timeout(PROMPTLY, peer.next()).await.unwrap().is_none());
    let reported = server.handshake_failed().await;
    assert!(
        reported.contains(&format!(
            "VersionMismatch {{ ours: {PROTOCOL_VERSION}, theirs: {} }}",
            PROTOCOL_VERSION + 98
        )),
        "{reported}"
    );
}

#[tokio::test]
async fn version_mismatch_is_a_clear_error_for_the_dialler() {
    let addr = unix_addr("version-dialler");
    let Address::Unix(path) = &addr else { unreachable!() };
    let listener = UnixListener::bind(path).unwrap();
    // A listener of a later version refuses us; another one (buggy) welcomes
    // us with its different version. Both must end in VersionMismatch.
    let later = PROTOCOL_VERSION + 1;
    let fake = tokio::spawn(async move {
        for welcome in [false, true] {
            let (io, _) = listener.accept().await.unwrap();
            let mut framed = raw(io);
            let _ = raw_read_handshake(&mut framed).await;
            let answer = if welcome {
                Handshake::Welcome(net::Welcome {
                    version: later,
                    peer_name: "next".into(),
                    mac: None,
                })
            } else {
                Handshake::Refused(Refused {
                    reason: RefusalReason::VersionMismatch { listener_version: later },
                    text: "upgrade".into(),
                })
            };
            raw_send_handshake(&mut framed, answer).await;
        }
    });
    for _ in 0..2 {
        let (events, _rx) = recorder(vec![], false);
        let err = net::connect(&addr, &NetConfig::new("old"), events).await.unwrap_err();
        match &err {
            NetError::Handshake {
                source: net::HandshakeError::VersionMismatch { ours, theirs },
                ..
            } => assert_eq!((*ours, *theirs), (PROTOCOL_VERSION, later)),
            other => panic!("expected a version mismatch, got {other:?}"),
        }
        assert!(err.to_string().contains("protocol version mismatch"), "{err}");
    }
    fake.await.unwrap();
    let _ = std::fs::remove_file(path);
}

#[tokio::test]
async fn tcp_listener_refuses_a_wrong_secret() {
    let (events, mut server) = recorder(vec![], false);
    let config = NetConfig::new("server").secret("correct horse battery staple");
    let listener = net::listen(&tcp_any(), &config, events).await.unwrap();
    let (events, _rx) = recorder(vec![], false);
    let dial = NetConfig::new("intruder").secret("correct horse battery stapler");
    let err = net::connect(listener.local_addr(), &dial, events).await.unwrap_err();
    assert!(
        matches!(
            err,
            NetError::Handshake {
                source: net::HandshakeError::Refused { reason: RefusalReason::BadSecret, .. },
                ..
            }
        ),
        "{err:?}"
    );
    assert!(server.handshake_failed().await.contains("BadSecret"));
    assert!(listener.links().is_empty());
}

#[tokio::test]
async fn tcp_listener_refuses_a_peer_without_secret() {
    let (events, mut server) = recorder(vec![], false);
    let listener =
        net::listen(&tcp_any(), &NetConfig::new("server").secret("s3cret"), events).await.unwrap();
    let (events, _rx) = recorder(vec![], false);
    let err =
        net::connect(listener.local_addr(), &NetConfig::new("anon"), events).await.unwrap_err();
    assert!(
        matches!(
            err,
            NetError::Handshake {
                source: net::HandshakeError::Refused { reason: RefusalReason::MissingSecret, .. },
                ..
            }
        ),
        "{err:?}"
    );
    assert!(server.handshake_failed().await.contains("MissingSecret"));
}

#[tokio::test]
async fn tcp_listener_with_the_right_secret_accepts() {
    let (events, mut server) = recorder(vec![], false);
    let config = NetConfig::new("server").secret("s3cret");
    let listener = net::listen(&tcp_any(), &config, events).await.unwrap();
    let (events, _rx) = recorder(vec![], false);
    let link =
        net::connect(listener.local_addr(), &NetConfig::new("friend").secret("s3cret"), events)
            .await
            .unwrap();
    assert_eq!(link.peer_name(), "server");
    assert_eq!(server.up().await.peer_name(), "friend");
}

#[tokio::test]
async fn tcp_listener_without_secret_needs_the_explicit_option() {
    let (events, _rx) = recorder(vec![], false);
    let err = net::listen(&tcp_any(), &NetConfig::new("server"), events.clone()).await.unwrap_err();
    assert!(matches!(err, NetError::ListenerNeedsSecret { .. }), "{err:?}");

    let open = NetConfig::new("server").allow_unauthenticated(true);
    let listener = net::listen(&tcp_any(), &open, events).await.unwrap();
    let (events, _rx2) = recorder(vec![], false);
    let link = net::connect(listener.local_addr(), &NetConfig::new("anon"), events).await.unwrap();
    assert_eq!(link.state(), LinkState::Up);
}

#[tokio::test]
async fn unix_listener_with_a_secret_checks_it_too() {
    let addr = unix_addr("unix-secret");
    let (events, mut server) = recorder(vec![], false);
    let _listener =
        net::listen(&addr, &NetConfig::new("server").secret("s3cret"), events).await.unwrap();
    let (events, _rx) = recorder(vec![], false);
    let err = net::connect(&addr, &NetConfig::new("anon"), events).await.unwrap_err();
    assert!(matches!(err, NetError::Handshake { .. }), "{err:?}");
    assert!(server.handshake_failed().await.contains("MissingSecret"));
    let (events, _rx) = recorder(vec![], false);
    net::connect(&addr, &NetConfig::new("friend").secret("s3cret"), events).await.unwrap();
}

#[tokio::test]
async fn a_peer_that_never_says_hello_is_dropped_after_the_handshake_timeout() {
    let addr = unix_addr("slow-hello");
    let (events, mut server) = recorder(vec![], false);
    let config = NetConfig::new("server").handshake_timeout(Duration::from_millis(100));
    let _listener = net::listen(&addr, &config, events).await.unwrap();
    let Address::Unix(path) = &addr else { unreachable!() };
    let mut silent = raw(UnixStream::connect(path).await.unwrap());
    assert!(server.handshake_failed().await.contains("Timeout"));
    // The listener hung up without a word.
    assert!(tokio::time::timeout(PROMPTLY, silent.next()).await.unwrap().is_none());
}

// ---------------------------------------------------------------- bad input

#[tokio::test]
async fn oversized_frame_closes_only_that_connection() {
    let addr = unix_addr("oversized");
    let (events, mut server) = recorder(vec![], false);
    let strict = NetConfig::new("server").max_frame_len(1024);
    let _listener = net::listen(&addr, &strict, events).await.unwrap();

    let (events, _a_rx) = recorder(vec![], false);
    let a = net::connect(&addr, &NetConfig::new("big").keepalive(None), events).await.unwrap();
    let a_accepted = server.up().await;
    let (events, _b_rx) = recorder(vec![], false);
    let b = net::connect(&addr, &NetConfig::new("small"), events).await.unwrap();
    let b_accepted = server.up().await;

    // `a` allows large frames on its side, so the frame leaves; the server refuses it.
    let mut big = message(1, false);
    big.content = Some(WireContent::encode("blob", &vec![7u8; 4096]).unwrap());
    a.send(Payload::Message(big)).await.unwrap();
    let (down, lost) = server.down().await;
    assert_eq!(down.id(), a_accepted.id());
    assert_eq!(lost.reason, DownReason::FrameTooLarge { max: 1024 });

    b.send(Payload::Message(message(2, false))).await.unwrap();
    let got = server
        .until(|e| match e {
            Ev::Got(id, Payload::Message(m)) => Some((id, m.seq)),
            _ => None,
        })
        .await;
    assert_eq!(got, (b_accepted.id(), 2));
    assert_eq!(b.state(), LinkState::Up);
}

/// Captures `tracing` output of the current thread (tests run on a
/// current-thread runtime, so spawned tasks log here too).
#[derive(Clone, Default)]
struct Capture(Arc<parking_lot::Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock()).into_owned()
    }
}

fn capture_logs() -> (Capture, tracing::subscriber::DefaultGuard) {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .with_writer(move || writer.clone())
        .finish();
    (capture, tracing::subscriber::set_default(subscriber))
}

#[tokio::test]
async fn garbage_after_the_handshake_closes_the_connection_with_a_logged_reason() {
    let (logs, _guard) = capture_logs();
    let addr = unix_addr("garbage");
    let (events, mut server) = recorder(vec![], false);
    let _listener = net::listen(&addr, &NetConfig::new("server"), events).await.unwrap();
    let Address::Unix(path) = &addr else { unreachable!() };

    let mut peer = raw(UnixStream::connect(path).await.unwrap());
    raw_send_handshake(&mut peer, hello(PROTOCOL_VERSION)).await;
    assert!(matches!(raw_read_handshake(&mut peer).await, Handshake::Welcome(_)));
    peer.send(Bytes::from_static(&[0xc1, 0xff, 0x00, 0x13, 0x37])).await.unwrap();

    let (_, lost) = server.down().await;
    assert!(matches!(lost.reason, DownReason::Malformed(_)), "{:?}", lost.reason);
    // The listener hung up on the raw peer...
    let rest: Vec<_> = tokio::time::timeout(PROMPTLY, peer.collect::<Vec<_>>()).await.unwrap();
    assert!(rest.iter().all(|r| r.is_ok()), "clean close expected");
    // ... and said why in the log.
    let text = logs.text();
    assert!(text.contains("closed the connection after bad input"), "{text}");
    assert!(text.contains("malformed frame"), "{text}");

    // The listener still accepts new peers.
    let (events, _rx) = recorder(vec![], false);
    net::connect(&addr, &NetConfig::new("next"), events).await.unwrap();
}

#[tokio::test]
async fn garbage_instead_of_a_hello_is_refused_and_logged() {
    let (logs, _guard) = capture_logs();
    let addr = unix_addr("garbage-hello");
    let (events, mut server) = recorder(vec![], false);
    let _listener = net::listen(&addr, &NetConfig::new("server"), events).await.unwrap();
    let Address::Unix(path) = &addr else { unreachable!() };

    let mut io = UnixStream::connect(path).await.unwrap();
    // A length prefix of 5, then bytes that are not MessagePack of a Hello.
    io.write_all(&[0, 0, 0, 5, b'h', b'e', b'l', b'l', b'o']).await.unwrap();
    let mut peer = raw(io);
    match raw_read_handshake(&mut peer).await {
        Handshake::Refused(r) => assert_eq!(r.reason, RefusalReason::Protocol),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(server.handshake_failed().await.contains("Malformed"));
    assert!(logs.text().contains("handshake failed"), "{}", logs.text());
}

// ---------------------------------------------------------------- order and throughput

async fn ten_thousand_in_order(addr: Address, config: NetConfig) {
    let (events, mut server) = recorder(vec![], false);
    let listener = net::listen(&addr, &config, events).await.unwrap();
    let (events, _rx) = recorder(vec![], false);
    let link = net::connect(listener.local_addr(), &config, events).await.unwrap();
    let sender = tokio::spawn(async move {
        for seq in 0..10_000u64 {
            link.send(Payload::Message(message(seq, false))).await.unwrap();
        }
        link
    });
    for expected in 0..10_000u64 {
        let m = server.message().await;
        assert_eq!(m.seq, expected, "messages must arrive in the order sent");
        assert_eq!(m.content.unwrap().decode::<u64>().unwrap(), expected);
    }
    sender.await.unwrap();
}

// Multi-threaded, as a dispatcher usually runs: reader, writer and sender
// on different threads must still keep the order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_messages_arrive_in_order_over_a_unix_socket() {
    ten_thousand_in_order(unix_addr("order"), NetConfig::new("peer").queue_capacity(64)).await;
}

#[tokio::test]
async fn ten_thousand_messages_arrive_in_order_over_tcp_loopback() {
    let config = NetConfig::new("peer").secret("loopback").queue_capacity(64);
    ten_thousand_in_order(tcp_any(), config).await;
}

#[tokio::test]
async fn requests_get_replies_in_order_and_leave_nothing_pending() {
    let addr = unix_addr("requests");
    let (events, _server) = recorder(vec![], true);
    let listener = net::listen(&addr, &NetConfig::new("server"), events).await.unwrap();
    let (events, mut client) = recorder(vec![], false);
    let link = net::connect(&addr, &NetConfig::new("client"), events).await.unwrap();
    for id in 0..1000u64 {
        link.send(Payload::Message(message(id, true))).await.unwrap();
    }
    for id in 0..1000u64 {
        let reply = client
            .until(|e| match e {
                Ev::Got(_, Payload::Reply(r)) => Some(r),
                _ => None,
            })
            .await;
        assert_eq!(reply.to, id);
        match reply.result {
            ReplyResult::Ok(Some(c)) => assert_eq!(c.decode::<u64>().unwrap(), id),
            other => panic!("unexpected reply {other:?}"),
        }
    }
    // Every request was answered, so losing the peer now fails none.
    listener.close().await;
    let (_, lost) = client.down().await;
    assert!(lost.pending_requests.is_empty(), "{:?}", lost.pending_requests);
    assert_eq!(lost.reason, DownReason::Goodbye("listener closed".into()));
}

// ---------------------------------------------------------------- faults

#[tokio::test]
async fn peer_killed_mid_stream_reports_peer_lost_with_the_pending_requests() {
    let addr = unix_addr("killed");
    let fake = raw_welcoming_listener(&addr).await;
    let (events, mut client) = recorder(vec![], false);
    let link = net::connect(&addr, &NetConfig::new("client"), events).await.unwrap();
    let mut peer = fake.await.unwrap();

    for id in [10u64, 11, 12] {
        link.send(Payload::Message(message(id, true))).await.unwrap();
    }
    link.send(Payload::Message(message(13, false))).await.unwrap();
    // The peer reads all four, answers none, and its process dies: the
    // kernel closes its socket.
    for _ in 0..4 {
        peer.next().await.unwrap().unwrap();
    }
    drop(peer);

    let (down, lost) = client.down().await;
    assert_eq!(down.id(), link.id());
    assert_eq!(lost.reason, DownReason::PeerClosed);
    assert_eq!(lost.pending_requests, vec![10, 11, 12]);
    assert!(lost.reconnecting);
    assert_eq!(link.state(), LinkState::Down);
    link.close("test over").await;
}

#[tokio::test]
async fn silent_peer_is_lost_after_the_keepalive_timeout() {
    let addr = unix_addr("silent");
    let fake = raw_welcoming_listener(&addr).await;
    let (events, mut client) = recorder(vec![], false);
    let config = NetConfig::new("client").keepalive(Some(Duration::from_millis(50)));
    let link = net::connect(&addr, &config, events).await.unwrap();
    let _peer_never_answers = fake.await.unwrap();
    let (_, lost) = client.down().await;
    assert_eq!(lost.reason, DownReason::KeepaliveTimeout { after: Duration::from_millis(150) });
    link.close("test over").await;
}

#[tokio::test]
async fn dialled_link_reconnects_after_the_listener_restarts() {
    let addr = unix_addr("restart");
    let snapshot = vec![Announcement::Serve(WireId::Int(42))];
    let (events, mut first) = recorder(vec![], false);
    let listener = net::listen(&addr, &NetConfig::new("first"), events).await.unwrap();
    let (events, mut client) = recorder(snapshot.clone(), false);
    let fast = NetConfig::new("client")
        .reconnect_backoff(Duration::from_millis(10), Duration::from_millis(100));
    let link = net::connect(&addr, &fast, events).await.unwrap();
    client.up().await;
    first.up().await;

    listener.close().await;
    let (_, lost) = client.down().await;
    assert!(lost.reconnecting);
    assert_eq!(link.state(), LinkState::Down);

    // Sent while down: queued, delivered after the reconnect.
    link.send(Payload::Message(message(1, false))).await.unwrap();

    let (events, mut second) = recorder(vec![], false);
    let _listener = net::listen(&addr, &NetConfig::new("second"), events).await.unwrap();
    let again = client.up().await;
    assert_eq!(again.id(), link.id(), "the same link comes back");
    assert_eq!(link.peer_name(), "second");
    assert_eq!(link.state(), LinkState::Up);

    // The new peer hears our full state first, then the queued message.
    second.up().await;
    match second.next().await {
        Ev::Got(_, Payload::Announce(a)) => assert_eq!(a, snapshot),
        other => panic!("expected the snapshot first, got {other:?}"),
    }
    assert_eq!(second.message().await.seq, 1);
    link.close("done").await;
}

#[tokio::test]
async fn while_down_sends_queue_up_to_the_bound_then_fail() {
    let addr = unix_addr("down-full");
    let (events, _server) = recorder(vec![], false);
    let listener = net::listen(&addr, &NetConfig::new("server"), events).await.unwrap();
    let (events, mut client) = recorder(vec![], false);
    // A long backoff keeps the link down for the whole test.
    let config = NetConfig::new("client")
        .queue_capacity(4)
        .reconnect_backoff(Duration::from_secs(3600), Duration::from_secs(3600));
    let link = net::connect(&addr, &config, events).await.unwrap();
    listener.close().await;
    client.down().await;

    for id in 0..4u64 {
        link.try_send(Payload::Message(message(id, id % 2 == 0))).unwrap();
    }
    let err = link.try_send(Payload::Message(message(4, false))).unwrap_err();
    assert!(matches!(err, SendError::DownAndFull { capacity: 4 }), "{err:?}");
    // `send` must not wait for a link that is not coming back soon.
    let err = tokio::time::timeout(PROMPTLY, link.send(Payload::Message(message(5, false))))
        .await
        .expect("send fails instead of waiting")
        .unwrap_err();
    assert!(matches!(err, SendError::DownAndFull { capacity: 4 }), "{err:?}");

    // Closing for good fails the requests that were still queued.
    link.close("giving up").await;
    let (_, lost) = client.down().await;
    assert_eq!(lost.reason, DownReason::LocalClose);
    assert_eq!(lost.pending_requests, vec![0, 2]);
    assert!(!lost.reconnecting);
    let err = link.try_send(Payload::Message(message(6, false))).unwrap_err();
    assert!(matches!(err, SendError::Closed), "{err:?}");
}

/// A link with a queue of `capacity` frames to a peer that completes the
/// handshake and then never reads: the socket buffer fills, then the
/// link's queue. The peer's end is returned to keep it open.
async fn link_to_a_peer_that_never_reads(
    tag: &str,
    capacity: usize,
) -> (Link, Framed<UnixStream, LengthDelimitedCodec>) {
    let addr = unix_addr(tag);
    let fake = raw_welcoming_listener(&addr).await;
    let (events, _rx) = recorder(vec![], false);
    let config = NetConfig::new("client").queue_capacity(capacity).keepalive(None);
    let link = net::connect(&addr, &config, events).await.unwrap();
    (link, fake.await.unwrap())
}

#[tokio::test]
async fn a_full_queue_makes_send_wait_and_try_send_fail() {
    let (link, _peer) = link_to_a_peer_that_never_reads("backpressure", 2).await;

    let mut blob = message(0, false);
    blob.content = Some(WireContent::encode("blob", &vec![1u8; 64 * 1024]).unwrap());
    let mut full = None;
    for _ in 0..10_000 {
        match link.try_send(Payload::Message(blob.clone())) {
            Ok(()) => tokio::task::yield_now().await,
            Err(e) => {
                full = Some(e);
                break;
            }
        }
    }
    let err = full.expect("the queue fills against a peer that does not read");
    assert!(matches!(err, SendError::Full { capacity: 2 }), "{err:?}");
    // `send` waits for room instead of failing: it is not ready.
    assert!(link.send(Payload::Message(blob.clone())).now_or_never().is_none());
    assert_eq!(link.state(), LinkState::Up);
}

#[tokio::test]
async fn one_destination_filling_a_links_queue_leaves_room_for_the_others() {
    let (link, _peer) = link_to_a_peer_that_never_reads("fair", 8).await;
    let to = |dest: &str, seq: u64| {
        let mut m = message(seq, false);
        m.dest = Some(WireId::Str(dest.into()));
        m.content = Some(WireContent::encode("blob", &vec![1u8; 64 * 1024]).unwrap());
        Payload::Message(m)
    };
    let mut flooded = false;
    for seq in 0..10_000 {
        match link.try_send(to("slow", seq)) {
            Ok(()) => tokio::task::yield_now().await,
            Err(SendError::Full { capacity: 8 }) => {
                flooded = true;
                break;
            }
            Err(e) => panic!("{e:?}"),
        }
    }
    assert!(flooded, "the queue fills against a peer that does not read");
    assert!(matches!(link.try_send(to("slow", 0)), Err(SendError::Full { .. })));
    // Another destination still gets in.
    link.try_send(to("fast", 0)).expect("room for a destination that has nothing queued");
    // The room kept for the others is bounded too: many destinations, one
    // frame each, do not grow the queue without end.
    let admitted = (0..100).filter(|n| link.try_send(to(&format!("other-{n}"), 0)).is_ok()).count();
    assert!(admitted < 8, "{admitted} more frames past the bound");
    assert_eq!(link.state(), LinkState::Up);
}

#[tokio::test]
async fn a_send_waiting_for_room_goes_out_once_the_peer_reads_and_nothing_is_lost() {
    let addr = unix_addr("room");
    let fake = raw_welcoming_listener(&addr).await;
    let (events, _rx) = recorder(vec![], false);
    let config = NetConfig::new("client").queue_capacity(2).keepalive(None);
    let link = net::connect(&addr, &config, events).await.unwrap();
    let mut peer = fake.await.unwrap();

    let mut blob = message(0, false);
    blob.content = Some(WireContent::encode("blob", &vec![1u8; 64 * 1024]).unwrap());
    let mut accepted = 0;
    for _ in 0..10_000 {
        match link.try_send(Payload::Message(blob.clone())) {
            Ok(()) => {
                accepted += 1;
                tokio::task::yield_now().await;
            }
            Err(SendError::Full { .. }) => break,
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    // The queue is full: this send waits for the writer to take it.
    let waiting = {
        let link = link.clone();
        let blob = blob.clone();
        tokio::spawn(async move { link.send(Payload::Message(blob)).await })
    };
    // The peer reads everything: the waiting send goes out, last.
    let frame_len = {
        let first = tokio::time::timeout(PROMPTLY, peer.next()).await.unwrap().unwrap().unwrap();
        first.len()
    };
    let mut read = 1;
    while read < accepted + 1 {
        let frame = tokio::time::timeout(PROMPTLY, peer.next())
            .await
            .expect("every queued frame arrives")
            .unwrap()
            .unwrap();
        assert_eq!(frame.len(), frame_len, "frames arrive whole");
        read += 1;
    }
    tokio::time::timeout(PROMPTLY, waiting).await.unwrap().unwrap().unwrap();
    assert_eq!(link.state(), LinkState::Up);
}

#[tokio::test]
async fn frames_over_the_local_limit_are_refused_to_the_sender() {
    let addr = unix_addr("local-limit");
    let (events, _server) = recorder(vec![], false);
    let _listener = net::listen(&addr, &NetConfig::new("server"), events).await.unwrap();
    let (events, _rx) = recorder(vec![], false);
    let link =
        net::connect(&addr, &NetConfig::new("client").max_frame_len(512), events).await.unwrap();
    let mut big = message(0, false);
    big.content = Some(WireContent::encode("blob", &vec![0u8; 1000]).unwrap());
    let err = link.send(Payload::Message(big)).await.unwrap_err();
    assert!(matches!(err, SendError::TooLarge { max: 512, .. }), "{err:?}");
    assert_eq!(link.state(), LinkState::Up, "a refused send does not hurt the link");
}

/// Regression: the handshake's own frames (a `Hello` with its 32-byte
/// nonce is about 70 bytes) were held to `max_frame_len`, so the smallest
/// limit the setter allows (64) made links that could never connect, with
/// an I/O error from the codec.
#[tokio::test]
async fn the_smallest_frame_limit_still_lets_the_handshake_through_and_holds_messages_to_it() {
    let addr = unix_addr("tiny-limit");
    let long_name = "a-peer-name-much-longer-than-the-frame-limit-of-this-link-".repeat(2);
    let (events, mut server) = recorder(vec![Announcement::Serve(WireId::Int(1))], false);
    let tiny = |name: &str| NetConfig::new(name).secret("a secret").max_frame_len(64);
    let _listener = net::listen(&addr, &tiny(&long_name), events).await.unwrap();
    let (events, _rx) = recorder(vec![], false);
    let link = net::connect(&addr, &tiny("client"), events).await.unwrap();
    assert_eq!(link.peer_name(), long_name);
    server.up().await;
    let small = WireMessage::new(1, "t", None);
    link.send(Payload::Message(small)).await.unwrap();
    assert_eq!(server.message().await.id, 1, "a frame within the limit arrives");
    let mut big = message(2, false);
    big.content = Some(WireContent::encode("blob", &vec![0u8; 100]).unwrap());
    let err = link.send(Payload::Message(big)).await.unwrap_err();
    assert!(matches!(err, SendError::TooLarge { max: 64, .. }), "{err:?}");
}

#[tokio::test]
async fn closing_a_link_says_goodbye_to_the_peer() {
    let addr = unix_addr("goodbye");
    let (events, mut server) = recorder(vec![], false);
    let _listener = net::listen(&addr, &NetConfig::new("server"), events).await.unwrap();
    let (events, mut client) = recorder(vec![], false);
    let link = net::connect(&addr, &NetConfig::new("client"), events).await.unwrap();
    link.send(Payload::Message(message(1, false))).await.unwrap();
    link.close("shutting down").await;
    assert_eq!(link.state(), LinkState::Closed);
    // Queued frames are written before the goodbye.
    assert_eq!(server.message().await.seq, 1);
    let (_, lost) = server.down().await;
    assert_eq!(lost.reason, DownReason::Goodbye("shutting down".into()));
    let (_, lost) = client.down().await;
    assert_eq!(lost.reason, DownReason::LocalClose);
    assert!(!lost.reconnecting);
}

#[tokio::test]
async fn unix_listener_socket_is_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let addr = unix_addr("perm");
    let (events, _rx) = recorder(vec![], false);
    let listener = net::listen(&addr, &NetConfig::new("server"), events).await.unwrap();
    let Address::Unix(path) = &addr else { unreachable!() };
    let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    listener.close().await;
    assert!(!path.exists(), "closing the listener removes its socket file");
}

#[test]
fn the_public_codec_is_a_four_byte_big_endian_length_prefix() {
    // Guards the assumption the raw peers above rely on.
    use tokio_util::codec::Encoder;
    let mut out = BytesMut::new();
    net::codec(1024).encode(Bytes::from_static(b"abc"), &mut out).unwrap();
    assert_eq!(&out[..], &[0, 0, 0, 3, b'a', b'b', b'c']);
}

mod hostile_peers {
    use super::*;
    use proptest::prelude::*;

    /// One hostile session: a raw peer passes the handshake, writes `junk`
    /// (framed or not) and hangs up; then a well-behaved peer connects.
    async fn session(junk: Vec<u8>, framed: bool) {
        let addr = unix_addr("hostile");
        let (events, mut server) = recorder(vec![], false);
        let config = NetConfig::new("server").max_frame_len(4096);
        let _listener = net::listen(&addr, &config, events).await.unwrap();
        let Address::Unix(path) = &addr else { unreachable!() };

        let mut peer = raw(UnixStream::connect(path).await.unwrap());
        raw_send_handshake(&mut peer, hello(PROTOCOL_VERSION)).await;
        assert!(matches!(raw_read_handshake(&mut peer).await, Handshake::Welcome(_)));
        let hostile = server.up().await;
        // The listener may hang up half-way through; write errors are expected.
        let _ = if framed {
            peer.send(Bytes::from(junk)).await
        } else {
            peer.get_mut().write_all(&junk).await
        };
        drop(peer);

        // The link of the hostile peer ends with a reason (its task did not
        // panic: a panicking task would never report `link_down`) ...
        let (down, _) = server.down().await;
        assert_eq!(down.id(), hostile.id());
        // ... and the listener carries on.
        let (events, _rx) = recorder(vec![], false);
        let good = net::connect(&addr, &NetConfig::new("good"), events).await.unwrap();
        good.send(Payload::Message(message(5, false))).await.unwrap();
        assert_eq!(server.message().await.seq, 5);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        #[test]
        fn junk_after_the_handshake_closes_only_that_link(
            junk in proptest::collection::vec(any::<u8>(), 0..6000),
            framed in any::<bool>(),
        ) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(session(junk, framed));
        }
    }
}

/// The dispatcher over the network (`Dispatcher::listen` / `connect`).
#[path = "net/remote.rs"]
mod remote;

/// Issue 17: challenge-response, TLS, what crosses the wire.
#[path = "net/security.rs"]
mod security;

#[path = "net/baseline.rs"]
mod baseline;
