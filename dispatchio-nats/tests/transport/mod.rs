//! Dispatchers joined to real servers (`NatsExt::join_nats`): sends,
//! requests, groups and faults crossing NATS as the local runtime promises.
//! Each test's dispatchers are independent (each has its own connection),
//! in this process.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dispatchio_core::routing::{Action, Cond, RoutingTable};
use dispatchio_core::{
    ContentRegistry, Dispatcher, Error, HandlerError, Id, Message, MessageId, Reply,
    RoutedListener, Text, TransportErrorKind,
};
use dispatchio_macros::ContentType;
use dispatchio_nats::{Nats, NatsConfig, NatsErrorKind, NatsExt};
use serde::{Deserialize, Serialize};

use crate::support::{Cluster, NatsServer};
use crate::within;

/// Generous bound for "this happens promptly".
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

/// The answer to an [`Ask`]: its number, and how many [`Num`]s the
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

fn config(server: &NatsServer, name: &str) -> NatsConfig {
    NatsConfig::new(server.url()).namespace("test").name(name).registry(registry())
}

/// What a counting listener saw.
#[derive(Clone, Default)]
struct Seen {
    nums: Arc<AtomicU64>,
    out_of_order: Arc<AtomicU64>,
}

/// Registers `me`: it checks that [`Num`]s come in order, answers an
/// [`Ask`] with an [`Ans`], and fails anything else with a handler error.
fn counting(d: &Dispatcher, me: &str) -> Seen {
    let seen = Seen::default();
    let table = RoutingTable::builder()
        .rule("num", Cond::type_is("Num"), [Action::call("num")])
        .rule("ask", Cond::type_is("Ask"), [Action::call("ask")])
        .rule("other", Cond::type_is("Text"), [Action::call("fail")])
        .build()
        .unwrap();
    let (nums, bad) = (seen.nums.clone(), seen.out_of_order.clone());
    let nums2 = seen.nums.clone();
    let listener = RoutedListener::builder(table)
        .handler("num", move |m: &Message| {
            let n = m.content_as::<Num>().ok_or_else(|| HandlerError::new("not a Num"))?.n;
            if nums.load(Ordering::SeqCst) != n {
                bad.fetch_add(1, Ordering::SeqCst);
            }
            nums.fetch_add(1, Ordering::SeqCst);
            Ok(Reply::Empty)
        })
        .handler("ask", move |m: &Message| {
            let n = m.content_as::<Ask>().ok_or_else(|| HandlerError::new("not an Ask"))?.n;
            Ok(Reply::with(Ans { n, seen: nums2.load(Ordering::SeqCst) }))
        })
        .handler("fail", |_: &Message| Err(HandlerError::new("no such thing")))
        .build()
        .unwrap();
    d.register(me.to_owned(), Arc::new(listener)).unwrap();
    seen
}

/// Waits (within the tests' bound) until `done` says so.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    within(what, async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

/// Two dispatchers on `server`: `bob` served by the second.
async fn pair(server: &NatsServer) -> (Dispatcher, Nats, Dispatcher, Nats, Seen) {
    let alice = Dispatcher::new();
    let a = alice.join_nats(config(server, "alice")).await.unwrap();
    let bob = Dispatcher::new();
    let seen = counting(&bob, "bob");
    let b = bob.join_nats(config(server, "bob")).await.unwrap();
    (alice, a, bob, b, seen)
}

#[tokio::test]
async fn a_request_reaches_a_listener_of_another_dispatcher_and_its_reply_comes_back() {
    let server = NatsServer::start().await;
    let (alice, _a, _bob, _b, _) = pair(&server).await;
    let reply =
        within("the request", alice.request(Message::new(Ask { n: 7 }).to("bob"), Some(PROMPTLY)))
            .await
            .unwrap();
    assert_eq!(reply.content_as::<Ans>(), Some(&Ans { n: 7, seen: 0 }));
}

