//! Dispatchers connected over real sockets: `NetExt::listen` and
//! `NetExt::connect`, with sends, requests, groups and faults crossing
//! the connection exactly as the local runtime promises.
//!
//! Most tests run both dispatchers in this process (two independent
//! dispatchers, one real Unix socket between them). The cross-process
//! scenario and the kill test run the other side in a real child process:
//! this test binary, re-executed to run [`child_process`] only.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use dispatchio_core::routing::{Action, Cond, Field, RoutingTable};
use dispatchio_core::{
    ContentRegistry, Dispatcher, DynContent, Error, ErrorKind, HandlerError, Id, Message, Reply,
    RoutedListener, SyncError, TransportErrorKind,
};
use dispatchio_macros::ContentType;
use dispatchio_net::{NetExt, RemoteAcceptor, RemoteConfig};
use serde::{Deserialize, Serialize};

/// Generous bound for "this happens promptly / does not hang".
const PROMPTLY: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ContentType)]
#[content(crate = "dispatchio_core")]
struct Num {
    n: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ContentType)]
#[content(crate = "dispatchio_core")]
struct Ask {
    n: u64,
}

/// The answer to an [`Ask`]: its number, and how many [`Num`]s the answering
/// listener had seen, all in order, when it answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ContentType)]
#[content(crate = "dispatchio_core")]
struct Ans {
    n: u64,
    seen: u64,
}

fn registry() -> ContentRegistry {
    let mut r = ContentRegistry::new();
    r.register::<Num>().register::<Ask>().register::<Ans>();
    r
}

fn config(name: &str) -> RemoteConfig {
    RemoteConfig::new(name).registry(registry()).announce_interval(Duration::from_millis(20))
}

