//! JetStream mode (`Delivery::JetStream`): messages to destinations through
//! the namespace's stream, acknowledged once handled; a listener's process
//! killed mid-stream gets again what it had not acknowledged; duplicates
//! removed by `Nats-Msg-Id`; bad frames terminated.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use async_nats::jetstream;
use dispatchio_nats::{Delivery, Namespace};
use futures::StreamExt;

use super::processes::ChildProcess;
use super::*;

/// The ack wait of the tests' dispatchers: what a killed dispatcher had
/// been given comes again this long after.
pub(super) const ACK_WAIT: Duration = Duration::from_millis(800);

pub(super) fn durable(server: &NatsServer, name: &str) -> NatsConfig {
    config(server, name).delivery(Delivery::JetStream).ack_wait(ACK_WAIT)
}

/// Two dispatchers in JetStream mode on `server`: `bob` served by the second.
async fn durable_pair(server: &NatsServer) -> (Dispatcher, Nats, Dispatcher, Nats, Seen) {
    let alice = Dispatcher::new();
    let a = alice.join_nats(durable(server, "alice")).await.unwrap();
    let bob = Dispatcher::new();
    let seen = counting(&bob, "bob");
    let b = bob.join_nats(durable(server, "bob")).await.unwrap();
    (alice, a, bob, b, seen)
}

/// The consumer of dispatcher `name` in the namespace `test`, as the
/// server sees it now.
pub(super) async fn consumer_info(
    js: &jetstream::Context,
    name: &str,
) -> jetstream::consumer::Info {
    let stream = js.get_stream("dispatchio-test").await.unwrap();
    let mut consumer: jetstream::consumer::PullConsumer = stream.get_consumer(name).await.unwrap();
    consumer.info().await.unwrap().clone()
}