#[tokio::test]
async fn a_listener_registered_after_join_is_served_once_synced() {
    let server = NatsServer::start().await;
    let alice = Dispatcher::new();
    let _a = alice.join_nats(config(&server, "alice")).await.unwrap();
    let carol = Dispatcher::new();
    let c = carol.join_nats(config(&server, "carol")).await.unwrap();
    counting(&carol, "late");
    c.sync().await;
    let reply = alice.request(Message::new(Ask { n: 1 }).to("late"), Some(PROMPTLY)).await.unwrap();
    assert_eq!(reply.content_as::<Ans>(), Some(&Ans { n: 1, seen: 0 }));
    carol.deregister("late").unwrap();
    c.sync().await;
    let gone = alice.request(Message::new(Ask { n: 2 }).to("late"), Some(PROMPTLY)).await;
    assert!(
        matches!(gone, Err(Error::UnknownDestination(ref d)) if d == &Id::from("late")),
        "{gone:?}"
    );
}

#[tokio::test]
async fn a_request_to_nobody_fails_at_once_as_an_unknown_destination() {
    let server = NatsServer::start().await;
    let alice = Dispatcher::new();
    let a = alice.join_nats(config(&server, "alice")).await.unwrap();
    let started = Instant::now();
    // A ten-minute timeout: only the server's no-responders answer ends it soon.
    let result = within(
        "a request to nobody",
        alice.request(Message::new(Ask { n: 1 }).to("nobody"), Some(Duration::from_secs(600))),
    )
    .await;
    assert!(
        matches!(result, Err(Error::UnknownDestination(ref d)) if d == &Id::from("nobody")),
        "{result:?}"
    );
    assert!(started.elapsed() < PROMPTLY);
    assert_eq!(a.stats().requests_unrouted, 1);
}