fn unix_addr(tag: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let path =
        std::env::temp_dir().join(format!("dio-remote-{}-{tag}-{n}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    format!("unix:{}", path.display())
}

/// A listener that checks the order of [`Num`]s (each must be one more than
/// the last) and answers [`Ask`]s with an [`Ans`].
struct Counting {
    seen: Arc<AtomicU64>,
    asked: Arc<AtomicU64>,
    out_of_order: Arc<AtomicU64>,
}

fn counting(d: &Dispatcher, me: &str) -> Counting {
    let c = Counting {
        seen: Arc::new(AtomicU64::new(0)),
        asked: Arc::new(AtomicU64::new(0)),
        out_of_order: Arc::new(AtomicU64::new(0)),
    };
    let table = RoutingTable::builder()
        .rule("num", Cond::type_is("Num"), [Action::call("num")])
        .rule("ask", Cond::type_is("Ask"), [Action::call("ask")])
        .build()
        .unwrap();
    let (seen, bad) = (c.seen.clone(), c.out_of_order.clone());
    let (seen2, asked) = (c.seen.clone(), c.asked.clone());
    let listener = RoutedListener::builder(table)
        .handler("num", move |m: &Message| {
            let n = m.content_as::<Num>().ok_or_else(|| HandlerError::new("not a Num"))?.n;
            if seen.load(Ordering::SeqCst) != n {
                bad.fetch_add(1, Ordering::SeqCst);
            }
            seen.fetch_add(1, Ordering::SeqCst);
            Ok(Reply::Empty)
        })
        .handler("ask", move |m: &Message| {
            let n = m.content_as::<Ask>().ok_or_else(|| HandlerError::new("not an Ask"))?.n;
            asked.fetch_add(1, Ordering::SeqCst);
            Ok(Reply::with(Ans { n, seen: seen2.load(Ordering::SeqCst) }))
        })
        .build()
        .unwrap();
    d.register(me.to_owned(), Arc::new(listener)).unwrap();
    c
}

const ONE_WAY: u64 = 10_000;
const REQUESTS: u64 = 1_000;

/// Numbers sent before each ask: the ask's reply says all of them arrived,
/// which also keeps the burst within the link's bounded queue.
const PER_ASK: u64 = ONE_WAY / REQUESTS;

/// One side of the exchange: sends `ONE_WAY` numbers and `REQUESTS` asks to
/// `peer` (`PER_ASK` numbers, then an ask, and so on), checks that every
/// answer says all numbers sent before it arrived, in order, then waits until
/// the peer's traffic to `mine` has all arrived, in order.
async fn exchange(d: &Dispatcher, mine: &Counting, peer: &str) -> Result<(), String> {
    let peer_id = Id::from(peer);
    if !d.wait_for_destination(&peer_id, PROMPTLY).await {
        return Err(format!("{peer} was never announced"));
    }
    let me = d.new_source();
    for n in 0..REQUESTS {
        for k in n * PER_ASK..(n + 1) * PER_ASK {
            me.send(Message::new(Num { n: k }).to(peer_id.clone()))
                .map_err(|e| format!("send {k}: {e}"))?;
        }
        let reply = me
            .request(Message::new(Ask { n }).to(peer_id.clone()), Some(PROMPTLY))
            .await
            .map_err(|e| format!("request {n}: {e}"))?;
        let ans = reply.content_as::<Ans>().ok_or_else(|| format!("reply {n}: not an Ans"))?;
        let expected = (n + 1) * PER_ASK;
        if ans.n != n || ans.seen != expected {
            return Err(format!("reply {n}: {ans:?}, expected n = {n}, seen = {expected}"));
        }
    }
    let deadline = tokio::time::Instant::now() + PROMPTLY;
    while mine.seen.load(Ordering::SeqCst) < ONE_WAY || mine.asked.load(Ordering::SeqCst) < REQUESTS
    {
        if tokio::time::Instant::now() > deadline {
            return Err(format!(
                "from the peer: {} numbers, {} asks",
                mine.seen.load(Ordering::SeqCst),
                mine.asked.load(Ordering::SeqCst)
            ));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    match mine.out_of_order.load(Ordering::SeqCst) {
        0 => Ok(()),
        bad => Err(format!("{bad} numbers arrived out of order")),
    }
}

// ---- the child process -------------------------------------------------------

const CHILD_ENV: &str = "DISPATCHIO_TEST_CHILD";

/// Spawns this test binary again, running only [`child_process`] in `role`,
/// connecting to `addr`.
fn spawn_child(role: &str, addr: &str, secret: Option<&str>) -> Child {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--ignored", "--exact", "remote::child_process", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, format!("{role} {addr}"))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    if let Some(s) = secret {
        cmd.env("DISPATCHIO_TEST_SECRET", s);
    }
    cmd.spawn().expect("the test binary runs again as a child")
}

/// The child side of the cross-process tests; does nothing unless run by
/// them (they set `DISPATCHIO_TEST_CHILD`).
#[test]
#[ignore = "the child process of the cross-process tests, which run it"]
fn child_process() {
    let Ok(spec) = std::env::var(CHILD_ENV) else { return };
    let (role, addr) = spec.split_once(' ').expect("role and address");
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let d = Dispatcher::new();
        let mut cfg = config("child");
        if let Ok(s) = std::env::var("DISPATCHIO_TEST_SECRET") {
            cfg = cfg.secret(s);
        }
        match role {
            "exchange" => {
                let mine = counting(&d, "child");
                let peer = d.connect_with(addr, &cfg).await.expect("connected to the parent");
                if let Err(e) = exchange(&d, &mine, "parent").await {
                    eprintln!("child: {e}");
                    std::process::exit(1);
                }
                // Writes the last replies, then says goodbye.
                peer.close().await;
            }
            "sleeper" => {
                // Defers every request (never answers), telling the parent
                // each time, so the parent knows they are pending here.
                let table = RoutingTable::builder()
                    .rule("all", Cond::Always, [Action::call("defer")])
                    .build()
                    .unwrap();
                let d2 = d.clone();
                let listener = RoutedListener::builder(table)
                    .handler("defer", move |m: &Message| {
                        let n = m.content_as::<Ask>().map_or(0, |a| a.n);
                        d2.send(Message::new(Num { n }).to("parent"))
                            .map_err(HandlerError::from)?;
                        Ok(Reply::Defer)
                    })
                    .build()
                    .unwrap();
                d.register("sleeper", Arc::new(listener)).unwrap();
                let _peer = d.connect_with(addr, &cfg).await.expect("connected to the parent");
                // Sleeps until killed.
                tokio::time::sleep(Duration::from_secs(120)).await;
            }
            other => panic!("unknown child role {other}"),
        }
    });
}

async fn wait_child(mut child: Child) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + PROMPTLY * 3;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the child process did not finish");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn cross_process_exchange(addr: &str, secret: Option<&str>) {
    let d = Dispatcher::new();
    let mine = counting(&d, "parent");
    let mut cfg = config("parent");
    if let Some(s) = secret {
        cfg = cfg.secret(s);
    }
    let listener = d.listen_with(addr, &cfg).await.unwrap();
    let addr = listener.local_addr().to_string();
    let child = spawn_child("exchange", &addr, secret);
    let result = exchange(&d, &mine, "child").await;
    let status = wait_child(child).await;
    result.unwrap();
    assert!(status.success(), "the child reported a failure: {status}");
    assert_eq!(d.remote_stats().conflicts_reported, 0);
    listener.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_exchange_messages_and_requests_in_order_over_a_unix_socket() {
    cross_process_exchange(&unix_addr("x"), None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_exchange_messages_and_requests_in_order_over_tcp() {
    cross_process_exchange("tcp:127.0.0.1:0", Some("a shared secret for the test")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_child_fails_pending_requests_promptly_and_the_parent_carries_on() {
    let d = Dispatcher::new();
    let notes = counting(&d, "parent");
    let local = counting(&d, "local");
    let listener = d.listen_with(&unix_addr("kill"), &config("parent")).await.unwrap();
    let mut child = spawn_child("sleeper", &listener.local_addr().to_string(), None);
    assert!(d.wait_for_destination(&Id::from("sleeper"), PROMPTLY).await);

    const PENDING: u64 = 20;
    let requests: Vec<_> = (0..PENDING)
        .map(|n| {
            let d = d.clone();
            tokio::spawn(
                async move { d.request(Message::new(Ask { n }).to("sleeper"), None).await },
            )
        })
        .collect();
    // A stream of one-way messages in flight when the child dies.
    let streamer = {
        let d = d.clone();
        tokio::spawn(async move {
            let mut sent = 0u64;
            while d.send(Message::new(Num { n: sent }).to("sleeper")).is_ok() {
                sent += 1;
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
            sent
        })
    };
    // Every request reached the child's handler (it told us so).
    let deadline = tokio::time::Instant::now() + PROMPTLY;
    while notes.seen.load(Ordering::SeqCst) < PENDING {
        assert!(tokio::time::Instant::now() < deadline, "the child never got every request");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().unwrap();
    let killed_at = tokio::time::Instant::now();
    let _ = child.wait();
    for r in requests {
        let answer = tokio::time::timeout(PROMPTLY, r).await.expect("failed promptly").unwrap();
        match answer {
            Err(Error::Transport(e)) => {
                assert_eq!(e.kind(), TransportErrorKind::PeerLost, "{e}");
                assert!(e.message().contains("peer lost"), "{e}");
            }
            other => panic!("expected a peer-lost error, got {other:?}"),
        }
    }
    assert!(killed_at.elapsed() < PROMPTLY);
    // The stream stops with an error once the peer is gone, not silently.
    let sent = tokio::time::timeout(PROMPTLY, streamer).await.expect("the stream stops").unwrap();
    assert!(sent > 0);
    match d.send(Message::new(Num { n: 0 }).to("sleeper")) {
        Err(Error::UnknownDestination(_)) => {}
        other => panic!("expected UnknownDestination, got {other:?}"),
    }
    let stats = d.remote_stats();
    assert!(stats.requests_failed_peer_lost >= PENDING, "{stats:?}");
    assert!(stats.peers_lost >= 1);
    // The parent carries on: local work, and a new peer.
    let reply = d.request(Message::new(Ask { n: 7 }).to("local"), Some(PROMPTLY)).await.unwrap();
    assert_eq!(reply.content_as::<Ans>().unwrap().n, 7);
    assert_eq!(local.asked.load(Ordering::SeqCst), 1);
    let other = Dispatcher::new();
    let _c = counting(&other, "newcomer");
    let _peer =
        other.connect_with(&listener.local_addr().to_string(), &config("newcomer")).await.unwrap();
    assert!(d.wait_for_destination(&Id::from("newcomer"), PROMPTLY).await);
    let reply = d.request(Message::new(Ask { n: 8 }).to("newcomer"), Some(PROMPTLY)).await.unwrap();
    assert_eq!(reply.content_as::<Ans>().unwrap().n, 8);
    listener.close().await;
}

// ---- two dispatchers in this process, one real socket ---------------------------

/// A listener that sleeps `nap` on every message, blocking its thread.
fn napping(nap: Duration) -> Arc<dyn dispatchio_core::Listener> {
    let table =
        RoutingTable::builder().rule("all", Cond::Always, [Action::call("nap")]).build().unwrap();
    let slow = RoutedListener::builder(table)
        .handler("nap", move |_m: &Message| {
            std::thread::sleep(nap);
            Ok(Reply::Empty)
        })
        .build()
        .unwrap();
    Arc::new(slow)
}

/// Waits until `done` says so; fails with `what` after [`PROMPTLY`].
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PROMPTLY;
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A server dispatcher listening, a client dispatcher connected to it.
async fn pair() -> (Dispatcher, Dispatcher, RemoteAcceptor, dispatchio_net::Peer) {
    let server = Dispatcher::new();
    let client = Dispatcher::new();
    let listener = server.listen_with(&unix_addr("pair"), &config("server")).await.unwrap();
    let peer =
        client.connect_with(&listener.local_addr().to_string(), &config("client")).await.unwrap();
    (server, client, listener, peer)
}

#[tokio::test]
async fn a_request_to_a_peer_listener_gets_its_typed_reply() {
    let (server, client, _l, peer) = pair().await;
    let _c = counting(&server, "svc");
    assert!(client.wait_for_destination(&Id::from("svc"), PROMPTLY).await);
    // Introspection names the link that serves it.
    assert_eq!(client.snapshot().remote, vec![(Id::from("svc"), peer.name().to_owned())]);
    assert!(peer.name().starts_with("server/"));
    let reply = client.request(Message::new(Ask { n: 3 }).to("svc"), Some(PROMPTLY)).await.unwrap();
    assert_eq!(reply.content_as::<Ans>(), Some(&Ans { n: 3, seen: 0 }));
    assert!(reply.envelope().is_response);
}

#[tokio::test]
async fn content_of_an_unregistered_type_arrives_dynamic_and_routes_by_its_fields() {
    let server = Dispatcher::new();
    let client = Dispatcher::new();
    // The server knows no content types at all.
    let plain = RemoteConfig::new("server").announce_interval(Duration::from_millis(20));
    let listener = server.listen_with(&unix_addr("dyn"), &plain).await.unwrap();
    let _p =
        client.connect_with(&listener.local_addr().to_string(), &config("client")).await.unwrap();
    let table = RoutingTable::builder()
        .rule("big", Field::content("n").gt(100), [Action::call("big")])
        .otherwise([Action::call("small")])
        .build()
        .unwrap();
    let l = RoutedListener::builder(table)
        .handler("big", |m: &Message| {
            // Readable by field, though the server has no Rust type for it.
            assert!(m.content().is::<DynContent>());
            Ok(Reply::with(Ans { n: 1, seen: 0 }))
        })
        .handler("small", |_m: &Message| Ok(Reply::with(Ans { n: 0, seen: 0 })))
        .build()
        .unwrap();
    server.register("sizer", Arc::new(l)).unwrap();
    assert!(client.wait_for_destination(&Id::from("sizer"), PROMPTLY).await);
    let big =
        client.request(Message::new(Num { n: 500 }).to("sizer"), Some(PROMPTLY)).await.unwrap();
    let small =
        client.request(Message::new(Num { n: 5 }).to("sizer"), Some(PROMPTLY)).await.unwrap();
    // The client registered `Ans`: its replies arrive typed.
    assert_eq!(big.content_as::<Ans>().map(|a| a.n), Some(1));
    assert_eq!(small.content_as::<Ans>().map(|a| a.n), Some(0));
}

#[tokio::test]
async fn a_remote_handler_error_reaches_the_sender_as_a_handler_error() {
    let (server, client, _l, _p) = pair().await;
    let table =
        RoutingTable::builder().rule("all", Cond::Always, [Action::call("fail")]).build().unwrap();
    let l = RoutedListener::builder(table)
        .handler("fail", |_m: &Message| Err(HandlerError::new("no such card")))
        .build()
        .unwrap();
    server.register("svc", Arc::new(l)).unwrap();
    assert!(client.wait_for_destination(&Id::from("svc"), PROMPTLY).await);
    match client.request(Message::new(Ask { n: 1 }).to("svc"), Some(PROMPTLY)).await {
        Err(Error::Handler { handler, error }) => {
            assert_eq!(handler, "fail");
            assert_eq!(error.message(), "no such card");
        }
        other => panic!("expected a handler error, got {other:?}"),
    }
}

#[tokio::test]
async fn an_unrouted_remote_message_is_the_same_error_as_a_local_one() {
    let (server, client, _l, _p) = pair().await;
    let table = RoutingTable::builder()
        .rule("asks", Cond::type_is("Ask"), [Action::call("x")])
        .build()
        .unwrap();
    let l = RoutedListener::builder(table)
        .handler("x", |_m: &Message| Ok(Reply::Empty))
        .build()
        .unwrap();
    server.register("svc", Arc::new(l)).unwrap();
    assert!(client.wait_for_destination(&Id::from("svc"), PROMPTLY).await);
    match client.request(Message::new(Num { n: 1 }).to("svc"), Some(PROMPTLY)).await {
        Err(Error::Unrouted { ty, .. }) => assert_eq!(ty, "Num"),
        other => panic!("expected Unrouted, got {other:?}"),
    }
}

#[tokio::test]
async fn a_deferred_remote_reply_is_given_later_by_message_id() {
    let (server, client, _l, _p) = pair().await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let table =
        RoutingTable::builder().rule("all", Cond::Always, [Action::call("defer")]).build().unwrap();
    let l = RoutedListener::builder(table)
        .handler("defer", move |m: &Message| {
            let _ = tx.send(m.id());
            Ok(Reply::Defer)
        })
        .build()
        .unwrap();
    server.register("svc", Arc::new(l)).unwrap();
    assert!(client.wait_for_destination(&Id::from("svc"), PROMPTLY).await);
    let asking = {
        let client = client.clone();
        tokio::spawn(async move {
            client.request(Message::new(Ask { n: 1 }).to("svc"), Some(PROMPTLY)).await
        })
    };
    let id = tokio::time::timeout(PROMPTLY, rx.recv()).await.unwrap().unwrap();
    server.reply_with(id, Ans { n: 1, seen: 42 }).unwrap();
    let reply = asking.await.unwrap().unwrap();
    assert_eq!(reply.content_as::<Ans>(), Some(&Ans { n: 1, seen: 42 }));
}

/// A listener that defers every reply (and never gives it).
fn deferring() -> Arc<dyn dispatchio_core::Listener> {
    let table =
        RoutingTable::builder().rule("all", Cond::Always, [Action::call("defer")]).build().unwrap();
    let l = RoutedListener::builder(table)
        .handler("defer", |_m: &Message| Ok(Reply::Defer))
        .build()
        .unwrap();
    Arc::new(l)
}

#[tokio::test]
async fn a_remote_request_times_out_like_a_local_one() {
    let (server, client, _l, _p) = pair().await;
    server.register("svc", deferring()).unwrap();
    assert!(client.wait_for_destination(&Id::from("svc"), PROMPTLY).await);
    let after = Duration::from_millis(100);
    match client.request(Message::new(Ask { n: 1 }).to("svc"), Some(after)).await {
        Err(Error::Timeout { after: a, .. }) => assert_eq!(a, after),
        other => panic!("expected a timeout, got {other:?}"),
    }
    // The link forgets the request its sender gave up on.
    let deadline = tokio::time::Instant::now() + PROMPTLY;
    while client.remote_stats().pending_requests > 0 {
        assert!(tokio::time::Instant::now() < deadline, "the timed-out request stays pending");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_full_bounded_mailbox_refuses_a_peer_as_it_refuses_a_local_sender() {
    let (server, client, _l, _p) = pair().await;
    // Every message is deferred; sent blocking, one holds the listener.
    server.register_bounded("svc", deferring(), 1).unwrap();
    let s2 = server.clone();
    let _held = tokio::spawn(async move {
        s2.request(Message::new(Ask { n: 0 }).to("svc").blocking(), None).await
    });
    eventually("never held", || !server.snapshot().blocked.is_empty()).await;
    server.send(Message::new(Num { n: 1 }).to("svc")).unwrap();
    assert!(client.wait_for_destination(&Id::from("svc"), PROMPTLY).await);
    match client.request(Message::new(Ask { n: 2 }).to("svc"), Some(PROMPTLY)).await {
        Err(Error::MailboxFull { dest, capacity }) => {
            assert_eq!((dest, capacity), (Id::from("svc"), 1));
        }
        other => panic!("expected MailboxFull, got {other:?}"),
    }
    // A one-way message nobody waits on is counted where it was refused.
    client.send(Message::new(Num { n: 3 }).to("svc")).unwrap();
    eventually("the refusal was not counted", || server.remote_stats().incoming_undeliverable > 0)
        .await;
    assert_eq!(server.snapshot().counters.mailbox_full, 2);
}

#[tokio::test]
async fn a_destination_the_peer_no_longer_serves_is_an_unknown_destination() {
    let server = Dispatcher::new();
    let client = Dispatcher::new();
    // The server announces its changes only once a minute: the client still
    // routes to it after the listener is gone.
    let slow = config("server").announce_interval(Duration::from_secs(60));
    let _svc = counting(&server, "svc");
    let listener = server.listen_with(&unix_addr("gone"), &slow).await.unwrap();
    let _p =
        client.connect_with(&listener.local_addr().to_string(), &config("client")).await.unwrap();
    assert!(client.wait_for_destination(&Id::from("svc"), PROMPTLY).await);
    server.deregister("svc").unwrap();
    match client.request(Message::new(Ask { n: 1 }).to("svc"), Some(PROMPTLY)).await {
        Err(Error::UnknownDestination(d)) => assert_eq!(d, Id::from("svc")),
        other => panic!("expected UnknownDestination, got {other:?}"),
    }
    // A one-way message the peer cannot deliver is counted there.
    client.send(Message::new(Num { n: 0 }).to("svc")).unwrap();
    let deadline = tokio::time::Instant::now() + PROMPTLY;
    while server.remote_stats().incoming_undeliverable == 0 {
        assert!(tokio::time::Instant::now() < deadline, "the lost message was not counted");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn a_synchronous_send_to_a_remote_listener_fails_clearly() {
    let (server, client, _l, _p) = pair().await;
    let _c = counting(&server, "svc");
    assert!(client.wait_for_destination(&Id::from("svc"), PROMPTLY).await);
    match client.send_sync(Message::new(Ask { n: 1 }).to("svc")) {
        Err(Error::Sync(SyncError::Remote)) => {}
        other => panic!("expected SyncError::Remote, got {other:?}"),
    }
}

#[tokio::test]
async fn a_blocking_message_holds_later_messages_to_a_remote_listener() {
    let (server, client, _l, _p) = pair().await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let handled = Arc::new(AtomicU64::new(0));
    let h = handled.clone();
    let table = RoutingTable::builder()
        .rule("ask", Cond::type_is("Ask"), [Action::call("defer")])
        .rule("num", Cond::type_is("Num"), [Action::call("count")])
        .build()
        .unwrap();
    let l = RoutedListener::builder(table)
        .handler("defer", move |m: &Message| {
            let _ = tx.send(m.id());
            Ok(Reply::Defer)
        })
        .handler("count", move |_m: &Message| {
            h.fetch_add(1, Ordering::SeqCst);
            Ok(Reply::Empty)
        })
        .build()
        .unwrap();
    server.register("svc", Arc::new(l)).unwrap();
    assert!(client.wait_for_destination(&Id::from("svc"), PROMPTLY).await);
    let blocking = {
        let client = client.clone();
        tokio::spawn(async move {
            client.request(Message::new(Ask { n: 1 }).to("svc").blocking(), Some(PROMPTLY)).await
        })
    };
    let id = tokio::time::timeout(PROMPTLY, rx.recv()).await.unwrap().unwrap();
    client.send(Message::new(Num { n: 0 }).to("svc")).unwrap();
    // Give the later message every chance to overtake; it must not.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(handled.load(Ordering::SeqCst), 0, "a message overtook the blocking one");
    server.reply_with(id, Ans { n: 1, seen: 0 }).unwrap();
    blocking.await.unwrap().unwrap();
    let deadline = tokio::time::Instant::now() + PROMPTLY;
    while handled.load(Ordering::SeqCst) == 0 {
        assert!(tokio::time::Instant::now() < deadline, "the held message never ran");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// What a recording listener was given: (source, number), in order.
type Log = Arc<parking_lot::Mutex<Vec<(Id, u64)>>>;

/// `Ask` messages go to handler `answer`, everything else to `record`.
fn ask_or_record() -> RoutingTable {
    RoutingTable::builder()
        .rule("ask", Cond::type_is("Ask"), [Action::call("answer")])
        .otherwise([Action::call("record")])
        .build()
        .unwrap()
}

/// A listener that records, per source, the numbers it was given, and
/// whether it ever ran two deliveries at once.
fn recording(d: &Dispatcher, me: &'static str) -> (Log, Arc<AtomicU64>) {
    let log: Log = Arc::default();
    let overlaps = Arc::new(AtomicU64::new(0));
    let busy = Arc::new(AtomicU64::new(0));
    let (l, o, b) = (log.clone(), overlaps.clone(), busy.clone());
    let table = ask_or_record();
    let listener = RoutedListener::builder(table)
        .handler("record", move |m: &Message| {
            if b.fetch_add(1, Ordering::SeqCst) != 0 {
                o.fetch_add(1, Ordering::SeqCst);
            }
            let n = m.content_as::<Num>().map(|c| c.n).unwrap_or(u64::MAX);
            l.lock().push((m.envelope().source.clone().unwrap_or(Id::Int(-1)), n));
            b.fetch_sub(1, Ordering::SeqCst);
            Ok(Reply::Empty)
        })
        .handler("answer", |m: &Message| {
            Ok(Reply::with(Ans { n: m.content_as::<Ask>().map_or(0, |a| a.n), seen: 0 }))
        })
        .build()
        .unwrap();
    d.register(me, Arc::new(listener)).unwrap();
    (log, overlaps)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_read_from_a_link_keep_each_senders_order_among_local_senders() {
    // A link's reader delivers straight into an idle listener; local
    // senders queue. Interleaved, every sender's messages must still be
    // handled in the order sent, one at a time, none lost.
    let (server, client, _l, _p) = pair().await;
    let (log, overlaps) = recording(&server, "svc");
    assert!(client.wait_for_destination(&Id::from("svc"), PROMPTLY).await);
    const N: u64 = 3_000;
    // Source IDs are per dispatcher: named ones keep the senders apart.
    let remote = client.register_source("remote").unwrap();
    let locals: Vec<_> =
        ["local-a", "local-b"].iter().map(|&n| server.register_source(n).unwrap()).collect();
    let local_ids: Vec<Id> = locals.iter().map(|s| s.id().clone()).collect();
    let remote_id = remote.id().clone();
    let sending_remote = tokio::spawn(async move {
        for n in 0..N {
            // A request now and then: it waits for everything before it.
            if n % 5_000 == 4_999 {
                remote.request(Message::new(Ask { n }).to("svc"), Some(PROMPTLY)).await.unwrap();
            }
            remote.send(Message::new(Num { n }).to("svc")).unwrap();
        }
        remote.request(Message::new(Ask { n: N }).to("svc"), Some(PROMPTLY)).await.unwrap();
    });
    let sending_local = tokio::spawn(async move {
        for n in 0..N {
            for s in &locals {
                s.send(Message::new(Num { n }).to("svc")).unwrap();
            }
            if n % 256 == 0 {
                tokio::task::yield_now().await;
            }
        }
        for s in &locals {
            s.request(Message::new(Ask { n: N }).to("svc"), Some(PROMPTLY)).await.unwrap();
        }
    });
    sending_remote.await.unwrap();
    sending_local.await.unwrap();
    let log = log.lock();
    for sender in local_ids.iter().chain([&remote_id]) {
        let got: Vec<u64> = log.iter().filter(|(s, _)| s == sender).map(|(_, n)| *n).collect();
        assert_eq!(got.len() as u64, N, "messages from {sender} lost or duplicated");
        assert!(got.windows(2).all(|w| w[1] == w[0] + 1), "messages from {sender} out of order");
    }
    assert_eq!(overlaps.load(Ordering::SeqCst), 0, "the listener handled two messages at once");
}

/// A listener that answers every request with `Ans { n }`.
fn answering(n: u64) -> Arc<dyn dispatchio_core::Listener> {
    let table = RoutingTable::builder()
        .rule("all", Cond::Always, [Action::call("answer")])
        .build()
        .unwrap();
    let l = RoutedListener::builder(table)
        .handler("answer", move |_m: &Message| Ok(Reply::with(Ans { n, seen: 0 })))
        .build()
        .unwrap();
    Arc::new(l)
}

#[tokio::test]
async fn a_destination_registered_again_gets_the_next_messages_from_a_link() {
    // The link remembers where its last message went; replacing the
    // listener must send the next one to the new listener, not the old.
    let (server, client, _l, _p) = pair().await;
    server.register("svc", answering(1)).unwrap();
    assert!(client.wait_for_destination(&Id::from("svc"), PROMPTLY).await);
    let ask = || Message::new(Ask { n: 0 }).to("svc");
    let first = client.request(ask(), Some(PROMPTLY)).await.unwrap();
    assert_eq!(first.content_as::<Ans>().map(|a| a.n), Some(1));
    server.deregister("svc").unwrap();
    server.register("svc", answering(2)).unwrap();
    let second = client.request(ask(), Some(PROMPTLY)).await.unwrap();
    assert_eq!(second.content_as::<Ans>().map(|a| a.n), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_holds_when_a_link_goes_back_from_queueing_to_direct_delivery() {
    // The first message is slow, so the reader queues the next ones for a
    // while; handling them is slower than reading them, so the queue is
    // still full when the reader may deliver directly again. It must not
    // deliver past what it queued.
    let (server, client, _l, _p) = pair().await;
    let log: Arc<parking_lot::Mutex<Vec<u64>>> = Arc::default();
    let l = log.clone();
    let table = ask_or_record();
    let listener = RoutedListener::builder(table)
        .handler("record", move |m: &Message| {
            let n = m.content_as::<Num>().map_or(u64::MAX, |c| c.n);
            if n == 0 {
                std::thread::sleep(Duration::from_millis(5));
            } else if n < 4_500 {
                let t = std::time::Instant::now();
                while t.elapsed() < Duration::from_micros(100) {}
            }
            l.lock().push(n);
            Ok(Reply::Empty)
        })
        .handler("answer", |_m: &Message| Ok(Reply::Empty))
        .build()
        .unwrap();
    server.register("svc", Arc::new(listener)).unwrap();
    assert!(client.wait_for_destination(&Id::from("svc"), PROMPTLY).await);
    const N: u64 = 8_000;
    for n in 0..N {
        client.send(Message::new(Num { n }).to("svc")).unwrap();
    }
    client.request(Message::new(Ask { n: 0 }).to("svc"), Some(PROMPTLY)).await.unwrap();
    let log = log.lock();
    assert_eq!(log.len() as u64, N, "messages lost, or overtaken by the request");
    assert!(log.windows(2).all(|w| w[1] == w[0] + 1), "messages out of order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slow_handler_does_not_hold_up_other_destinations_on_the_same_link() {
    // The first message to `slow` is delivered by the link's reader itself
    // and takes a while; the reader then stops delivering to `slow`
    // directly, so a later slow message waits in `slow`'s own queue, not in
    // front of the request to `fast` read after it.
    let (server, client, _l, _p) = pair().await;
    server.register("slow", napping(Duration::from_millis(300))).unwrap();
    let _fast = counting(&server, "fast");
    assert!(client.wait_for_destination(&Id::from("slow"), PROMPTLY).await);
    assert!(client.wait_for_destination(&Id::from("fast"), PROMPTLY).await);
    client.send(Message::new(Num { n: 0 }).to("slow")).unwrap();
    tokio::time::sleep(Duration::from_millis(350)).await;
    // Now `slow` is known to be slow: ten more naps would take 3 s if
    // the reader ran them.
    for n in 1..=10 {
        client.send(Message::new(Num { n }).to("slow")).unwrap();
    }
    let started = std::time::Instant::now();
    client.request(Message::new(Ask { n: 1 }).to("fast"), Some(PROMPTLY)).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(2_000),
        "a request to another destination waited {:?} behind slow handlers",
        started.elapsed()
    );
}

#[test]
fn a_fast_destinations_request_is_served_while_a_slow_one_is_saturated() {
    // The server runs on a runtime of its own (as another process would):
    // `slow` takes 1 ms a message, `fast` answers at once. The client
    // floods `slow` for the whole test; its requests to `fast` must still
    // be taken and answered. Two faults once broke this: the slow
    // listener's task kept its worker thread for thousands of messages
    // (the link's reader, scheduled there, stopped reading for seconds),
    // and the flood filled the link's queue, so a request to `fast` was
    // refused as queue-full.
    let addr = unix_addr("saturated");
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server_addr = addr.clone();
    let server = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let d = Dispatcher::new();
            d.register_bounded("slow", napping(Duration::from_millis(1)), 1024).unwrap();
            let _fast = counting(&d, "fast");
            let _l = d.listen_with(&server_addr, &config("server")).await.unwrap();
            ready_tx.send(()).unwrap();
            let _ = stop_rx.await;
            d.shutdown().await;
        });
    });
    ready_rx.recv().unwrap();
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async move {
        let client = Dispatcher::new();
        let _peer = client.connect_with(&addr, &config("client")).await.unwrap();
        for dest in ["slow", "fast"] {
            assert!(client.wait_for_destination(&Id::from(dest), PROMPTLY).await);
        }
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let refused = Arc::new(AtomicU64::new(0));
        let (c, s, r) = (client.clone(), stop.clone(), refused.clone());
        let flood = tokio::spawn(async move {
            let mut sent = 0u64;
            while !s.load(Ordering::Relaxed) {
                match c.send(Message::new(Num { n: sent }).to("slow")) {
                    Ok(_) => sent += 1,
                    Err(_) => {
                        // At once again: the queue stays full.
                        r.fetch_add(1, Ordering::Relaxed);
                        tokio::task::yield_now().await;
                    }
                }
                if sent % 256 == 0 {
                    tokio::task::yield_now().await;
                }
            }
            sent
        });
        // Saturated: the flood is being refused (by the link's queue).
        eventually("the flood never filled the link", || refused.load(Ordering::Relaxed) > 0).await;
        for n in 0..50 {
            let asked = client.request(Message::new(Ask { n }).to("fast"), Some(PROMPTLY)).await;
            match asked {
                Ok(reply) => assert_eq!(reply.content_as::<Ans>().map(|a| a.n), Some(n)),
                Err(e) => panic!("request {n} to fast, while slow is saturated: {e}"),
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        stop.store(true, Ordering::Relaxed);
        let sent = flood.await.unwrap();
        assert!(sent > 0);
    });
    let _ = stop_tx.send(());
    server.join().unwrap();
}

/// Waits until `d` routes group `group` to `members` members.
async fn wait_for_group(d: &Dispatcher, group: &str, members: usize) {
    let g = Id::from(group);
    let deadline = tokio::time::Instant::now() + PROMPTLY;
    loop {
        let n = d.snapshot().groups.iter().find(|(id, _)| *id == g).map_or(0, |(_, m)| m.len());
        if n == members {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "group {group} has {n} members, not {members}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn a_group_message_reaches_subscribers_in_several_processes_once_each() {
    let hub = Dispatcher::new();
    let listener = hub.listen_with(&unix_addr("group"), &config("hub")).await.unwrap();
    let addr = listener.local_addr().to_string();
    let local = counting(&hub, "local-member");
    hub.subscribe("local-member", "all").unwrap();
    let mut spokes = Vec::new();
    for name in ["a", "b"] {
        let d = Dispatcher::new();
        let c = counting(&d, name);
        d.subscribe(name, "all").unwrap();
        let peer = d.connect_with(&addr, &config(name)).await.unwrap();
        spokes.push((d, c, peer));
    }
    wait_for_group(&hub, "all", 3).await;
    for n in 0..10 {
        hub.send(Message::new(Num { n }).to_group("all")).unwrap();
    }
    let replies = hub
        .request_group(Message::new(Ask { n: 99 }).to_group("all"), Some(PROMPTLY))
        .await
        .unwrap();
    assert_eq!(replies.len(), 3);
    for (_, reply) in &replies {
        // Every member answered after it had seen all ten numbers, in order.
        assert_eq!(reply.content_as::<Ans>(), Some(&Ans { n: 99, seen: 10 }));
    }
    for c in std::iter::once(&local).chain(spokes.iter().map(|s| &s.1)) {
        assert_eq!(c.seen.load(Ordering::SeqCst), 10);
        assert_eq!(c.out_of_order.load(Ordering::SeqCst), 0);
    }
}

#[tokio::test]
async fn a_group_request_learns_of_a_remote_subscribers_failure() {
    let (server, client, _l, _p) = pair().await;
    let table =
        RoutingTable::builder().rule("all", Cond::Always, [Action::call("fail")]).build().unwrap();
    let l = RoutedListener::builder(table)
        .handler("fail", |_m: &Message| Err(HandlerError::new("out of paper")))
        .build()
        .unwrap();
    server.register("printer", Arc::new(l)).unwrap();
    server.subscribe("printer", "printers").unwrap();
    let _ok = counting(&client, "good");
    client.subscribe("good", "printers").unwrap();
    wait_for_group(&client, "printers", 2).await;
    match client
        .request_group(Message::new(Ask { n: 1 }).to_group("printers"), Some(PROMPTLY))
        .await
    {
        Err(Error::Group(g)) => {
            assert_eq!(g.succeeded, 1);
            assert_eq!(g.failures.len(), 1);
            assert!(
                matches!(&g.failures[0].1, Error::Handler { handler, .. } if handler == "fail")
            );
        }
        other => panic!("expected a group error, got {other:?}"),
    }
}

#[tokio::test]
async fn withdrawn_listeners_and_groups_stop_being_routed_to_the_peer() {
    let (server, client, _l, _p) = pair().await;
    let _c = counting(&server, "svc");
    server.subscribe("svc", "g").unwrap();
    assert!(client.wait_for_destination(&Id::from("svc"), PROMPTLY).await);
    wait_for_group(&client, "g", 1).await;
    server.deregister("svc").unwrap();
    server.announce_changes();
    wait_for_group(&client, "g", 0).await;
    let deadline = tokio::time::Instant::now() + PROMPTLY;
    while client.snapshot().remote.iter().any(|(d, _)| *d == Id::from("svc")) {
        assert!(tokio::time::Instant::now() < deadline, "svc is still routed to the peer");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(matches!(
        client.send(Message::new(Num { n: 0 }).to("svc")),
        Err(Error::UnknownDestination(_))
    ));
}

#[tokio::test]
async fn an_id_served_by_two_peers_is_a_reported_conflict_resolved_when_freed() {
    let hub = Dispatcher::new();
    let listener = hub.listen_with(&unix_addr("conflict"), &config("hub")).await.unwrap();
    let addr = listener.local_addr().to_string();
    let first = Dispatcher::new();
    let first_c = counting(&first, "dup");
    let _p1 = first.connect_with(&addr, &config("first")).await.unwrap();
    assert!(hub.wait_for_destination(&Id::from("dup"), PROMPTLY).await);
    let second = Dispatcher::new();
    let second_c = counting(&second, "dup");
    let _p2 = second.connect_with(&addr, &config("second")).await.unwrap();
    let deadline = tokio::time::Instant::now() + PROMPTLY;
    while hub.remote_stats().conflicts.is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "no conflict reported");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let stats = hub.remote_stats();
    assert_eq!(stats.conflicts_reported, 1);
    assert_eq!(stats.conflicts[0].id, Id::from("dup"));
    assert!(stats.conflicts[0].refused.starts_with("second/"), "{stats:?}");
    assert!(stats.conflicts[0].served_by.starts_with("first/"), "{stats:?}");
    // The first claim keeps the ID: no silent switch.
    hub.request(Message::new(Ask { n: 1 }).to("dup"), Some(PROMPTLY)).await.unwrap();
    assert_eq!(first_c.asked.load(Ordering::SeqCst), 1);
    // Once the first withdraws it, the refused claim is taken up.
    first.deregister("dup").unwrap();
    first.announce_changes();
    let deadline = tokio::time::Instant::now() + PROMPTLY;
    while !hub.remote_stats().conflicts.is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "the conflict was never resolved");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    hub.request(Message::new(Ask { n: 2 }).to("dup"), Some(PROMPTLY)).await.unwrap();
    assert_eq!(second_c.asked.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_peer_announcing_a_locally_served_id_is_refused_as_a_conflict() {
    let (server, client, _l, _p) = pair().await;
    let _local = counting(&server, "mine");
    let _remote = counting(&client, "mine");
    client.announce_changes();
    let deadline = tokio::time::Instant::now() + PROMPTLY;
    while server.remote_stats().conflicts.is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "no conflict reported");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(server.remote_stats().conflicts[0].served_by, "this process");
    assert_eq!(server.snapshot().listeners, vec![Id::from("mine")]);
}

#[tokio::test]
async fn while_the_link_is_down_sends_queue_up_to_the_bound_then_fail_and_the_queue_is_sent_after_reconnecting()
 {
    let server = Dispatcher::new();
    let client = Dispatcher::new();
    let addr = unix_addr("down");
    let listener = server.listen_with(&addr, &config("server")).await.unwrap();
    let svc = counting(&server, "svc");
    let cfg = config("client")
        .queue_capacity(4)
        .reconnect_backoff(Duration::from_millis(20), Duration::from_millis(50));
    let peer = client.connect_with(&addr, &cfg).await.unwrap();
    assert!(client.wait_for_destination(&Id::from("svc"), PROMPTLY).await);
    listener.close().await;
    let mut state = peer.link().watch_state();
    tokio::time::timeout(PROMPTLY, state.wait_for(|s| *s == dispatchio_net::LinkState::Down))
        .await
        .unwrap()
        .unwrap();
    for n in 0..4 {
        client.send(Message::new(Num { n }).to("svc")).unwrap();
    }
    match client.send(Message::new(Num { n: 4 }).to("svc")) {
        Err(Error::Transport(e)) => {
            assert_eq!(e.kind(), TransportErrorKind::Unavailable, "{e}");
            assert!(e.message().contains("down"), "{e}");
        }
        other => panic!("expected the down-and-full error, got {other:?}"),
    }
    // Back up: the four queued messages arrive, in order.
    let _listener = server.listen_with(&addr, &config("server")).await.unwrap();
    let deadline = tokio::time::Instant::now() + PROMPTLY;
    while svc.seen.load(Ordering::SeqCst) < 4 {
        assert!(tokio::time::Instant::now() < deadline, "queued messages never arrived");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(svc.out_of_order.load(Ordering::SeqCst), 0);
    client.request(Message::new(Ask { n: 0 }).to("svc"), Some(PROMPTLY)).await.unwrap();
}

/// Registers `svc` on `host`, a listener that defers every reply, and has
/// `asker` send it a request once it is announced; returns the request's
/// task when the handler has seen it (the request is then pending).
async fn deferred_request(
    host: &Dispatcher,
    asker: &Dispatcher,
) -> tokio::task::JoinHandle<Result<Message, Error>> {
    let table =
        RoutingTable::builder().rule("all", Cond::Always, [Action::call("defer")]).build().unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let l = RoutedListener::builder(table)
        .handler("defer", move |_m: &Message| {
            let _ = tx.send(());
            Ok(Reply::Defer)
        })
        .build()
        .unwrap();
    host.register("svc", Arc::new(l)).unwrap();
    assert!(asker.wait_for_destination(&Id::from("svc"), PROMPTLY).await);
    let asker = asker.clone();
    let asking =
        tokio::spawn(
            async move { asker.request(Message::new(Ask { n: 1 }).to("svc"), None).await },
        );
    tokio::time::timeout(PROMPTLY, rx.recv()).await.unwrap().unwrap();
    asking
}

#[tokio::test]
async fn closing_the_listener_fails_requests_pending_on_its_links() {
    let (server, client, listener, _p) = pair().await;
    let asking = deferred_request(&client, &server).await;
    listener.close().await;
    match tokio::time::timeout(PROMPTLY, asking).await.expect("failed promptly").unwrap() {
        Err(Error::Transport(e)) => {
            assert_eq!(e.kind(), TransportErrorKind::PeerLost, "{e}");
            assert!(e.message().contains("peer lost"), "{e}");
        }
        other => panic!("expected a peer-lost error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_request_failed_by_a_lost_peer_says_so_in_its_kind_and_keeps_the_reason_as_its_cause() {
    let (server, client, listener, _p) = pair().await;
    let asking = deferred_request(&client, &server).await;
    listener.close().await;
    let e = tokio::time::timeout(PROMPTLY, asking).await.expect("failed promptly").unwrap();
    let e = e.expect_err("the peer was lost");
    assert_eq!(e.kind(), ErrorKind::Transport);
    let Error::Transport(t) = &e else { panic!("expected a transport error, got {e:?}") };
    assert_eq!(t.kind(), TransportErrorKind::PeerLost);
    assert!(t.outlet().contains("link#"), "{}", t.outlet());
    let cause = std::error::Error::source(&e).expect("why the connection ended");
    assert!(cause.downcast_ref::<dispatchio_net::DownReason>().is_some(), "{cause}");
}

#[tokio::test]
async fn a_group_request_learns_of_each_failing_subscriber_behind_one_peer() {
    let (server, client, _l, _p) = pair().await;
    let table =
        RoutingTable::builder().rule("all", Cond::Always, [Action::call("fail")]).build().unwrap();
    let failing = RoutedListener::builder(table)
        .handler("fail", |_m: &Message| Err(HandlerError::new("jammed")))
        .build()
        .unwrap();
    server.register("bad", Arc::new(failing)).unwrap();
    let _good = counting(&server, "good");
    for member in ["bad", "good"] {
        server.subscribe(member, "printers").unwrap();
    }
    wait_for_group(&client, "printers", 1).await;
    match client
        .request_group(Message::new(Ask { n: 1 }).to_group("printers"), Some(PROMPTLY))
        .await
    {
        Err(Error::Group(outer)) => {
            assert_eq!(outer.failures.len(), 1, "{outer}");
            match &outer.failures[0].1 {
                Error::Group(inner) => {
                    assert_eq!(inner.succeeded, 1, "{inner}");
                    assert_eq!(inner.failures.len(), 1);
                    assert_eq!(inner.failures[0].0, Id::from("bad"));
                    assert!(matches!(
                        &inner.failures[0].1,
                        Error::Handler { handler, error } if handler == "fail" && error.message() == "jammed"
                    ));
                }
                other => panic!("expected the peer's group error, got {other:?}"),
            }
        }
        other => panic!("expected a group error, got {other:?}"),
    }
    // All members well: one reply for the peer.
    server.unsubscribe("bad", "printers");
    let replies = client
        .request_group(Message::new(Ask { n: 2 }).to_group("printers"), Some(PROMPTLY))
        .await
        .unwrap();
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].1.content_as::<Ans>().map(|a| a.n), Some(2));
}

/// Content bytes from a peer are decoded by the receiving side: whatever they are,
/// the dispatcher answers (an error where they do not decode) and carries on.
/// A request frame to `dest`, as a peer writes it, with content `bytes` of
/// type `type_name`.
fn wire_request(id: u64, dest: &str, type_name: &str, bytes: Vec<u8>) -> dispatchio_net::Payload {
    use dispatchio_net::{Payload, WireContent, WireId, WireMessage};
    let content = WireContent { type_name: type_name.to_owned(), bytes: bytes.into() };
    Payload::Message(WireMessage {
        dest: Some(WireId::from(dest)),
        response_required: true,
        ..WireMessage::new(id, type_name, Some(content))
    })
}

/// Announcements are bounded: per frame, and in all per link.
mod announcement_limits {
    use super::*;
    use dispatchio_net::{self as net, Announcement, Link, NetConfig, Payload, WireId};
    use futures::SinkExt;

    fn serve(names: impl IntoIterator<Item = String>) -> Vec<Announcement> {
        names.into_iter().map(|n| Announcement::Serve(WireId::Str(n))).collect()
    }

    /// The IDs `d` routes to peers.
    fn remote(d: &Dispatcher) -> Vec<Id> {
        d.snapshot().remote.into_iter().map(|(id, _)| id).collect()
    }

    #[tokio::test]
    async fn an_announcement_listing_more_than_the_limit_is_refused_whole_logged_and_counted() {
        let (logs, _guard) = crate::capture_logs();
        let server = Dispatcher::new();
        let cfg = config("server").max_announcements(1_000);
        let listener = server.listen_with(&unix_addr("ann-frame"), &cfg).await.unwrap();
        // The peer's first frame, its snapshot, lists 5,000 IDs.
        let snapshot = serve((0..5_000).map(|n| format!("d{n}")));
        let (events, _rx) = crate::recorder(snapshot, false);
        let link: Link =
            net::connect(listener.local_addr(), &NetConfig::new("boastful"), events).await.unwrap();
        eventually("the refusal is counted", || {
            server.remote_stats().announcements_refused == 5_000
        })
        .await;
        assert!(remote(&server).is_empty(), "none of a refused announcement is applied");
        let text = logs.text();
        assert!(
            text.lines().any(|l| l.contains("announcement refused") && l.contains("5000")),
            "{text}"
        );
        // The link carries on: a later announcement within the limit is applied.
        link.try_send(Payload::Announce(serve(["ok".to_owned()]))).unwrap();
        assert!(server.wait_for_destination(&Id::from("ok"), PROMPTLY).await);
        link.close("done").await;
    }

    #[tokio::test]
    async fn a_peer_cannot_announce_more_than_the_limit_in_all() {
        let (logs, _guard) = crate::capture_logs();
        let server = Dispatcher::new();
        let cfg = config("server").max_announced(100);
        let listener = server.listen_with(&unix_addr("ann-total"), &cfg).await.unwrap();
        let (events, _rx) = crate::recorder(Vec::new(), false);
        let link: Link =
            net::connect(listener.local_addr(), &NetConfig::new("greedy"), events).await.unwrap();
        // Ten frames of fifty, each within any limit a frame has.
        for frame in 0..10 {
            let ids = (0..50).map(|n| format!("f{frame}-{n}"));
            link.try_send(Payload::Announce(serve(ids))).unwrap();
        }
        eventually("the excess is refused", || server.remote_stats().announcements_refused == 400)
            .await;
        assert_eq!(remote(&server).len(), 100);
        let refusals = logs.text().lines().filter(|l| l.contains("refused")).count();
        assert!(refusals <= 10, "logged once per frame at most, not per ID:\n{}", logs.text());
        // Withdrawing makes room again.
        let withdrawn: Vec<Announcement> =
            (0..10).map(|n| Announcement::Withdraw(WireId::Str(format!("f0-{n}")))).collect();
        link.try_send(Payload::Announce(withdrawn)).unwrap();
        link.try_send(Payload::Announce(serve((0..10).map(|n| format!("late-{n}"))))).unwrap();
        assert!(server.wait_for_destination(&Id::from("late-9"), PROMPTLY).await);
        assert_eq!(remote(&server).len(), 100);
        link.close("done").await;
    }

    #[tokio::test]
    async fn an_announcement_claiming_more_than_the_limit_is_refused_from_its_header_unread() {
        let server = Dispatcher::new();
        let addr = unix_addr("ann-header");
        let _listener = server.listen_with(&addr, &config("server")).await.unwrap();
        let dispatchio_net::Address::Unix(path) = addr.parse().unwrap() else { unreachable!() };
        let io = tokio::net::UnixStream::connect(path).await.unwrap();
        let mut framed = crate::raw(io);
        crate::raw_send_handshake(&mut framed, crate::hello(net::PROTOCOL_VERSION)).await;
        let _welcome = crate::raw_read_handshake(&mut framed).await;
        // `Announce` with an array header of 1,000,000 entries and one
        // entry after it: decoded, it would be malformed (and close the
        // connection); refused for its count, it is never decoded.
        let mut lie = b"\x81\xa8Announce\xdd\x00\x0f\x42\x40".to_vec();
        lie.extend_from_slice(b"\x81\xa5Serve\xa3lie");
        framed.send(bytes::Bytes::from(lie)).await.unwrap();
        // Then a true one: `Announce [ {Serve: "ok"} ]`.
        let ok = b"\x81\xa8Announce\x91\x81\xa5Serve\xa2ok".to_vec();
        framed.send(bytes::Bytes::from(ok)).await.unwrap();
        assert!(server.wait_for_destination(&Id::from("ok"), PROMPTLY).await);
        assert!(!server.snapshot().remote.iter().any(|(id, _)| *id == Id::from("lie")));
        assert_eq!(server.remote_stats().announcements_refused, 1_000_000);
    }
}

/// A peer that sends requests and never reads the replies.
mod unread_replies {
    use super::*;
    use dispatchio_net::{self as net, LinkEvents, NetConfig, Payload};

    /// Stops its link's reader at the first reply until released: the
    /// link reads nothing more, as a peer that never reads its replies.
    struct Stuck(Arc<tokio::sync::Semaphore>);

    impl LinkEvents for Stuck {
        async fn received(&self, _link: &net::Link, payload: Payload) {
            if let Payload::Reply(_) = payload {
                // Closed to release: every later acquire fails at once.
                let _ = self.0.acquire().await;
            }
        }
    }

    fn ask(id: u64) -> Payload {
        let bytes = rmp_serde::to_vec_named(&Ask { n: id }).unwrap();
        super::wire_request(id, "big", "Ask", bytes)
    }

    /// One thread, so that the captured logs (a thread's default
    /// subscriber) see the server's side too.
    #[tokio::test]
    async fn replies_a_peer_never_reads_are_bounded_counted_and_logged_once_per_batch() {
        let (logs, _guard) = crate::capture_logs();
        let server = Dispatcher::new();
        // Every answer is 4 KiB: the socket's buffers take few of them.
        let handled = Arc::new(AtomicU64::new(0));
        let h = handled.clone();
        let table = RoutingTable::builder()
            .rule("all", Cond::Always, [Action::call("answer")])
            .build()
            .unwrap();
        let big = RoutedListener::builder(table)
            .handler("answer", move |_m: &Message| {
                h.fetch_add(1, Ordering::SeqCst);
                Ok(Reply::with(dispatchio_core::Text::from("x".repeat(4096))))
            })
            .build()
            .unwrap();
        server.register("big", Arc::new(big)).unwrap();
        let cfg = config("server").reply_capacity(64);
        let listener = server.listen_with(&unix_addr("unread"), &cfg).await.unwrap();
        let addr = listener.local_addr().clone();
        let release = Arc::new(tokio::sync::Semaphore::new(0));
        let stuck = Arc::new(Stuck(release.clone()));
        let link = net::connect(&addr, &NetConfig::new("reader-stuck"), stuck).await.unwrap();
        const ASKED: u64 = 2_000;
        for id in 1..=ASKED {
            link.send(ask(id)).await.unwrap();
        }
        eventually("the server did not handle every request", || {
            handled.load(Ordering::SeqCst) >= ASKED
        })
        .await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        // Nothing waits for room per reply: no task was left behind for each.
        let tasks = tokio::runtime::Handle::current().metrics().num_alive_tasks();
        assert!(tasks < 50, "{tasks} tasks alive for {ASKED} replies the peer does not read");
        let lost = server.remote_stats().replies_lost;
        assert!(
            lost > ASKED / 2,
            "only {lost} of {ASKED} replies lost: the test did not fill the link"
        );
        let lines = |text: &str| text.lines().filter(|l| l.contains("replies lost")).count();
        assert!(lines(&logs.text()) <= 2, "logged once per batch, not per reply:\n{}", logs.text());
        // When the connection goes, what was lost and not yet told is told.
        release.close();
        link.close("done").await;
        eventually("the server kept the link", || server.remote_stats().links.is_empty()).await;
        let text = logs.text();
        let told: u64 = text
            .lines()
            .filter(|l| l.contains("replies lost"))
            .filter_map(|l| l.split("lost=").nth(1)?.split_whitespace().next()?.parse::<u64>().ok())
            .sum();
        assert_eq!(
            told,
            server.remote_stats().replies_lost,
            "every lost reply is in a count:\n{text}"
        );
        assert!(lines(&text) <= 3, "{text}");
        listener.close().await;
    }
}

mod hostile_content {
    use super::*;
    use dispatchio_net::{self as net, LinkEvents, NetConfig, Payload, ReplyResult};
    use proptest::prelude::*;

    struct Replies(tokio::sync::mpsc::UnboundedSender<ReplyResult>);

    impl LinkEvents for Replies {
        async fn received(&self, _link: &net::Link, payload: Payload) {
            if let Payload::Reply(r) = payload {
                let _ = self.0.send(r.result);
            }
        }
    }

    fn request(id: u64, type_name: &str, bytes: Vec<u8>) -> Payload {
        super::wire_request(id, "svc", type_name, bytes)
    }

    /// Sends each body as a `Num` and as an unknown type; every request gets
    /// an answer, and a well-formed request afterwards is answered normally.
    async fn session(bodies: Vec<Vec<u8>>) {
        let d = Dispatcher::new();
        let _svc = counting(&d, "svc");
        let listener = d.listen_with(&unix_addr("hostile"), &config("server")).await.unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let addr = listener.local_addr().clone();
        let link =
            net::connect(&addr, &NetConfig::new("raw"), Arc::new(Replies(tx))).await.unwrap();
        let mut id = 1;
        for body in bodies {
            for ty in ["Num", "Unknown"] {
                link.send(request(id, ty, body.clone())).await.unwrap();
                id += 1;
                tokio::time::timeout(PROMPTLY, rx.recv()).await.expect("an answer").unwrap();
            }
        }
        let good = rmp_serde::to_vec_named(&Ask { n: 4 }).unwrap();
        link.send(request(id, "Ask", good)).await.unwrap();
        match tokio::time::timeout(PROMPTLY, rx.recv()).await.expect("an answer").unwrap() {
            ReplyResult::Ok(Some(c)) => assert_eq!(c.type_name, "Ans"),
            other => panic!("expected an answer, got {other:?}"),
        }
        link.close("done").await;
    }

    #[tokio::test]
    async fn deeply_nested_content_is_an_error_reply_not_a_crash() {
        let mut deep = vec![0x91u8; 200_000];
        deep.push(0xc0);
        session(vec![deep, vec![0xc1], vec![]]).await;
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_content_bytes_get_an_answer(
            bodies in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 1..8),
        ) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(session(bodies));
        }
    }
}

#[tokio::test]
async fn a_peer_that_shuts_down_fails_pending_requests_clearly_and_its_routes_go() {
    let (server, client, _l, _p) = pair().await;
    let asking = deferred_request(&server, &client).await;
    server.shutdown().await;
    match tokio::time::timeout(PROMPTLY, asking).await.expect("failed promptly").unwrap() {
        // Its deferred replies end with its shutdown, told to us as such.
        Err(Error::Transport(e)) => {
            assert_eq!(e.kind(), TransportErrorKind::PeerShutdown, "{e}");
            assert!(e.message().contains("shut down"), "{e}");
        }
        other => panic!("expected a peer-lost error, got {other:?}"),
    }
    // The client reconnects to the listener that is still open, and learns
    // that nothing is served there any more.
    let deadline = tokio::time::Instant::now() + PROMPTLY;
    while !client.snapshot().remote.is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "routes to the shut-down peer remain");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_tcp_listener_needs_a_secret_and_refuses_a_peer_without_the_right_one() {
    let d = Dispatcher::new();
    match d.listen("tcp:127.0.0.1:0").await {
        Err(dispatchio_net::NetError::ListenerNeedsSecret { .. }) => {}
        other => panic!("expected ListenerNeedsSecret, got {other:?}"),
    }
    let listener =
        d.listen_with("tcp:127.0.0.1:0", &config("server").secret("right")).await.unwrap();
    let addr = listener.local_addr().to_string();
    let other = Dispatcher::new();
    for cfg in [config("no-secret"), config("wrong").secret("wrong")] {
        match other.connect_with(&addr, &cfg).await {
            Err(dispatchio_net::NetError::Handshake { .. }) => {}
            other => panic!("expected a refused handshake, got {other:?}"),
        }
    }
    let _svc = counting(&d, "svc");
    let _peer = other.connect_with(&addr, &config("right").secret("right")).await.unwrap();
    assert!(other.wait_for_destination(&Id::from("svc"), PROMPTLY).await);
}

#[tokio::test]
async fn deferred_replies_to_two_peers_using_the_same_message_id_do_not_collide() {
    let server = Dispatcher::new();
    let listener = server.listen_with(&unix_addr("ids"), &config("server")).await.unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let table =
        RoutingTable::builder().rule("all", Cond::Always, [Action::call("defer")]).build().unwrap();
    let l = RoutedListener::builder(table)
        .handler("defer", move |m: &Message| {
            let n = m.content_as::<Ask>().map_or(0, |a| a.n);
            let _ = tx.send((m.id(), n));
            Ok(Reply::Defer)
        })
        .build()
        .unwrap();
    server.register("svc", Arc::new(l)).unwrap();
    let mut asking = Vec::new();
    let mut peers = Vec::new();
    for n in [1, 2] {
        let client = Dispatcher::new();
        let name = format!("client{n}");
        peers.push(
            client.connect_with(&listener.local_addr().to_string(), &config(&name)).await.unwrap(),
        );
        assert!(client.wait_for_destination(&Id::from("svc"), PROMPTLY).await);
        // Both clients choose the same message ID.
        asking.push(tokio::spawn(async move {
            client.request(Message::new(Ask { n }).to("svc").with_id(7), Some(PROMPTLY)).await
        }));
    }
    // Both are deferred at once before either is answered.
    let mut deferred = Vec::new();
    for _ in 0..2 {
        deferred.push(tokio::time::timeout(PROMPTLY, rx.recv()).await.unwrap().unwrap());
    }
    for (id, n) in deferred {
        server.reply_with(id, Ans { n, seen: 0 }).unwrap();
    }
    for (n, a) in [1, 2].into_iter().zip(asking) {
        let reply = a.await.unwrap().unwrap();
        assert_eq!(reply.content_as::<Ans>().map(|a| a.n), Some(n));
        assert_eq!(reply.id().get(), 7, "the reply carries the sender's ID");
    }
}