#[tokio::test]
async fn one_way_messages_and_a_request_go_through_the_stream_in_order_and_are_acknowledged() {
    let server = NatsServer::start().await;
    let (alice, a, _bob, b, seen) = durable_pair(&server).await;
    const N: u64 = 500;
    for n in 0..N {
        alice.send(Message::new(Num { n }).to("bob")).unwrap();
    }
    let reply =
        within("the request", alice.request(Message::new(Ask { n: N }).to("bob"), Some(PROMPTLY)))
            .await
            .unwrap();
    assert_eq!(reply.content_as::<Ans>(), Some(&Ans { n: N, seen: N }));
    assert_eq!(seen.out_of_order.load(Ordering::SeqCst), 0);
    // Every message was stored by the stream and acknowledged by bob.
    until("the stream's acknowledgements", || a.stats().stored == N + 1).await;
    until("bob's acknowledgements", || b.stats().acked == N + 1).await;
    let js = jetstream::new(server.client().await);
    within("nothing left owed", async {
        loop {
            let info = consumer_info(&js, "bob").await;
            if info.num_ack_pending == 0 && info.num_pending == 0 {
                assert_eq!(info.delivered.stream_sequence, N + 1);
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert_eq!(b.stats().redelivered, 0);
}

#[tokio::test]
async fn a_request_to_an_id_nobody_holds_fails_at_once_in_jetstream_mode() {
    let server = NatsServer::start().await;
    let alice = Dispatcher::new();
    let a = alice.join_nats(durable(&server, "alice")).await.unwrap();
    let result = within(
        "a request to nobody",
        alice.request(Message::new(Ask { n: 1 }).to("nobody"), Some(Duration::from_secs(600))),
    )
    .await;
    assert!(
        matches!(result, Err(Error::UnknownDestination(ref d)) if d == &Id::from("nobody")),
        "{result:?}"
    );
    alice.send(Message::new(Num { n: 0 }).to("nobody")).unwrap();
    until("the unrouted count", || a.stats().unrouted == 1).await;
    assert_eq!(a.stats().stored, 0, "nothing went into the stream");
}

#[tokio::test]
async fn a_republished_message_is_removed_by_its_message_id_and_handled_once() {
    let server = NatsServer::start().await;
    let (alice, _a, _bob, b, seen) = durable_pair(&server).await;
    // What alice publishes into the stream, seen on the way (a plain
    // subscription sees what is published to a stream's subject).
    let spy = server.client().await;
    let mut published = spy.subscribe("test.n.bob.>").await.unwrap();
    crate::support::round_trip(&spy).await;
    alice.send(Message::new(Num { n: 0 }).to("bob")).unwrap();
    let original = within("alice's message", published.next()).await.unwrap();
    assert_eq!(original.subject.as_str(), "test.n.bob.d.s.bob");
    let headers = original.headers.clone().unwrap();
    let msg_id = headers
        .get(async_nats::header::NATS_MESSAGE_ID)
        .unwrap_or_else(|| panic!("{headers:?}"))
        .to_string();
    let parts: Vec<&str> = msg_id.split('.').collect();
    assert!(parts.len() == 3 && parts[0] == "alice" && !parts[1].is_empty(), "{msg_id}");
    // The sender publishing it again (a lost acknowledgement, say): the
    // stream takes it for what it is, a duplicate.
    let js = jetstream::new(server.client().await);
    let ack = js
        .publish_with_headers(original.subject.to_string(), headers, original.payload.clone())
        .await
        .unwrap()
        .await
        .unwrap();
    assert!(ack.duplicate, "{ack:?}");
    let reply = alice.request(Message::new(Ask { n: 1 }).to("bob"), Some(PROMPTLY)).await.unwrap();
    assert_eq!(reply.content_as::<Ans>(), Some(&Ans { n: 1, seen: 1 }));
    // Later than a redelivery could come: still once.
    tokio::time::sleep(ACK_WAIT * 2).await;
    assert_eq!(seen.nums.load(Ordering::SeqCst), 1);
    assert_eq!(b.stats().acked, 2);
}

#[tokio::test]
async fn a_bad_frame_on_a_stream_subject_is_counted_terminated_and_the_consumer_carries_on() {
    let server = NatsServer::start().await;
    let (alice, _a, _bob, b, seen) = durable_pair(&server).await;
    let js = jetstream::new(server.client().await);
    js.publish("test.n.bob.d.s.bob", "not a frame".into()).await.unwrap().await.unwrap();
    alice.send(Message::new(Num { n: 0 }).to("bob")).unwrap();
    let reply = alice.request(Message::new(Ask { n: 1 }).to("bob"), Some(PROMPTLY)).await.unwrap();
    assert_eq!(reply.content_as::<Ans>(), Some(&Ans { n: 1, seen: 1 }));
    until("the bad frame counted", || b.stats().bad_frames == 1).await;
    // Terminated, not left to come back after every ack wait.
    tokio::time::sleep(ACK_WAIT * 3).await;
    let info = consumer_info(&js, "bob").await;
    assert_eq!(
        (info.num_ack_pending, info.num_redelivered, info.num_pending),
        (0, 0, 0),
        "{info:?}"
    );
    assert_eq!(b.stats().bad_frames, 1);
    assert_eq!(b.stats().redelivered, 0);
    assert_eq!(seen.nums.load(Ordering::SeqCst), 1);
}

/// The child's environment: the server's URL, and from which number on
/// its listener never finishes (its messages are given, never acknowledged).
const CHILD_URL: &str = "DISPATCHIO_NATS_TEST_DURABLE_CHILD_URL";
const CHILD_STUCK_AT: &str = "DISPATCHIO_NATS_TEST_DURABLE_CHILD_STUCK_AT";
/// The child's ack wait, in milliseconds ([`ACK_WAIT`] when unset).
const CHILD_ACK_WAIT_MS: &str = "DISPATCHIO_NATS_TEST_DURABLE_CHILD_ACK_WAIT_MS";
/// A group the child's `worker` subscribes to (none when unset).
const CHILD_GROUP: &str = "DISPATCHIO_NATS_TEST_DURABLE_CHILD_GROUP";

/// Not a test of its own: the body of the child processes of the test
/// below (see `processes::child_dispatcher`). Its listener `worker` prints
/// `got <n>` for each [`Num`] it handles.
#[test]
#[ignore = "the child process of the JetStream tests across processes, started by them"]
fn durable_child_dispatcher() {
    let Ok(url) = std::env::var(CHILD_URL) else { return };
    let stuck_at: u64 = std::env::var(CHILD_STUCK_AT).map_or(u64::MAX, |s| s.parse().unwrap());
    let ack_wait = std::env::var(CHILD_ACK_WAIT_MS)
        .map_or(ACK_WAIT, |ms| Duration::from_millis(ms.parse().unwrap()));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let d = Dispatcher::new();
        let table = RoutingTable::builder()
            .rule("num", Cond::type_is("Num"), [Action::call_async("num")])
            .build()
            .unwrap();
        let listener = RoutedListener::builder(table)
            .async_handler("num", move |m: Message| async move {
                let n = m.content_as::<Num>().unwrap().n;
                if n >= stuck_at {
                    std::future::pending::<()>().await;
                }
                use std::io::Write;
                let mut out = std::io::stdout().lock();
                writeln!(out, "got {n}").unwrap();
                out.flush().unwrap();
                Ok(Reply::Empty)
            })
            .build()
            .unwrap();
        d.register("worker", Arc::new(listener)).unwrap();
        if let Ok(group) = std::env::var(CHILD_GROUP) {
            d.subscribe("worker", group).unwrap();
        }
        let config = NatsConfig::new(url)
            .namespace("test")
            .name("child")
            .registry(registry())
            .delivery(Delivery::JetStream)
            .ack_wait(ack_wait);
        let _nats = d.join_nats(config).await.unwrap();
        println!("ready");
        std::future::pending::<()>().await;
    });
}

/// Starts a [`durable_child_dispatcher`] (its `worker` a member of `group`,
/// if given); returns once it has joined, with the numbers it prints as it
/// handles them.
pub(super) fn spawn_durable_child(
    url: &str,
    stuck_at: Option<u64>,
    ack_wait: Duration,
    group: Option<&str>,
) -> (ChildProcess, std::sync::mpsc::Receiver<u64>) {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "--exact",
            "transport::durable::durable_child_dispatcher",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD_URL, url)
        .env(CHILD_ACK_WAIT_MS, ack_wait.as_millis().to_string())
        .stdout(Stdio::piped());
    if let Some(n) = stuck_at {
        command.env(CHILD_STUCK_AT, n.to_string());
    }
    if let Some(group) = group {
        command.env(CHILD_GROUP, group);
    }
    let mut child = command.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let child = ChildProcess(child);
    let (tx, rx) = std::sync::mpsc::channel();
    let (ready_tx, ready) = std::sync::mpsc::channel();
    // Read from the start: what the stream gives a restarted child comes
    // while it joins, printed before its "ready".
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            match line.trim().strip_prefix("got ") {
                Some(n) => {
                    let _ = tx.send(n.parse().unwrap());
                }
                None if line.trim() == "ready" => {
                    let _ = ready_tx.send(());
                }
                None => {}
            }
        }
    });
    assert!(ready.recv().is_ok(), "the child dispatcher ended before it joined");
    (child, rx)
}