#[tokio::test]
async fn a_one_way_send_to_nobody_is_counted_unrouted() {
    let server = NatsServer::start().await;
    let alice = Dispatcher::new();
    let a = alice.join_nats(config(&server, "alice")).await.unwrap();
    alice.send(Message::new(Num { n: 0 }).to("nobody")).unwrap();
    within("the unrouted count", async {
        while a.stats().unrouted == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert_eq!(a.stats().unrouted, 1);
}

#[tokio::test]
async fn a_handler_error_reaches_the_sender_as_a_handler_error() {
    let server = NatsServer::start().await;
    let (alice, _a, _bob, _b, _) = pair(&server).await;
    let result = alice.request(Message::new(Text("x".into())).to("bob"), Some(PROMPTLY)).await;
    match result {
        Err(Error::Handler { handler, error }) => {
            assert_eq!(handler, "fail");
            assert_eq!(error.message(), "no such thing");
        }
        other => panic!("expected the handler's error, got {other:?}"),
    }
}

#[tokio::test]
async fn one_senders_messages_arrive_in_order_and_a_request_after_them_sees_them_all() {
    let server = NatsServer::start().await;
    let (alice, _a, _bob, _b, seen) = pair(&server).await;
    const N: u64 = 5_000;
    let me = alice.new_source();
    for n in 0..N {
        me.send(Message::new(Num { n }).to("bob")).unwrap();
        if n % 1000 == 999 {
            // Paces the sender within the publishing queue.
            let reply =
                me.request(Message::new(Ask { n }).to("bob"), Some(PROMPTLY)).await.unwrap();
            assert_eq!(reply.content_as::<Ans>(), Some(&Ans { n, seen: n + 1 }));
        }
    }
    assert_eq!(seen.nums.load(Ordering::SeqCst), N);
    assert_eq!(seen.out_of_order.load(Ordering::SeqCst), 0);
}

/// Registers `me`, which defers every request and hands its ID over.
fn deferring(d: &Dispatcher, me: &str) -> tokio::sync::mpsc::UnboundedReceiver<MessageId> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let table =
        RoutingTable::builder().rule("all", Cond::Always, [Action::call("defer")]).build().unwrap();
    let listener = RoutedListener::builder(table)
        .handler("defer", move |m: &Message| {
            let _ = tx.send(m.id());
            Ok(Reply::Defer)
        })
        .build()
        .unwrap();
    d.register(me.to_owned(), Arc::new(listener)).unwrap();
    rx
}

#[tokio::test]
async fn a_deferred_reply_given_later_reaches_the_remote_sender() {
    let server = NatsServer::start().await;
    let bob = Dispatcher::new();
    let mut deferred = deferring(&bob, "later");
    let _b = bob.join_nats(config(&server, "bob")).await.unwrap();
    let alice = Dispatcher::new();
    let _a = alice.join_nats(config(&server, "alice")).await.unwrap();
    let request = tokio::spawn({
        let alice = alice.clone();
        async move { alice.request(Message::new(Ask { n: 4 }).to("later"), Some(PROMPTLY)).await }
    });
    let id = within("the deferral", deferred.recv()).await.unwrap();
    bob.reply_with(id, Ans { n: 4, seen: 99 }).unwrap();
    let reply = within("the deferred reply", request).await.unwrap().unwrap();
    assert_eq!(reply.content_as::<Ans>(), Some(&Ans { n: 4, seen: 99 }));
}

#[tokio::test]
async fn a_request_never_answered_times_out_at_its_timeout() {
    let server = NatsServer::start().await;
    let bob = Dispatcher::new();
    let _deferred = deferring(&bob, "never");
    let _b = bob.join_nats(config(&server, "bob")).await.unwrap();
    let alice = Dispatcher::new();
    let _a = alice.join_nats(config(&server, "alice")).await.unwrap();
    let result = within(
        "the timeout",
        alice.request(Message::new(Ask { n: 1 }).to("never"), Some(Duration::from_millis(200))),
    )
    .await;
    assert!(matches!(result, Err(Error::Timeout { .. })), "{result:?}");
}

#[tokio::test]
async fn a_group_message_reaches_the_subscribers_of_every_other_dispatcher() {
    let server = NatsServer::start().await;
    let alice = Dispatcher::new();
    let _a = alice.join_nats(config(&server, "alice")).await.unwrap();
    let mut seen = Vec::new();
    let mut joined = Vec::new();
    for name in ["p1", "p2"] {
        let d = Dispatcher::new();
        seen.push(counting(&d, name));
        d.subscribe(name, "players").unwrap();
        joined.push((d.clone(), d.join_nats(config(&server, name)).await.unwrap()));
    }
    alice.send(Message::new(Num { n: 0 }).to_group("players")).unwrap();
    within("both players' greetings", async {
        while seen.iter().any(|s| s.nums.load(Ordering::SeqCst) == 0) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn a_frame_that_does_not_decode_is_counted_and_the_dispatcher_carries_on() {
    let server = NatsServer::start().await;
    let (alice, _a, _bob, b, _) = pair(&server).await;
    let other = server.client().await;
    other.publish("test.d.s.bob", "not a frame".into()).await.unwrap();
    crate::support::round_trip(&other).await;
    within("the bad frame's count", async {
        while b.stats().bad_frames == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let reply = alice.request(Message::new(Ask { n: 3 }).to("bob"), Some(PROMPTLY)).await.unwrap();
    assert_eq!(reply.content_as::<Ans>(), Some(&Ans { n: 3, seen: 0 }));
}

#[tokio::test]
async fn a_wrong_password_is_a_refused_error_at_join() {
    let server = NatsServer::start_with(&["--user", "dealer", "--pass", "right"]).await;
    let d = Dispatcher::new();
    let e =
        within("join_nats", d.join_nats(config(&server, "d").user_and_password("dealer", "wrong")))
            .await
            .unwrap_err();
    assert_eq!(e.kind(), NatsErrorKind::Refused, "{e}");
    assert!(e.to_string().contains(server.url()), "{e}");
    // And the right one joins.
    d.join_nats(config(&server, "d").user_and_password("dealer", "right")).await.unwrap();
}

#[tokio::test]
async fn a_wrong_token_is_a_refused_error_at_join() {
    let server = NatsServer::start_with(&["--auth", "s3cret"]).await;
    let d = Dispatcher::new();
    let e =
        within("join_nats", d.join_nats(config(&server, "d").token("guess"))).await.unwrap_err();
    assert_eq!(e.kind(), NatsErrorKind::Refused, "{e}");
    d.join_nats(config(&server, "d").token("s3cret")).await.unwrap();
}

#[tokio::test]
async fn a_server_nobody_runs_is_an_unreachable_error_at_join_not_a_hang() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let d = Dispatcher::new();
    let config = NatsConfig::new(format!("nats://127.0.0.1:{port}"))
        .connect_timeout(Duration::from_millis(500));
    let e = within("join_nats", d.join_nats(config)).await.unwrap_err();
    assert!(matches!(e.kind(), NatsErrorKind::Unreachable | NatsErrorKind::Timeout), "{e:?}");
}

#[tokio::test]
async fn a_bad_namespace_is_an_error_at_join() {
    let d = Dispatcher::new();
    let e = d.join_nats(NatsConfig::new("nats://127.0.0.1:1").namespace("a b")).await.unwrap_err();
    assert_eq!(e.kind(), NatsErrorKind::Namespace, "{e}");
}

#[tokio::test]
async fn shutdown_leaves_no_subscription_on_the_server() {
    let server = NatsServer::start().await;
    let (alice, _a, bob, _b, _) = pair(&server).await;
    bob.shutdown().await;
    let result = within("the request after shutdown", async {
        loop {
            let r = alice.request(Message::new(Ask { n: 1 }).to("bob"), Some(PROMPTLY)).await;
            // Until bob's subscriptions are drained, bob answers that it
            // has shut down.
            let draining = matches!(&r, Err(Error::Transport(t)) if t.kind() == TransportErrorKind::PeerShutdown);
            if !draining {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(matches!(result, Err(Error::UnknownDestination(_))), "{result:?}");
}

#[tokio::test]
async fn dispatchers_on_different_servers_of_a_cluster_reach_each_other() {
    let cluster = Cluster::start().await;
    let [s0, s1, _] = cluster.servers() else { unreachable!() };
    let alice = Dispatcher::new();
    let _a = alice.join_nats(config(s0, "alice")).await.unwrap();
    let bob = Dispatcher::new();
    counting(&bob, "bob");
    let _b = bob.join_nats(config(s1, "bob")).await.unwrap();
    // Interest crosses the route a moment after bob's server has it.
    let reply = within("a reply across the cluster", async {
        loop {
            match alice.request(Message::new(Ask { n: 5 }).to("bob"), Some(PROMPTLY)).await {
                Err(Error::UnknownDestination(_)) => {
                    tokio::time::sleep(Duration::from_millis(20)).await
                }
                other => return other,
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(reply.content_as::<Ans>(), Some(&Ans { n: 5, seen: 0 }));
}

#[tokio::test]
async fn a_lost_connection_fails_the_requests_waiting_on_it_with_a_clear_error() {
    let server = NatsServer::start().await;
    let bob = Dispatcher::new();
    let mut deferred = deferring(&bob, "later");
    let _b = bob.join_nats(config(&server, "bob")).await.unwrap();
    let alice = Dispatcher::new();
    let a = alice.join_nats(config(&server, "alice")).await.unwrap();
    let request = tokio::spawn({
        let alice = alice.clone();
        async move {
            alice
                .request(Message::new(Ask { n: 1 }).to("later"), Some(Duration::from_secs(600)))
                .await
        }
    });
    within("the deferral", deferred.recv()).await.unwrap();
    drop(server); // killed: the reply can never come
    let result = within("the failed request", request).await.unwrap();
    match result {
        Err(Error::Transport(t)) => {
            assert_eq!(t.kind(), TransportErrorKind::PeerLost, "{t}");
            assert!(t.to_string().contains("connection to NATS was lost"), "{t}");
        }
        other => panic!("expected the lost connection, got {other:?}"),
    }
    assert_eq!(a.stats().requests_failed_disconnected, 1);
}

mod claims;
mod credentials;
mod durable;
mod durable_cluster;
mod durable_groups;
mod groups;
mod processes;

#[tokio::test]
async fn a_dispatcher_whose_cluster_node_dies_mid_stream_reconnects_to_another_and_is_reached_again()
 {
    let mut cluster = Cluster::start().await;
    let urls: Vec<String> = cluster.servers().iter().map(|s| s.url().to_owned()).collect();
    let alice = Dispatcher::new();
    let _a = alice.join_nats(config(&cluster.servers()[0], "alice")).await.unwrap();
    let bob = Dispatcher::new();
    let seen = counting(&bob, "bob");
    let b = bob.join_nats(config(&cluster.servers()[1], "bob").url(urls[2].clone())).await.unwrap();
    let ask = |n| alice.request(Message::new(Ask { n }).to("bob"), Some(PROMPTLY));
    let reached = || async {
        loop {
            match ask(0).await {
                Err(Error::UnknownDestination(_)) | Err(Error::Timeout { .. }) => {
                    tokio::time::sleep(Duration::from_millis(20)).await
                }
                other => return other,
            }
        }
    };
    within("bob across the cluster", reached()).await.unwrap();
    // Mid-stream: messages on their way while bob's node dies.
    for n in 0..1000 {
        alice.send(Message::new(Num { n }).to("bob")).unwrap();
    }
    let port = b.client().server_info().port;
    let dead = urls.iter().position(|u| u.ends_with(&format!(":{port}"))).unwrap();
    assert_ne!(dead, 0, "bob is on node 1 or 2, not alice's");
    cluster.kill(dead);
    for n in 1000..2000 {
        alice.send(Message::new(Num { n }).to("bob")).unwrap();
    }
    // bob reconnects to the other node it was given, and is reached there.
    let reply = within("bob again, through another node", reached()).await.unwrap();
    let after = reply.content_as::<Ans>().unwrap().seen;
    assert!(b.stats().disconnects >= 1, "{:?}", b.stats());
    let now = b.client().server_info().port;
    assert_ne!(now, port, "bob reconnected to another node");
    assert!(urls.iter().any(|u| u.ends_with(&format!(":{now}"))));
    // Nothing counted twice: at most what was sent arrived.
    assert!(after <= 2000 && seen.nums.load(Ordering::SeqCst) == after, "{after}");
}

/// A server that admits the user with NKey `public` alone.
async fn nkey_server(public: &str) -> (NatsServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("nkey.conf");
    std::fs::write(&conf, format!("authorization {{ users = [ {{ nkey: \"{public}\" }} ] }}\n"))
        .unwrap();
    let server = NatsServer::start_with(&["-c", conf.to_str().unwrap()]).await;
    (server, dir)
}

#[tokio::test]
async fn an_nkey_seed_is_passed_through_and_a_wrong_one_is_refused_at_join() {
    let user = nkeys::KeyPair::new_user();
    let (server, _dir) = nkey_server(&user.public_key()).await;
    let seed = user.seed().unwrap();
    let bob = Dispatcher::new();
    counting(&bob, "bob");
    let _b = bob.join_nats(config(&server, "bob").nkey(seed.clone())).await.unwrap();
    let alice = Dispatcher::new();
    let _a = alice.join_nats(config(&server, "alice").nkey(seed)).await.unwrap();
    let reply = alice.request(Message::new(Ask { n: 2 }).to("bob"), Some(PROMPTLY)).await;
    assert_eq!(reply.unwrap().content_as::<Ans>(), Some(&Ans { n: 2, seen: 0 }));
    let stranger = nkeys::KeyPair::new_user().seed().unwrap();
    let e = within("join_nats", Dispatcher::new().join_nats(config(&server, "s").nkey(stranger)))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), NatsErrorKind::Refused, "{e}");
}

#[tokio::test]
async fn tls_settings_are_passed_through_and_a_server_certificate_not_trusted_is_a_tls_error() {
    let dir = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let (cert, key) = (dir.path().join("server.pem"), dir.path().join("server.key"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.key_pair.serialize_pem()).unwrap();
    let server = NatsServer::start_with(&[
        "--tls",
        "--tlscert",
        cert.to_str().unwrap(),
        "--tlskey",
        key.to_str().unwrap(),
    ])
    .await;
    let tls = |name: &str| config(&server, name).require_tls(true).tls_root_certificates(&cert);
    let bob = Dispatcher::new();
    counting(&bob, "bob");
    let _b = within("bob's join over TLS", bob.join_nats(tls("bob"))).await.unwrap();
    let alice = Dispatcher::new();
    let _a = within("alice's join over TLS", alice.join_nats(tls("alice"))).await.unwrap();
    let reply = alice.request(Message::new(Ask { n: 3 }).to("bob"), Some(PROMPTLY)).await;
    assert_eq!(reply.unwrap().content_as::<Ans>(), Some(&Ans { n: 3, seen: 0 }));
    // Without the certificate among its roots, the client refuses the server.
    let untrusting = config(&server, "s").require_tls(true).connect_timeout(Duration::from_secs(2));
    let e = within("join_nats", Dispatcher::new().join_nats(untrusting)).await.unwrap_err();
    assert_eq!(e.kind(), NatsErrorKind::Tls, "{e:?}");
}