/// Collects what the child handles until it has handled `count` numbers
/// in all.
pub(super) async fn handled(
    rx: &std::sync::mpsc::Receiver<u64>,
    into: &mut BTreeMap<u64, u32>,
    count: usize,
) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while into.len() < count {
        match rx.try_recv() {
            Ok(n) => *into.entry(n).or_default() += 1,
            Err(std::sync::mpsc::TryRecvError::Empty) => {
                let (first, last) = (into.keys().next(), into.keys().next_back());
                assert!(
                    Instant::now() < deadline,
                    "the child handled {} of {count} messages within 30 s ({first:?}..={last:?})",
                    into.len()
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            Err(e) => panic!("the child stopped printing: {e}"),
        }
    }
}

#[tokio::test]
async fn a_listener_killed_mid_stream_gets_every_unacknowledged_message_again_at_once_after_restart()
 {
    killed_mid_stream_and_restarted(None).await;
}

/// A child's `worker` (a member of `group`, if given, and then sent to as
/// one) handles 300 of 600 messages, the rest given and never finished,
/// and is killed with SIGKILL; 200 more are sent while it is dead; then it
/// is restarted under the same name. It must handle exactly the 500 it had
/// not acknowledged, each once, none of the 300, at once (well within its
/// 60 s ack wait), and owe nothing afterwards.
pub(super) async fn killed_mid_stream_and_restarted(group: Option<&'static str>) {
    let server = NatsServer::start().await;
    let url = server.url().to_owned();
    const STUCK_AT: u64 = 300;
    const SENT_BEFORE: u64 = 600;
    const SENT_WHILE_DEAD: u64 = 200;
    // Far longer than the test: what the first life was given can only
    // come again at once, from the consumer made again at the restart.
    const LONG_ACK_WAIT: Duration = Duration::from_secs(60);
    let consumer = match group {
        Some(g) => Namespace::group_consumer_name("child", &Id::from(g)),
        None => Namespace::consumer_name("child"),
    };
    let (mut first, rx) = tokio::task::spawn_blocking({
        let url = url.clone();
        move || spawn_durable_child(&url, Some(STUCK_AT), LONG_ACK_WAIT, group)
    })
    .await
    .unwrap();
    let alice = Dispatcher::new();
    let a = alice.join_nats(durable(&server, "alice")).await.unwrap();
    let send = |n| {
        let m = Message::new(Num { n });
        alice.send(match group {
            Some(g) => m.to_group(g),
            None => m.to("worker"),
        })
    };
    if let Some(g) = group {
        super::groups::roster_shows(&a, g, &["child"]).await;
    }
    for n in 0..SENT_BEFORE {
        send(n).unwrap();
    }
    // The first life handles 0..STUCK_AT and acknowledges them; what comes
    // after is given to it and never finished.
    let mut first_life = BTreeMap::new();
    handled(&rx, &mut first_life, STUCK_AT as usize).await;
    let js = jetstream::new(server.client().await);
    within("the first life's acknowledgements", async {
        while consumer_info(&js, &consumer).await.ack_floor.stream_sequence < STUCK_AT {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(
        consumer_info(&js, &consumer).await.num_ack_pending > 0,
        "messages were given and not acknowledged"
    );
    first.0.kill().unwrap();
    first.0.wait().unwrap();
    // Past the sender's refresh of the holder: asked again while the holder
    // is dead, it is kept.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    // Sent while the listener's process is dead: kept for it.
    for n in SENT_BEFORE..SENT_BEFORE + SENT_WHILE_DEAD {
        send(n).unwrap();
    }
    until("the stream's acknowledgements", || a.stats().stored == SENT_BEFORE + SENT_WHILE_DEAD)
        .await;
    let restarted = Instant::now();
    let (_second, rx) =
        tokio::task::spawn_blocking(move || spawn_durable_child(&url, None, LONG_ACK_WAIT, group))
            .await
            .unwrap();
    let owed = (SENT_BEFORE + SENT_WHILE_DEAD - STUCK_AT) as usize;
    let mut second_life = BTreeMap::new();
    handled(&rx, &mut second_life, owed).await;
    // A behaviour bound, not a benchmark: a quarter of the ack wait.
    assert!(
        restarted.elapsed() < LONG_ACK_WAIT / 4,
        "the owed messages came {:?} after the restart, not at once",
        restarted.elapsed()
    );
    // Nothing owed any more: every message acknowledged, and so gone from
    // the (work-queue) stream; nothing given twice meanwhile.
    within("nothing left owed", async {
        loop {
            let info = consumer_info(&js, &consumer).await;
            if info.num_ack_pending == 0 && info.num_pending == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let mut stream = js.get_stream("dispatchio-test").await.unwrap();
    assert_eq!(stream.info().await.unwrap().state.messages, 0);
    tokio::time::sleep(Duration::from_millis(500)).await;
    while let Ok(n) = rx.try_recv() {
        *second_life.entry(n).or_default() += 1;
    }
    let expected: Vec<u64> = (STUCK_AT..SENT_BEFORE + SENT_WHILE_DEAD).collect();
    assert_eq!(
        second_life.keys().copied().collect::<Vec<_>>(),
        expected,
        "every unacknowledged message, none acknowledged before"
    );
    let twice: Vec<_> = second_life.iter().filter(|(_, c)| **c > 1).collect();
    assert!(twice.is_empty(), "handled twice: {twice:?}");
    assert_eq!(first_life.keys().copied().collect::<Vec<_>>(), (0..STUCK_AT).collect::<Vec<_>>());
    assert_eq!(a.stats().store_failed, 0);
}

/// A [`durable_pair`] whose `bob` has answered one request: alice has
/// heard who holds "bob".
async fn bob_served_once(server: &NatsServer) -> (Dispatcher, Nats, Dispatcher, Nats) {
    let (alice, a, bob, b, _) = durable_pair(server).await;
    let reply = alice.request(Message::new(Ask { n: 1 }).to("bob"), Some(PROMPTLY)).await.unwrap();
    assert_eq!(reply.content_as::<Ans>(), Some(&Ans { n: 1, seen: 0 }));
    (alice, a, bob, b)
}

/// Sends to "bob" until alice counts a send unrouted.
async fn send_until_unrouted(alice: &Dispatcher, a: &Nats) {
    within("sends to bob unrouted", async {
        while a.stats().unrouted == 0 {
            alice.send(Message::new(Num { n: 0 }).to("bob")).unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn after_a_holder_shuts_down_sends_to_its_ids_become_unrouted_not_stored_for_it() {
    let server = NatsServer::start().await;
    let (alice, a, bob, _b) = bob_served_once(&server).await;
    bob.shutdown().await;
    // Its leaving note makes alice forget the holder (what is sent before
    // the note arrives waits in the stream for bob's next life).
    send_until_unrouted(&alice, &a).await;
    let gone = within(
        "a request after the holder left",
        alice.request(Message::new(Ask { n: 2 }).to("bob"), Some(Duration::from_secs(600))),
    )
    .await;
    assert!(matches!(gone, Err(Error::UnknownDestination(_))), "{gone:?}");
}

#[tokio::test]
async fn core_and_jetstream_dispatchers_reach_each_other_in_one_namespace() {
    let server = NatsServer::start().await;
    let alice = Dispatcher::new();
    let a = alice.join_nats(durable(&server, "alice")).await.unwrap();
    counting(&alice, "alice-l");
    let bob = Dispatcher::new();
    counting(&bob, "bob");
    let _b = bob.join_nats(config(&server, "bob")).await.unwrap();
    // A JetStream-mode sender to a core-mode holder: on the destination
    // subject (the holder reads no stream).
    let reply = alice.request(Message::new(Ask { n: 1 }).to("bob"), Some(PROMPTLY)).await.unwrap();
    assert_eq!(reply.content_as::<Ans>(), Some(&Ans { n: 1, seen: 0 }));
    assert_eq!(a.stats().stored, 0);
    // And the other way: a JetStream-mode holder still serves its
    // destination subject.
    let reply =
        bob.request(Message::new(Ask { n: 2 }).to("alice-l"), Some(PROMPTLY)).await.unwrap();
    assert_eq!(reply.content_as::<Ans>(), Some(&Ans { n: 2, seen: 0 }));
}

#[tokio::test]
async fn a_message_whose_handler_outlasts_the_ack_wait_is_handled_once() {
    let server = NatsServer::start().await;
    let alice = Dispatcher::new();
    let _a = alice.join_nats(durable(&server, "alice")).await.unwrap();
    let bob = Dispatcher::new();
    let handled = Arc::new(AtomicU64::new(0));
    let table = RoutingTable::builder()
        .rule("slow", Cond::type_is("Num"), [Action::call_async("slow")])
        .build()
        .unwrap();
    let count = handled.clone();
    let listener = RoutedListener::builder(table)
        .async_handler("slow", move |_: Message| {
            let count = count.clone();
            async move {
                tokio::time::sleep(ACK_WAIT * 3).await;
                count.fetch_add(1, Ordering::SeqCst);
                Ok(Reply::Empty)
            }
        })
        .build()
        .unwrap();
    bob.register("slow", Arc::new(listener)).unwrap();
    let b = bob.join_nats(durable(&server, "bob")).await.unwrap();
    alice.send(Message::new(Num { n: 0 }).to("slow")).unwrap();
    until("the slow message acknowledged", || b.stats().acked == 1).await;
    // JetStream gave it again while it was handled: marked in progress.
    assert!(b.stats().redelivered >= 1, "{:?}", b.stats());
    tokio::time::sleep(ACK_WAIT * 3).await;
    assert_eq!(handled.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn joining_in_jetstream_mode_a_server_without_jetstream_is_a_jetstream_error() {
    // The harness starts every server with `-js`; a later `-js=false` wins.
    let server = NatsServer::start_with(&["-js=false"]).await;
    let d = Dispatcher::new();
    let started = Instant::now();
    let err = within("a join without JetStream", d.join_nats(durable(&server, "alice")))
        .await
        .expect_err("the server has no JetStream");
    assert_eq!(err.kind(), NatsErrorKind::JetStream, "{err}");
    assert!(err.to_string().contains("dispatchio-test"), "names the stream: {err}");
    assert!(started.elapsed() < PROMPTLY);
    // Nothing of the failed join is left: the dispatcher can join in core mode.
    d.join_nats(config(&server, "alice")).await.unwrap();
}

#[tokio::test]
async fn a_holder_that_deregisters_an_id_is_forgotten_and_sends_to_it_become_unrouted() {
    let server = NatsServer::start().await;
    let (alice, a, bob, b) = bob_served_once(&server).await;
    bob.deregister("bob").unwrap();
    b.sync().await;
    // bob is still there, without "bob": once alice asks again (at most a
    // second on), she forgets it as the holder.
    send_until_unrouted(&alice, &a).await;
    // What went to bob's stream meanwhile reached bob, which no longer
    // serves it: counted there, acknowledged.
    until("bob's count of what it could not deliver", || {
        b.stats().undeliverable == a.stats().stored - 1
    })
    .await;
}

/// Registers `me`, whose handler of a [`Num`] never finishes: what it is
/// given stays owed.
pub(super) fn stuck(d: &Dispatcher, me: &str) {
    let table = RoutingTable::builder()
        .rule("num", Cond::type_is("Num"), [Action::call_async("stuck")])
        .build()
        .unwrap();
    let stuck = RoutedListener::builder(table)
        .async_handler("stuck", |_: Message| std::future::pending())
        .build()
        .unwrap();
    d.register(me.to_owned(), Arc::new(stuck)).unwrap();
}

#[tokio::test]
async fn a_consumer_owed_messages_is_left_alone_when_a_dispatcher_of_its_name_is_up() {
    let server = NatsServer::start().await;
    let alice = Dispatcher::new();
    let _a = alice.join_nats(durable(&server, "alice")).await.unwrap();
    // bob's listener never finishes: what it is given stays owed.
    let bob = Dispatcher::new();
    stuck(&bob, "bob");
    let _b =
        bob.join_nats(durable(&server, "bob").ack_wait(Duration::from_secs(60))).await.unwrap();
    alice.send(Message::new(Num { n: 0 }).to("bob")).unwrap();
    let js = jetstream::new(server.client().await);
    within("bob given the message", async {
        while consumer_info(&js, "bob").await.num_ack_pending == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    let before = consumer_info(&js, "bob").await.created;
    // Another dispatcher joining under bob's name, while bob is up, with
    // another ack wait: not a previous life, so bob's consumer stays.
    let twin = Dispatcher::new();
    let _t = twin.join_nats(durable(&server, "bob")).await.unwrap();
    let after = consumer_info(&js, "bob").await;
    assert_eq!(after.created, before, "the consumer was not made again");
    assert_eq!(after.num_ack_pending, 1, "{after:?}");
}
