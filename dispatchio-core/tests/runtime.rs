//! The runtime's semantics, one module per numbered semantic of
//! ARCHITECTURE.md, plus the transport seam. One test binary on purpose
//! (link time on small machines).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dispatchio_core::routing::{Action, Cond, Field, RoutingTable};
use dispatchio_core::transport::{DirectoryChange, Outlet};
use dispatchio_core::{
    Delivery, Dispatcher, Empty, Error, ErrorKind, HandlerError, Hooks, Id, Listener, Message,
    Outcome, Reply, ReplySender, RoutedListener, SyncError, Text, TransportError,
    TransportErrorKind,
};

/// A listener that queues everything in "inbox".
fn inbox() -> Arc<RoutedListener<RoutingTable, dispatchio_core::FnHandlers>> {
    let table = RoutingTable::builder()
        .rule("all", Cond::Always, [Action::queue("inbox")])
        .build()
        .unwrap();
    Arc::new(RoutedListener::builder(table).build().unwrap())
}

/// A listener whose one rule calls the synchronous handler `f`.
fn calling(
    name: &'static str,
    f: impl Fn(&Message) -> dispatchio_core::HandlerResult + Send + Sync + 'static,
) -> Arc<RoutedListener<RoutingTable, dispatchio_core::FnHandlers>> {
    let table =
        RoutingTable::builder().rule("all", Cond::Always, [Action::call(name)]).build().unwrap();
    Arc::new(RoutedListener::builder(table).handler(name, f).build().unwrap())
}

/// A listener whose one rule calls the asynchronous handler `f`.
fn calling_async<F, Fut>(
    name: &'static str,
    f: F,
) -> Arc<RoutedListener<RoutingTable, dispatchio_core::FnHandlers>>
where
    F: Fn(Message) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = dispatchio_core::HandlerResult> + Send + 'static,
{
    let table = RoutingTable::builder()
        .rule("all", Cond::Always, [Action::call_async(name)])
        .build()
        .unwrap();
    Arc::new(RoutedListener::builder(table).async_handler(name, f).build().unwrap())
}

/// A listener that answers every message with its own content.
fn echo() -> Arc<RoutedListener<RoutingTable, dispatchio_core::FnHandlers>> {
    calling("echo", |m: &Message| Ok(Reply::Content(m.content().clone())))
}

/// A listener that logs the text of every message, except `Hold`, whose
/// reply it defers (sent blocking, it holds the listener's mailbox).
fn logging(log: Arc<Mutex<Vec<String>>>) -> Arc<dyn Listener> {
    let table = RoutingTable::builder()
        .rule("hold", Cond::type_is("Hold"), [Action::call("hold")])
        .otherwise([Action::call("log")])
        .build()
        .unwrap();
    let l = RoutedListener::builder(table)
        .handler("hold", |_: &Message| Ok(Reply::Defer))
        .handler("log", move |m: &Message| {
            let t = m.content_as::<Text>().map_or_else(String::new, |t| t.0.clone());
            log.lock().unwrap().push(t);
            Ok(Reply::Empty)
        })
        .build()
        .unwrap();
    Arc::new(l)
}

/// A listener whose async handler counts a message as started, waits for a
/// permit of `gate`, then counts it as done.
fn gated(
    gate: Arc<tokio::sync::Semaphore>,
) -> (Arc<dyn Listener>, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let (started, done) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (s, d) = (started.clone(), done.clone());
    let l = calling_async("work", move |_m: Message| {
        let (g, s, d) = (gate.clone(), s.clone(), d.clone());
        async move {
            s.fetch_add(1, Ordering::SeqCst);
            let _permit = g.acquire().await;
            d.fetch_add(1, Ordering::SeqCst);
            Ok(Reply::Empty)
        }
    });
    (l, started, done)
}

fn text(m: &Message) -> &str {
    &m.content_as::<Text>().expect("Text content").0
}

async fn within<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), f).await.expect("did not finish within 30 s")
}

/// Yields until `done` says so, within 30 s.
async fn until(mut done: impl FnMut() -> bool) {
    within(async {
        while !done() {
            tokio::task::yield_now().await;
        }
    })
    .await;
}

/// 1. One dispatcher per process, independent ones for tests.
mod s01_dispatchers {
    use super::*;

    #[test]
    fn the_global_dispatcher_is_one_per_process() {
        assert!(Dispatcher::global().same(Dispatcher::global()));
        assert!(!Dispatcher::new().same(Dispatcher::global()));
    }

    #[tokio::test]
    async fn independent_dispatchers_share_nothing() {
        let (a, b) = (Dispatcher::new(), Dispatcher::new());
        a.register("x", inbox()).unwrap();
        b.register("x", inbox()).unwrap();
        let only_a = Dispatcher::new();
        only_a.register("only", inbox()).unwrap();
        assert!(matches!(
            b.send(Message::new(Empty).to("only")),
            Err(Error::UnknownDestination(_))
        ));
        for d in [a, b, only_a] {
            d.shutdown().await;
        }
    }

    #[test]
    fn registering_outside_a_runtime_is_a_clear_error() {
        let d = Dispatcher::new();
        assert!(matches!(d.register("x", inbox()), Err(Error::NoRuntime)));
    }
}

/// 2. Source IDs: fresh or registered; a taken ID is an error.
mod s02_sources {
    use super::*;

    #[test]
    fn fresh_source_ids_are_unique_and_skip_registered_ones() {
        let d = Dispatcher::new();
        let mine = d.register_source(2).unwrap();
        let fresh: Vec<_> = (0..100).map(|_| d.new_source()).collect();
        let mut ids: Vec<Id> = fresh.iter().map(|s| s.id().clone()).collect();
        assert!(!ids.contains(mine.id()), "a fresh ID never repeats a registered one");
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 100);
    }

    #[test]
    fn a_taken_source_id_is_refused_until_released() {
        let d = Dispatcher::new();
        let dealer = d.register_source("dealer").unwrap();
        assert!(
            matches!(d.register_source("dealer"), Err(Error::SourceTaken(id)) if id == "dealer")
        );
        drop(dealer);
        assert!(d.register_source("dealer").is_ok(), "dropping the Source releases its ID");
    }

    #[tokio::test]
    async fn a_source_stamps_its_id_on_what_it_sends() {
        let d = Dispatcher::new();
        let l = inbox();
        d.register("l", l.clone()).unwrap();
        let me = d.register_source("me").unwrap();
        me.send(Message::new(Empty).to("l")).unwrap();
        let got = within(l.queue("inbox").unwrap().recv()).await.unwrap();
        assert_eq!(got.envelope().source, Some(Id::from("me")));
        d.shutdown().await;
    }
}

/// 3. Listeners with an ID are known to the dispatcher; others can be chained.
mod s03_listeners {
    use super::*;

    #[tokio::test]
    async fn typed_handlers_get_their_content_and_refuse_another_type_by_name() {
        let d = Dispatcher::new();
        let table = RoutingTable::builder()
            .rule("words", Cond::type_is("Text"), [Action::call("count")])
            .rule("late", Cond::Always, [Action::call_async("later")])
            .build()
            .unwrap();
        let listener = RoutedListener::builder(table)
            .typed_handler("count", |_: &dispatchio_core::Envelope, t: &Text| {
                Ok(Reply::with(Text(t.0.split(' ').count().to_string())))
            })
            // Routed every other type, but takes only `Text`: a wrong table.
            .typed_async_handler("later", |_: &dispatchio_core::Envelope, t: &Text| {
                let n = t.0.len();
                async move { Ok(Reply::with(Text(n.to_string()))) }
            })
            .build()
            .unwrap();
        d.register("l", Arc::new(listener)).unwrap();
        let words = d.request_as::<Text>(Message::new(Text::from("a b c")).to("l"), None).await;
        assert_eq!(words.unwrap().0, "3");
        let err = d.request(Message::new(Empty).to("l"), None).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Handler);
        let text = err.to_string();
        assert!(
            text.contains("`later`") && text.contains("`Text`") && text.contains("`Empty`"),
            "{text}"
        );
        d.shutdown().await;
    }

    #[tokio::test]
    async fn a_listener_without_id_is_reached_by_chaining() {
        let d = Dispatcher::new();
        let back = inbox();
        let table = RoutingTable::builder()
            .rule("pass", Cond::Always, [Action::forward("back")])
            .build()
            .unwrap();
        let front = RoutedListener::builder(table).forward("back", back.clone()).build().unwrap();
        d.register("front", Arc::new(front)).unwrap();
        d.send(Message::new(Text::from("hi")).to("front")).unwrap();
        let got = within(back.queue("inbox").unwrap().recv()).await.unwrap();
        assert_eq!(text(&got), "hi");
        assert_eq!(
            d.snapshot().listeners,
            vec![Id::from("front")],
            "the chained listener is unknown to the dispatcher"
        );
        d.shutdown().await;
    }

    #[tokio::test]
    async fn a_forward_answers_with_the_chained_listeners_reply() {
        let d = Dispatcher::new();
        let table = RoutingTable::builder()
            .rule("pass", Cond::Always, [Action::forward("echo")])
            .build()
            .unwrap();
        let front = RoutedListener::builder(table).forward("echo", echo()).build().unwrap();
        d.register("front", Arc::new(front)).unwrap();
        let reply =
            within(d.request(Message::new(Text::from("ping")).to("front"), None)).await.unwrap();
        assert_eq!(text(&reply), "ping");
        d.shutdown().await;
    }

    #[tokio::test]
    async fn every_call_that_names_an_id_takes_it_the_same_way() {
        let d = Dispatcher::new();
        // Names read at run time (`&String`), a literal, an integer.
        let names = [Id::from(&String::from("seat-3")), Id::from("seat-4"), Id::from(5)];
        for name in &names {
            let l = inbox();
            d.register(name, l.clone()).unwrap();
            d.subscribe(name, name).unwrap();
            d.send(Message::new(Text::from(name.to_string())).to(name)).unwrap();
            d.send(Message::new(Text::from(name.to_string())).to_group(name)).unwrap();
            let q = l.queue("inbox").unwrap();
            for _ in 0..2 {
                assert_eq!(text(&within(q.recv()).await.unwrap()), name.to_string());
            }
            assert!(d.unsubscribe(name, name));
            d.deregister(name).unwrap();
            assert!(
                matches!(d.deregister(name), Err(Error::UnknownDestination(id)) if id == *name)
            );
        }
        d.shutdown().await;
    }

    #[tokio::test]
    async fn every_call_takes_a_name_borrowed_from_run_time_text() {
        let d = Dispatcher::new();
        // Names cut out of text read at run time: `&str`s that live only as
        // long as `config`, one of them longer than an inline ID.
        let config = String::from("seat-7 the-seat-at-the-far-end-of-the-long-table");
        for name in config.split(' ') {
            let l = inbox();
            d.register(name, l.clone()).unwrap();
            d.subscribe(name, name).unwrap();
            d.send(Message::new(Text::from(name)).to(name)).unwrap();
            d.send(Message::new(Text::from(name)).to_group(name)).unwrap();
            d.destination(name).unwrap().send(Message::new(Text::from(name))).unwrap();
            let q = l.queue("inbox").unwrap();
            for _ in 0..3 {
                assert_eq!(text(&within(q.recv()).await.unwrap()), name);
            }
            assert!(d.unsubscribe(name, name));
            d.deregister(name).unwrap();
            assert!(matches!(
                d.send(Message::new(Empty).to(name)),
                Err(Error::UnknownDestination(_))
            ));
        }
        d.shutdown().await;
    }

    #[tokio::test]
    async fn a_destination_is_found_whichever_way_its_id_was_built() {
        let d = Dispatcher::new();
        let l = inbox();
        d.register(Id::from(String::from("p-1")), l.clone()).unwrap();
        d.register(42, inbox()).unwrap();
        d.send(Message::new(Empty).to("p-1")).unwrap();
        assert!(within(l.queue("inbox").unwrap().recv()).await.is_some());
        assert!(d.send(Message::new(Empty).to(42i64)).is_ok());
        assert!(
            matches!(d.send(Message::new(Empty).to("42")), Err(Error::UnknownDestination(_))),
            "42 is not \"42\""
        );
        d.shutdown().await;
    }

    #[tokio::test]
    async fn destination_ids_are_unique_and_deregistration_forgets_them() {
        let d = Dispatcher::new();
        d.register("x", inbox()).unwrap();
        assert!(matches!(d.register("x", inbox()), Err(Error::DestinationTaken(_))));
        d.deregister("x").unwrap();
        assert!(matches!(d.send(Message::new(Empty).to("x")), Err(Error::UnknownDestination(_))));
        assert!(matches!(d.deregister("x"), Err(Error::UnknownDestination(_))));
        d.register("x", inbox()).unwrap();
        d.shutdown().await;
    }

    #[tokio::test]
    async fn a_deregistered_listener_handles_what_it_accepted_then_closes_its_queues() {
        let d = Dispatcher::new();
        let l = inbox();
        d.register("x", l.clone()).unwrap();
        for _ in 0..3 {
            d.send(Message::new(Empty).to("x")).unwrap();
        }
        d.deregister("x").unwrap();
        let q = l.queue("inbox").unwrap();
        for _ in 0..3 {
            assert!(within(q.recv()).await.is_some());
        }
        assert!(within(q.recv()).await.is_none(), "the queue closes once the listener is drained");
        d.shutdown().await;
    }
}

/// 4. Groups: every subscriber once; group requests report every failure.
mod s04_groups {
    use super::*;

    #[tokio::test]
    async fn a_group_message_reaches_every_subscriber_once_sharing_its_content() {
        let d = Dispatcher::new();
        let ls: Vec<_> = (0..3).map(|_| inbox()).collect();
        for (i, l) in ls.iter().enumerate() {
            d.register(i as i64, l.clone()).unwrap();
            d.subscribe(i as i64, "All").unwrap();
            d.subscribe(i as i64, "All").unwrap();
        }
        d.send(Message::new(Text::from("hello")).to_group("All")).unwrap();
        let mut got = Vec::new();
        for l in &ls {
            let q = l.queue("inbox").unwrap();
            got.push(within(q.recv()).await.unwrap());
            assert!(q.recv_timeout(Duration::from_millis(20)).await.is_none(), "exactly once");
        }
        assert!(
            Arc::ptr_eq(got[0].content(), got[1].content()),
            "one shared content, not a copy per listener"
        );
        assert!(Arc::ptr_eq(got[1].content(), got[2].content()));
        d.shutdown().await;
    }

    #[tokio::test]
    async fn a_group_request_reports_every_failed_subscriber() {
        let d = Dispatcher::new();
        d.register("good", echo()).unwrap();
        let failing = calling("fail", |_: &Message| Err(HandlerError::new("no")));
        d.register("bad", failing).unwrap();
        let nothing = RoutingTable::builder()
            .rule("never", Field::Sync.is_true(), [Action::Drop])
            .build()
            .unwrap();
        d.register("deaf", Arc::new(RoutedListener::builder(nothing).build().unwrap())).unwrap();
        for id in ["good", "bad", "deaf"] {
            d.subscribe(id, "G").unwrap();
        }
        let err = within(d.request_group(Message::new(Text::from("x")).to_group("G"), None))
            .await
            .unwrap_err();
        let Error::Group(g) = err else { panic!("expected a group error, got {err:?}") };
        assert_eq!(g.succeeded, 1);
        let failed: Vec<&Id> = g.failures.iter().map(|(id, _)| id).collect();
        assert_eq!(failed, [&Id::from("bad"), &Id::from("deaf")]);
        assert!(matches!(g.failures[0].1, Error::Handler { .. }));
        assert!(matches!(g.failures[1].1, Error::Unrouted { .. }));

        d.unsubscribe("bad", "G");
        d.unsubscribe("deaf", "G");
        let ok = within(d.request_group(Message::new(Text::from("x")).to_group("G"), None))
            .await
            .unwrap();
        assert_eq!(ok.len(), 1);
        assert_eq!(ok[0].0, Id::from("good"));
        d.shutdown().await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_group_request_names_the_subscribers_that_did_not_answer_in_time() {
        let d = Dispatcher::new();
        d.register("fast", echo()).unwrap();
        let slow = calling_async("slow", |_m: Message| async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok(Reply::Empty)
        });
        d.register("slow", slow).unwrap();
        d.subscribe("fast", "G").unwrap();
        d.subscribe("slow", "G").unwrap();
        let err = d
            .request_group(
                Message::new(Text::from("x")).to_group("G"),
                Some(Duration::from_secs(1)),
            )
            .await;
        let Err(Error::Group(g)) = err else { panic!("expected a group error, got {err:?}") };
        assert_eq!(g.succeeded, 1);
        assert_eq!(g.failures.len(), 1);
        assert_eq!(g.failures[0].0, Id::from("slow"));
        assert!(matches!(g.failures[0].1, Error::Timeout { .. }));
        d.shutdown().await;
    }

    #[tokio::test]
    async fn a_group_without_subscribers_is_reported() {
        let d = Dispatcher::new();
        assert!(matches!(
            d.send(Message::new(Empty).to_group("nobody")),
            Err(Error::NoSubscribers(_))
        ));
        assert_eq!(d.snapshot().counters.undeliverable, 1);
    }
}

/// 5. Order: one sender's messages reach one recipient in the order sent.
mod s05_order {
    use super::*;
    use proptest::prelude::*;

    /// Sends `per_sender` numbered messages from each of `senders` concurrent
    /// tasks; returns what the recipient saw, in arrival order. With
    /// `bound`, the recipient's mailbox holds that many messages and the
    /// senders wait for room (`send_wait`), or, every other sender, send
    /// again what a full mailbox refused. With `handles` (and no bound),
    /// each sender sends through a `Destination` of its own.
    fn run(
        senders: usize,
        per_sender: usize,
        yield_every: usize,
        bound: Option<usize>,
        handles: bool,
    ) -> Vec<(i64, i64)> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let d = Dispatcher::new();
            let seen = Arc::new(Mutex::new(Vec::new()));
            let log = seen.clone();
            let l = calling("log", move |m: &Message| {
                let from = m.envelope().source.as_ref().and_then(Id::as_int).unwrap_or(-1);
                log.lock().unwrap().push((from, m.id().get()));
                Ok(Reply::Empty)
            });
            match bound {
                Some(capacity) => d.register_bounded("sink", l, capacity).unwrap(),
                None => d.register("sink", l).unwrap(),
            }
            let tasks: Vec<_> = (0..senders)
                .map(|s| {
                    let d = d.clone();
                    let to = handles.then(|| d.destination("sink").unwrap());
                    tokio::spawn(async move {
                        for n in 0..per_sender {
                            let m = Message::new(Empty)
                                .to("sink")
                                .from_source(s as i64)
                                .with_id((n + 1) as i64);
                            match bound {
                                None if to.is_some() => {
                                    to.as_ref().unwrap().send(m).unwrap();
                                }
                                None => {
                                    d.send(m).unwrap();
                                }
                                Some(_) if s % 2 == 0 => {
                                    d.send_wait(m).await.unwrap();
                                }
                                Some(_) => loop {
                                    match d.send(m.clone()) {
                                        Ok(_) => break,
                                        Err(Error::MailboxFull { .. }) => {
                                            tokio::task::yield_now().await;
                                        }
                                        Err(e) => panic!("{e}"),
                                    }
                                },
                            }
                            if yield_every > 0 && n % yield_every == 0 {
                                tokio::task::yield_now().await;
                            }
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
            let total = senders * per_sender;
            while seen.lock().unwrap().len() < total {
                tokio::task::yield_now().await;
            }
            d.shutdown().await;
            std::mem::take(&mut *seen.lock().unwrap())
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
        #[test]
        fn per_sender_order_holds_with_many_concurrent_senders(
            senders in 2usize..16,
            per_sender in 1usize..200,
            yield_every in 0usize..8,
        ) {
            let seen = run(senders, per_sender, yield_every, None, false);
            check(&seen, senders, per_sender)?;
        }

        #[test]
        fn per_sender_order_holds_through_destination_handles(
            senders in 2usize..16,
            per_sender in 1usize..200,
            yield_every in 0usize..8,
        ) {
            let seen = run(senders, per_sender, yield_every, None, true);
            check(&seen, senders, per_sender)?;
        }

        #[test]
        fn per_sender_order_holds_through_a_bounded_mailbox(
            senders in 2usize..12,
            per_sender in 1usize..150,
            yield_every in 0usize..8,
            capacity in 1usize..8,
        ) {
            let seen = run(senders, per_sender, yield_every, Some(capacity), false);
            check(&seen, senders, per_sender)?;
        }
    }

    /// Every message arrived once, each sender's in the order sent.
    fn check(seen: &[(i64, i64)], senders: usize, per_sender: usize) -> Result<(), TestCaseError> {
        prop_assert_eq!(seen.len(), senders * per_sender, "nothing lost");
        for s in 0..senders as i64 {
            let ids: Vec<i64> =
                seen.iter().filter(|(from, _)| *from == s).map(|(_, id)| *id).collect();
            let expected: Vec<i64> = (1..=per_sender as i64).collect();
            prop_assert_eq!(ids, expected, "sender {}'s messages arrived out of order", s);
        }
        Ok(())
    }
}

/// 6. Sends through a `Destination` (resolved once): `send`'s and `request`'s guarantees.
mod s06_destination_handles {
    use super::*;
    use dispatchio_core::InvalidMessage;

    #[tokio::test]
    async fn a_send_through_a_handle_after_deregistering_fails_as_send_does() {
        let d = Dispatcher::new();
        let l = inbox();
        d.register("p", l.clone()).unwrap();
        let to = d.destination("p").unwrap();
        to.send(Message::new(Text::from("before"))).unwrap();
        d.deregister("p").unwrap();
        let err = to.send(Message::new(Text::from("after"))).unwrap_err();
        assert!(matches!(&err, Error::UnknownDestination(id) if *id == "p"), "{err}");
        let err = to.request(Message::new(Text::from("after")), None).await.unwrap_err();
        assert!(matches!(&err, Error::UnknownDestination(_)), "{err}");
        // What was accepted before is handled; nothing after it arrived.
        let q = l.queue("inbox").unwrap();
        assert_eq!(text(&within(q.recv()).await.unwrap()), "before");
        assert!(within(q.recv()).await.is_none(), "the queue closes: nothing more arrives");
    }

    #[tokio::test]
    async fn a_handle_keeps_no_deregistered_listener_alive() {
        let d = Dispatcher::new();
        let l = inbox();
        d.register("p", l.clone()).unwrap();
        let _to = d.destination("p").unwrap();
        d.deregister("p").unwrap();
        // The listener's task ends (its queues close) while the handle lives.
        let q = l.queue("inbox").unwrap();
        assert!(within(q.recv()).await.is_none());
    }

    #[tokio::test]
    async fn a_handle_reaches_the_listener_registered_again_under_its_id() {
        let d = Dispatcher::new();
        let (old, new) = (inbox(), inbox());
        d.register("p", old.clone()).unwrap();
        let to = d.destination("p").unwrap();
        d.deregister("p").unwrap();
        d.register("p", new.clone()).unwrap();
        to.send(Message::new(Text::from("hi"))).unwrap();
        assert_eq!(text(&within(new.queue("inbox").unwrap().recv()).await.unwrap()), "hi");
        assert!(old.queue("inbox").unwrap().try_recv().is_none());
    }

    #[tokio::test]
    async fn a_handle_refuses_a_message_addressed_elsewhere() {
        let d = Dispatcher::new();
        d.register("p", inbox()).unwrap();
        let to = d.destination("p").unwrap();
        for m in [Message::new(Empty).to("q"), Message::new(Empty).to_group("All")] {
            let err = to.send(m).unwrap_err();
            assert!(matches!(err, Error::Invalid(InvalidMessage::OtherDestination)), "{err}");
        }
        // Its own destination, named again, is fine.
        to.send(Message::new(Empty).to("p")).unwrap();
    }

    #[tokio::test]
    async fn a_handle_to_nobody_is_refused_when_made() {
        let d = Dispatcher::new();
        let err = d.destination("nobody").unwrap_err();
        assert!(matches!(&err, Error::UnknownDestination(id) if *id == "nobody"));
        d.shutdown().await;
        assert!(matches!(d.destination("nobody"), Err(Error::Shutdown)));
    }

    #[tokio::test]
    async fn requests_through_a_handle_are_answered_and_carry_its_source() {
        let d = Dispatcher::new();
        d.register("echo", echo()).unwrap();
        let client = d.new_source();
        let to = client.destination("echo").unwrap();
        let reply = to.request_as::<Text>(Message::new(Text::from("ping")), None).await.unwrap();
        assert_eq!(reply.0, "ping");
        assert_eq!(reply.message().envelope().dest.as_ref(), Some(client.id()));
        let err = to.request_as::<Empty>(Message::new(Text::from("x")), None).await.unwrap_err();
        assert!(matches!(err, Error::UnexpectedReply { .. }), "{err}");
    }

    #[tokio::test]
    async fn a_full_bounded_mailbox_refuses_a_send_through_a_handle() {
        let d = Dispatcher::new();
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        let (l, started, _done) = gated(gate.clone());
        d.register_bounded("w", l, 1).unwrap();
        let to = d.destination("w").unwrap();
        to.send(Message::new(Empty)).unwrap();
        until(|| started.load(Ordering::SeqCst) == 1).await;
        // One handler running (the bound), so the next waits and the one after is refused.
        to.send(Message::new(Empty)).unwrap();
        let err = to.send(Message::new(Empty)).unwrap_err();
        assert!(matches!(&err, Error::MailboxFull { capacity: 1, .. }), "{err}");
        gate.add_permits(10);
    }

    #[tokio::test]
    async fn after_shutdown_a_handle_sends_nothing() {
        let d = Dispatcher::new();
        d.register("p", inbox()).unwrap();
        let to = d.destination("p").unwrap();
        d.shutdown().await;
        assert!(matches!(to.send(Message::new(Empty)), Err(Error::Shutdown)));
        assert!(matches!(to.request(Message::new(Empty), None).await, Err(Error::Shutdown)));
    }
}

/// 6. Asynchronous send never waits; requests, timeouts, handler errors, deferrals.
mod s06_send_and_request {
    use super::*;
    use tokio::sync::Semaphore;

    #[tokio::test]
    async fn send_returns_while_the_recipient_is_still_busy() {
        let d = Dispatcher::new();
        let gate = Arc::new(Semaphore::new(0));
        let (l, _started, done) = gated(gate.clone());
        d.register("busy", l).unwrap();
        for _ in 0..1000 {
            d.send(Message::new(Empty).to("busy")).unwrap();
        }
        assert_eq!(done.load(Ordering::SeqCst), 0, "every send returned before any work was done");
        gate.add_permits(1000);
        until(|| done.load(Ordering::SeqCst) >= 1000).await;
        d.shutdown().await;
    }

    #[tokio::test]
    async fn a_request_gets_the_handlers_reply_with_the_same_message_id() {
        let d = Dispatcher::new();
        d.register("echo", echo()).unwrap();
        let me = d.register_source("me").unwrap();
        let reply =
            within(me.request(Message::new(Text::from("ping")).to("echo").with_id(77), None))
                .await
                .unwrap();
        assert_eq!(text(&reply), "ping");
        let env = reply.envelope();
        assert_eq!(env.id.get(), 77);
        assert!(env.is_response);
        assert_eq!(env.dest, Some(Id::from("me")));
        assert_eq!(env.source, Some(Id::from("echo")));
        d.shutdown().await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_times_out_and_is_no_longer_pending() {
        let d = Dispatcher::new();
        let l = calling("later", |_: &Message| Ok(Reply::Defer));
        d.register("never", l).unwrap();
        let err = d
            .request(Message::new(Empty).to("never").with_id(5), Some(Duration::from_millis(200)))
            .await;
        assert!(
            matches!(err, Err(Error::Timeout { after, .. }) if after == Duration::from_millis(200)),
            "{err:?}"
        );
        let s = d.snapshot();
        assert_eq!(s.pending_requests, 0);
        assert_eq!(s.counters.timeouts, 1);
        assert!(s.deferred.is_empty(), "the deferral nobody waits for is forgotten");
        assert!(matches!(
            d.reply_with(dispatchio_core::MessageId(5), Empty),
            Err(Error::NotDeferred(_))
        ));
        d.shutdown().await;
    }

    #[tokio::test]
    async fn a_handler_error_travels_back_to_the_sender() {
        let d = Dispatcher::new();
        let l =
            calling_async("fail", |_m: Message| async { Err(HandlerError::new("out of cards")) });
        d.register("x", l).unwrap();
        let err = within(d.request(Message::new(Empty).to("x"), None)).await.unwrap_err();
        match err {
            Error::Handler { handler, error } => {
                assert_eq!(handler, "fail");
                assert_eq!(error.message(), "out of cards");
            }
            e => panic!("expected a handler error, got {e:?}"),
        }
        d.shutdown().await;
    }

    #[tokio::test]
    async fn a_deferred_reply_is_given_by_message_id_including_an_error() {
        let d = Dispatcher::new();
        let l = calling("later", |_: &Message| Ok(Reply::Defer));
        d.register("x", l).unwrap();
        let (d1, d2) = (d.clone(), d.clone());
        let ok =
            tokio::spawn(
                async move { d1.request(Message::new(Empty).to("x").with_id(1), None).await },
            );
        let bad =
            tokio::spawn(
                async move { d2.request(Message::new(Empty).to("x").with_id(2), None).await },
            );
        until(|| d.snapshot().deferred.len() >= 2).await;
        d.reply_with(dispatchio_core::MessageId(1), Text::from("done")).unwrap();
        d.reply(dispatchio_core::MessageId(2), Err(HandlerError::new("gave up"))).unwrap();
        assert_eq!(text(&ok.await.unwrap().unwrap()), "done");
        assert!(
            matches!(bad.await.unwrap(), Err(Error::Handler { handler, .. }) if handler == "later")
        );
        d.shutdown().await;
    }
}

/// Deferred replies by token (`Reply::later`): answered once, from anywhere;
/// never lost to the race with the handler's return; reported when dropped.
mod s06_replies_later {
    use super::*;
    use dispatchio_core::Deferred;

    /// The tokens a promising listener hands over, with their messages.
    type Tokens = tokio::sync::mpsc::UnboundedReceiver<(Deferred, Message)>;

    /// A listener whose handler promises a later reply and hands the token
    /// over `tokens`, or answers (or drops) it at once as `now` says.
    fn promising(
        now: fn(Deferred, &Message),
    ) -> (Arc<RoutedListener<RoutingTable, dispatchio_core::FnHandlers>>, Tokens) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let l = calling("promise", move |m: &Message| {
            let (reply, later) = Reply::later();
            if m.ty() == "Text" {
                let _ = tx.send((later, m.clone()));
            } else {
                now(later, m);
            }
            Ok(reply)
        });
        (l, rx)
    }

    #[tokio::test]
    async fn a_token_moved_to_another_task_answers_the_request_once() {
        let d = Dispatcher::new();
        let (l, mut tokens) = promising(|_, _| {});
        d.register("x", l).unwrap();
        tokio::spawn(async move {
            while let Some((later, m)) = tokens.recv().await {
                tokio::time::sleep(Duration::from_millis(5)).await;
                later.reply_with(Text(format!("{}!", text(&m))));
            }
        });
        let reply = within(d.request_as::<Text>(Message::new(Text::from("hi")).to("x"), None));
        assert_eq!(reply.await.unwrap().0, "hi!");
        d.shutdown().await;
    }

    #[tokio::test]
    async fn a_token_answered_before_its_handler_returned_still_reaches_the_sender() {
        let d = Dispatcher::new();
        let (l, _tokens) = promising(|later, _| later.reply_with(Text::from("early")));
        d.register("x", l).unwrap();
        let reply = within(d.request_as::<Text>(Message::new(Empty).to("x"), None)).await;
        assert_eq!(reply.unwrap().0, "early");
        d.shutdown().await;
    }

    #[tokio::test]
    async fn a_token_dropped_unanswered_fails_the_request_at_once_as_a_handler_error() {
        let d = Dispatcher::new();
        let (l, mut tokens) = promising(|later, _| drop(later));
        d.register("x", l).unwrap();
        // Dropped inside the handler, before the promise was bound.
        let e = within(d.request(Message::new(Empty).to("x"), None)).await.unwrap_err();
        assert!(
            matches!(&e, Error::Handler { handler, error } if handler == "promise"
                && error.message() == "dropped its deferred reply unanswered"),
            "{e:?}"
        );
        // Dropped later, elsewhere, with no timeout on the request.
        let asking = tokio::spawn({
            let d = d.clone();
            async move { d.request(Message::new(Text::from("?")).to("x"), None).await }
        });
        let (later, _) = within(tokens.recv()).await.unwrap();
        drop(later);
        let e = within(asking).await.unwrap().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Handler, "{e:?}");
        // One-way: nobody to tell, so it is counted.
        d.send(Message::new(Empty).to("x")).unwrap();
        until(|| d.snapshot().counters.handler_errors >= 1).await;
        d.shutdown().await;
    }

    #[tokio::test]
    async fn every_subscriber_of_a_group_request_defers_its_own_reply() {
        let d = Dispatcher::new();
        let (tx, mut tokens) = tokio::sync::mpsc::unbounded_channel();
        for member in ["a", "b", "c"] {
            let tx = tx.clone();
            let l = calling("promise", move |_: &Message| {
                let (reply, later) = Reply::later();
                let _ = tx.send((member, later));
                Ok(reply)
            });
            d.register(member, l).unwrap();
            d.subscribe(member, "G").unwrap();
        }
        let asking = tokio::spawn({
            let d = d.clone();
            async move { d.request_group(Message::new(Empty).to_group("G"), None).await }
        });
        for _ in 0..3 {
            let (member, later) = within(tokens.recv()).await.unwrap();
            later.reply_with(Text::from(member));
        }
        let mut replies: Vec<(String, String)> = within(asking)
            .await
            .unwrap()
            .unwrap()
            .iter()
            .map(|(id, m)| (id.to_string(), text(m).to_owned()))
            .collect();
        replies.sort();
        let want = [("\"a\"", "a"), ("\"b\"", "b"), ("\"c\"", "c")];
        assert_eq!(replies, want.map(|(i, t)| (i.to_owned(), t.to_owned())));
        d.shutdown().await;
    }

    #[tokio::test]
    async fn a_token_answering_a_request_that_timed_out_changes_nothing() {
        let d = Dispatcher::new();
        let (l, mut tokens) = promising(|_, _| {});
        d.register("x", l).unwrap();
        let ask = Message::new(Text::from("?")).to("x");
        let e = d.request(ask, Some(Duration::from_millis(20))).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout);
        let (later, _) = within(tokens.recv()).await.unwrap();
        later.reply_with(Text::from("too late"));
        let s = d.snapshot();
        assert_eq!((s.pending_requests, s.counters.handler_errors), (0, 0));
        d.shutdown().await;
    }
}

/// Flushing: waiting until listeners handled everything sent before.
mod s06_flush {
    use super::*;

    /// A listener whose async handler takes 5 ms per message, then counts it.
    fn slow_counter(done: Arc<AtomicUsize>) -> Arc<dyn Listener> {
        calling_async("count", move |_m: Message| {
            let done = done.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(5)).await;
                done.fetch_add(1, Ordering::SeqCst);
                Ok(Reply::Empty)
            }
        })
    }

    #[tokio::test]
    async fn a_flush_returns_once_every_message_before_it_and_its_async_work_is_done() {
        let d = Dispatcher::new();
        let done = Arc::new(AtomicUsize::new(0));
        d.register("x", slow_counter(done.clone())).unwrap();
        for _ in 0..10 {
            d.send(Message::new(Empty).to("x")).unwrap();
        }
        within(d.flush("x")).await.unwrap();
        assert_eq!(done.load(Ordering::SeqCst), 10);
        d.shutdown().await;
    }

    #[tokio::test]
    async fn a_flush_never_reaches_the_listener_and_later_messages_follow_it() {
        let d = Dispatcher::new();
        let l = inbox();
        d.register("x", l.clone()).unwrap();
        d.send(Message::new(Text::from("one")).to("x")).unwrap();
        within(d.flush("x")).await.unwrap();
        let q = l.queue("inbox").unwrap();
        assert_eq!(q.len(), 1, "the flush itself is not queued");
        d.send(Message::new(Text::from("two")).to("x")).unwrap();
        within(d.flush("x")).await.unwrap();
        let texts: Vec<String> = [within(q.recv()).await, within(q.recv()).await]
            .into_iter()
            .map(|m| text(&m.unwrap()).to_owned())
            .collect();
        assert_eq!(texts, ["one", "two"]);
        assert_eq!(d.snapshot().counters.unrouted, 0);
        d.shutdown().await;
    }

    #[tokio::test]
    async fn flush_all_waits_for_every_listener_of_the_process() {
        let d = Dispatcher::new();
        let done = Arc::new(AtomicUsize::new(0));
        for dest in ["a", "b", "c"] {
            d.register(dest, slow_counter(done.clone())).unwrap();
            for _ in 0..3 {
                d.send(Message::new(Empty).to(dest)).unwrap();
            }
        }
        within(d.flush_all()).await.unwrap();
        assert_eq!(done.load(Ordering::SeqCst), 9);
        d.shutdown().await;
    }

    #[tokio::test]
    async fn a_flush_of_a_destination_no_listener_here_serves_is_an_unknown_destination() {
        let d = Dispatcher::new();
        let e = within(d.flush("nobody")).await.unwrap_err();
        assert!(matches!(&e, Error::UnknownDestination(id) if *id == "nobody"), "{e:?}");
        d.shutdown().await;
    }
}

/// 7. Synchronous send: at once, or a clear error.
mod s07_sync {
    use super::*;

    fn sync_and_async() -> Arc<RoutedListener<RoutingTable, dispatchio_core::FnHandlers>> {
        let table = RoutingTable::builder()
            .rule("now", Cond::type_is("Text"), [Action::call("now")])
            .rule("later", Cond::type_is("Empty"), [Action::call_async("later")])
            .rule("defer", Cond::type_is("Defer"), [Action::call("defer")])
            .build()
            .unwrap();
        Arc::new(
            RoutedListener::builder(table)
                .handler("now", |m: &Message| Ok(Reply::with(Text(format!("{}!", text(m))))))
                .async_handler("later", |_m: Message| async { Ok(Reply::Empty) })
                .handler("defer", |_: &Message| Ok(Reply::Defer))
                .build()
                .unwrap(),
        )
    }

    #[tokio::test]
    async fn a_synchronous_send_answers_at_once() {
        let d = Dispatcher::new();
        d.register("x", sync_and_async()).unwrap();
        let reply = d.send_sync(Message::new(Text::from("hi")).to("x")).unwrap();
        assert_eq!(text(&reply), "hi!");
        d.shutdown().await;
    }

    #[test]
    fn a_synchronous_send_needs_no_runtime_to_answer() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let d = Dispatcher::new();
        rt.block_on(async { d.register("x", sync_and_async()).unwrap() });
        // Plain thread, outside any runtime: the handler runs right here.
        let reply = d.send_sync(Message::new(Text::from("hi")).to("x")).unwrap();
        assert_eq!(text(&reply), "hi!");
        rt.block_on(d.shutdown());
    }

    #[tokio::test]
    async fn an_async_handler_or_a_deferral_cannot_answer_synchronously() {
        let d = Dispatcher::new();
        d.register("x", sync_and_async()).unwrap();
        let e = d.send_sync(Message::new(Empty).to("x")).unwrap_err();
        assert!(matches!(&e, Error::Sync(SyncError::AsyncHandler(h)) if h == "later"), "{e:?}");
        let e = d.send_sync(Message::new(Empty).with_type("Defer").to("x")).unwrap_err();
        assert!(matches!(e, Error::Sync(SyncError::Deferred)), "{e:?}");
        d.shutdown().await;
    }

    #[tokio::test]
    async fn a_message_flagged_sync_is_handled_synchronously_by_request() {
        let d = Dispatcher::new();
        d.register("x", sync_and_async()).unwrap();
        let e = d.request(Message::new(Empty).to("x").synchronous(), None).await.unwrap_err();
        assert!(matches!(e, Error::Sync(SyncError::AsyncHandler(_))), "{e:?}");
        d.shutdown().await;
    }

    #[tokio::test]
    async fn a_synchronous_send_that_would_re_enter_its_listener_fails() {
        let d = Dispatcher::new();
        let inner = Arc::new(Mutex::new(None));
        let (dd, seen) = (d.clone(), inner.clone());
        let l = calling("again", move |m: &Message| {
            if m.ty() == "Text" {
                *seen.lock().unwrap() = Some(dd.send_sync(Message::new(Empty).to("x")));
            }
            Ok(Reply::Empty)
        });
        d.register("x", l).unwrap();
        d.send_sync(Message::new(Text::from("go")).to("x")).unwrap();
        let got = inner.lock().unwrap().take().unwrap();
        assert!(matches!(got, Err(Error::Sync(SyncError::Reentrant))), "{got:?}");
        d.shutdown().await;
    }

    #[tokio::test]
    async fn a_synchronous_send_to_another_process_fails() {
        let d = Dispatcher::new();
        let link = d.attach(Arc::new(seam::Recorder::default()));
        link.claim("far").unwrap();
        let e = d.send_sync(Message::new(Empty).to("far")).unwrap_err();
        assert!(matches!(e, Error::Sync(SyncError::Remote)), "{e:?}");
    }

    #[tokio::test]
    async fn a_synchronous_send_to_a_destination_held_by_a_blocking_message_fails() {
        let d = Dispatcher::new();
        d.register("x", sync_and_async()).unwrap();
        let held = {
            let d = d.clone();
            tokio::spawn(async move {
                d.request(Message::new(Empty).with_type("Defer").to("x").blocking(), None).await
            })
        };
        until(|| !d.snapshot().blocked.is_empty()).await;
        let e = d.send_sync(Message::new(Text::from("hi")).to("x")).unwrap_err();
        assert!(matches!(e, Error::Sync(SyncError::Blocked)), "{e:?}");
        d.shutdown().await;
        assert!(held.await.unwrap().is_err());
    }
}

/// 8. Blocking messages hold later messages to their destination.
mod s08_blocking {
    use super::*;

    #[tokio::test]
    async fn later_messages_wait_in_order_until_the_blocking_one_is_answered() {
        let d = Dispatcher::new();
        let log = Arc::new(Mutex::new(Vec::new()));
        d.register("x", logging(log.clone())).unwrap();
        let d2 = d.clone();
        let hold = tokio::spawn(async move {
            d2.request(Message::new(Empty).with_type("Hold").to("x").blocking().with_id(9), None)
                .await
        });
        until(|| !d.snapshot().deferred.is_empty()).await;
        for t in ["one", "two", "three"] {
            d.send(Message::new(Text::from(t)).to("x")).unwrap();
        }
        for _ in 0..50 {
            tokio::task::yield_now().await;
        }
        assert!(log.lock().unwrap().is_empty(), "held behind the blocking message");
        assert_eq!(d.snapshot().blocked, vec![Id::from("x")]);
        d.reply_with(dispatchio_core::MessageId(9), Empty).unwrap();
        hold.await.unwrap().unwrap();
        until(|| log.lock().unwrap().len() >= 3).await;
        assert_eq!(*log.lock().unwrap(), ["one", "two", "three"]);
        assert!(d.snapshot().blocked.is_empty());
        d.shutdown().await;
    }
    /// The answer frees the destination before the sender sees it: with the
    /// listener's task on another worker thread, a sender that got the
    /// answer never finds the destination still held.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_answered_blocking_message_no_longer_holds_its_destination() {
        let d = Dispatcher::new();
        d.register("x", echo()).unwrap();
        for i in 0..200 {
            let m = Message::new(Text::from(format!("b{i}"))).to("x").blocking();
            within(d.request(m, None)).await.unwrap();
            assert!(d.snapshot().blocked.is_empty(), "still held after answer {i}");
            let r = d.send_sync(Message::new(Text::from("now")).to("x"));
            assert!(r.is_ok(), "sync send after answer {i}: {r:?}");
        }
        d.shutdown().await;
    }
}

/// 9. Routing to callbacks, queues and other listeners; pre- and post-filters.
mod s09_routing_and_hooks {
    use super::*;

    #[derive(Clone, Default)]
    struct Censor {
        seen: Arc<Mutex<Vec<String>>>,
    }

    impl Hooks for Censor {
        fn pre_filter(&self, m: Message) -> Option<Message> {
            match m.content_as::<Text>() {
                Some(t) if t.0 == "spam" => None,
                Some(t) if t.0 == "shout" => {
                    Some(Message::from_parts(m.envelope().clone(), Arc::new(Text::from("SHOUT"))))
                }
                _ => Some(m),
            }
        }

        fn post_filter(&self, m: &Message, outcome: &Outcome<'_>) {
            let rule = outcome
                .fired
                .rules()
                .first()
                .map(|&r| outcome.layout.rules[r].to_string())
                .unwrap_or_default();
            self.seen.lock().unwrap().push(format!("{}:{rule}", text(m)));
        }
    }

    #[tokio::test]
    async fn pre_filters_drop_or_rewrite_and_post_filters_see_the_outcome() {
        let d = Dispatcher::new();
        let censor = Censor::default();
        let table = RoutingTable::builder()
            .rule("keep", Cond::Always, [Action::queue("inbox")])
            .build()
            .unwrap();
        let l = Arc::new(RoutedListener::builder(table).hooks(censor.clone()).build().unwrap());
        d.register("x", l.clone()).unwrap();
        for t in ["spam", "shout", "hello"] {
            d.send(Message::new(Text::from(t)).to("x")).unwrap();
        }
        let q = l.queue("inbox").unwrap();
        assert_eq!(text(&within(q.recv()).await.unwrap()), "SHOUT");
        assert_eq!(text(&within(q.recv()).await.unwrap()), "hello");
        assert_eq!(
            *censor.seen.lock().unwrap(),
            ["SHOUT:keep", "hello:keep"],
            "the post-filter sees what was routed, not what the pre-filter dropped"
        );
        assert_eq!(d.snapshot().counters.dropped, 1, "the filtered message is counted");
        d.shutdown().await;
    }

    #[tokio::test]
    async fn the_first_call_gives_the_reply_and_every_action_runs() {
        let d = Dispatcher::new();
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        let table = RoutingTable::builder()
            .rule("log", Cond::Always, [Action::call("count"), Action::Continue])
            .rule(
                "card",
                Cond::type_is("Text") & Field::content("text").starts_with("card"),
                [Action::queue("hand"), Action::call_async("shout"), Action::call("count")],
            )
            .otherwise([Action::queue("inbox")])
            .build()
            .unwrap();
        let l = Arc::new(
            RoutedListener::builder(table)
                .handler("count", move |_: &Message| {
                    c.fetch_add(1, Ordering::SeqCst);
                    Ok(Reply::with(Text::from("counted")))
                })
                .async_handler("shout", |m: Message| async move {
                    Ok(Reply::with(Text(text(&m).to_uppercase())))
                })
                .build()
                .unwrap(),
        );
        d.register("x", l.clone()).unwrap();
        let r = within(d.request(Message::new(Text::from("card 7")).to("x"), None)).await.unwrap();
        assert_eq!(text(&r), "counted", "the first call in rule order gives the reply");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!(l.queue("hand").unwrap().len(), 1);
        let r = within(d.request(Message::new(Text::from("other")).to("x"), None)).await.unwrap();
        assert_eq!(text(&r), "counted");
        assert_eq!(l.queue("inbox").unwrap().len(), 1, "otherwise runs after a continue rule");
        let hits: Vec<u64> = l.rule_hits().into_iter().map(|(_, n)| n).collect();
        assert_eq!(hits, [2, 1]);
        d.shutdown().await;
    }

    #[tokio::test]
    async fn a_queued_request_is_acknowledged() {
        let d = Dispatcher::new();
        d.register("x", inbox()).unwrap();
        let r = within(d.request(Message::new(Text::from("hi")).to("x"), None)).await.unwrap();
        assert!(r.content_as::<Empty>().is_some());
        assert!(r.envelope().is_response);
        d.shutdown().await;
    }

    #[tokio::test]
    async fn a_request_as_a_type_gets_its_reply_typed_and_its_envelope() {
        let d = Dispatcher::new();
        d.register("echo", echo()).unwrap();
        let me = d.register_source("me").unwrap();
        let ask = Message::new(Text::from("seven")).to("echo").with_id(70);
        let reply = within(me.request_as::<Text>(ask, None)).await.unwrap();
        assert_eq!(reply.0, "seven");
        assert_eq!(reply.message().id(), dispatchio_core::MessageId(70));
        assert!(reply.message().envelope().is_response);
        d.shutdown().await;
    }

    #[tokio::test]
    async fn a_request_as_a_type_answered_by_an_acknowledgement_says_what_came() {
        let d = Dispatcher::new();
        let l = inbox();
        d.register("x", l.clone()).unwrap();
        let ask = Message::new(Text::from("hi")).to("x").with_id(9);
        let e = within(d.request_as::<Text>(ask, None)).await.unwrap_err();
        let Error::UnexpectedReply { id, expected, got } = &e else { panic!("{e:?}") };
        assert_eq!((id.get(), *expected, got.as_str()), (9, "Text", "Empty"));
        assert_eq!(e.kind(), ErrorKind::UnexpectedReply);
        assert_eq!(
            e.to_string(),
            "the reply to message #9 is of type Empty, not the Text asked for"
        );
        // The acknowledged message was queued all the same.
        assert_eq!(l.queue("inbox").unwrap().len(), 1);
        d.shutdown().await;
    }

    #[test]
    fn handlers_must_match_the_table() {
        use dispatchio_core::routing::BuildError;
        let table = || {
            RoutingTable::builder().rule("a", Cond::Always, [Action::call("h")]).build().unwrap()
        };
        let missing = RoutedListener::builder(table()).build().err();
        assert_eq!(missing, Some(BuildError::MissingHandler("h".into())));
        let wrong = RoutedListener::builder(table())
            .async_handler("h", |_m: Message| async { Ok(Reply::Empty) })
            .build()
            .err();
        assert!(matches!(wrong, Some(BuildError::HandlerKindMismatch { .. })));
        let extra = RoutedListener::builder(table())
            .handler("h", |_: &Message| Ok(Reply::Empty))
            .handler("x", |_: &Message| Ok(Reply::Empty))
            .build()
            .err();
        assert_eq!(extra, Some(BuildError::UnknownHandler("x".into())));
    }
}

/// 10. Nothing is lost silently.
mod s10_nothing_lost {
    use super::*;

    #[tokio::test]
    async fn an_unrouted_message_is_reported_to_its_sender_and_counted() {
        let d = Dispatcher::new();
        let table = RoutingTable::builder()
            .rule("cards", Cond::type_is("Card"), [Action::queue("hand")])
            .build()
            .unwrap();
        d.register("x", Arc::new(RoutedListener::builder(table).build().unwrap())).unwrap();
        let e = within(d.request(Message::new(Text::from("?")).to("x"), None)).await.unwrap_err();
        let Error::Unrouted { ty, listener, .. } = &e else { panic!("{e:?}") };
        assert_eq!((ty.as_str(), listener), ("Text", &Some(Id::from("x"))));
        assert!(e.to_string().ends_with(r#"of listener "x""#), "{e}");
        d.send(Message::new(Text::from("?")).to("x")).unwrap();
        until(|| d.snapshot().counters.unrouted >= 2).await;
        d.shutdown().await;
    }

    #[tokio::test]
    async fn a_dropped_message_is_reported_and_counted() {
        let d = Dispatcher::new();
        let table =
            RoutingTable::builder().rule("bin", Cond::Always, [Action::Drop]).build().unwrap();
        d.register("x", Arc::new(RoutedListener::builder(table).build().unwrap())).unwrap();
        let e = within(d.request(Message::new(Empty).to("x"), None)).await.unwrap_err();
        assert!(matches!(&e, Error::Dropped { listener: Some(l), .. } if *l == "x"), "{e:?}");
        assert_eq!(d.snapshot().counters.dropped, 1);
        d.shutdown().await;
    }

    #[tokio::test]
    async fn an_undeliverable_message_is_an_error_and_counted() {
        let d = Dispatcher::new();
        let e = d.send(Message::new(Empty).to("nobody")).unwrap_err();
        assert!(matches!(e, Error::UnknownDestination(ref id) if *id == "nobody"));
        let e = within(d.request(Message::new(Empty).to("nobody"), None)).await.unwrap_err();
        assert!(matches!(e, Error::UnknownDestination(_)));
        assert_eq!(d.snapshot().counters.undeliverable, 2);
    }

    #[tokio::test]
    async fn a_panicking_handler_is_a_handler_error_and_the_listener_lives_on() {
        let d = Dispatcher::new();
        let table = RoutingTable::builder()
            .rule("sync", Cond::type_is("Text"), [Action::call("boom")])
            .rule("async", Cond::type_is("Empty"), [Action::call_async("boom_later")])
            .build()
            .unwrap();
        let l = RoutedListener::builder(table)
            .handler("boom", |m: &Message| {
                if text(m) == "bad" {
                    panic!("bad card");
                }
                Ok(Reply::with(Text::from("fine")))
            })
            .async_handler("boom_later", |_m: Message| async { panic!("later") })
            .build()
            .unwrap();
        d.register("x", Arc::new(l)).unwrap();
        let e = within(d.request(Message::new(Text::from("bad")).to("x"), None)).await.unwrap_err();
        assert!(
            matches!(&e, Error::Handler { error, .. } if error.message().contains("bad card")),
            "{e:?}"
        );
        let e = within(d.request(Message::new(Empty).to("x"), None)).await.unwrap_err();
        assert!(
            matches!(&e, Error::Handler { error, .. } if error.message().contains("later")),
            "{e:?}"
        );
        let ok = within(d.request(Message::new(Text::from("good")).to("x"), None)).await.unwrap();
        assert_eq!(text(&ok), "fine", "the listener still serves after its handlers panicked");
        d.shutdown().await;
    }

    #[tokio::test]
    async fn a_handler_error_nobody_waits_for_is_counted() {
        let d = Dispatcher::new();
        let l = calling("fail", |_: &Message| Err(HandlerError::new("no")));
        d.register("x", l).unwrap();
        d.send(Message::new(Empty).to("x")).unwrap();
        until(|| d.snapshot().counters.handler_errors >= 1).await;
        d.shutdown().await;
    }

    #[tokio::test]
    async fn introspection_shows_listeners_groups_queues_and_sources() {
        let d = Dispatcher::new();
        let l = inbox();
        d.register("a", l.clone()).unwrap();
        d.subscribe("a", "G").unwrap();
        let _me = d.register_source("me").unwrap();
        d.send(Message::new(Empty).to("a")).unwrap();
        until(|| !l.queue("inbox").unwrap().is_empty()).await;
        let s = d.snapshot();
        assert_eq!(s.listeners, [Id::from("a")]);
        assert_eq!(s.groups, [(Id::from("G"), vec![Id::from("a")])]);
        assert_eq!(s.sources, [Id::from("me")]);
        assert_eq!(s.queues.len(), 1);
        assert_eq!((s.queues[0].name.as_str(), s.queues[0].depth), ("inbox", 1));
        assert_eq!(s.pending_requests, 0);
        d.shutdown().await;
    }
}

/// 11. Shutdown is clean with replies outstanding.
mod s11_shutdown {
    use super::*;

    #[tokio::test]
    async fn pending_requests_and_deferred_replies_end_with_a_shutdown_error() {
        let d = Dispatcher::new();
        let table = RoutingTable::builder()
            .rule("defer", Cond::type_is("Empty"), [Action::call("defer")])
            .rule("slow", Cond::type_is("Text"), [Action::call_async("slow")])
            .build()
            .unwrap();
        let l = Arc::new(
            RoutedListener::builder(table)
                .handler("defer", |_: &Message| Ok(Reply::Defer))
                .async_handler("slow", |_m: Message| async {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    Ok(Reply::Empty)
                })
                .build()
                .unwrap(),
        );
        let q = inbox();
        d.register("x", l).unwrap();
        d.register("q", q.clone()).unwrap();
        let (d1, d2) = (d.clone(), d.clone());
        let deferred =
            tokio::spawn(async move { d1.request(Message::new(Empty).to("x"), None).await });
        let slow =
            tokio::spawn(
                async move { d2.request(Message::new(Text::from("z")).to("x"), None).await },
            );
        until(|| {
            let s = d.snapshot();
            s.pending_requests >= 2 && !s.deferred.is_empty()
        })
        .await;
        within(d.shutdown()).await;
        assert!(matches!(within(deferred).await.unwrap(), Err(Error::Shutdown)));
        assert!(matches!(within(slow).await.unwrap(), Err(Error::Shutdown)));
        assert!(within(q.queue("inbox").unwrap().recv()).await.is_none(), "queues close");
        assert!(matches!(d.send(Message::new(Empty).to("x")), Err(Error::Shutdown)));
        assert!(matches!(d.register("y", inbox()), Err(Error::Shutdown)));
        assert_eq!(d.snapshot().pending_requests, 0);
    }

    /// Regression (issue 10, item 1): a group request without a timeout to a
    /// subscriber whose async handler is running never returned after
    /// `shutdown()`, and a destination request held by the same listener
    /// hung with it: the in-flight handler work (which holds the reply
    /// slots) outlived the aborted listener task.
    #[tokio::test]
    async fn a_group_request_in_flight_ends_with_a_shutdown_error() {
        let d = Dispatcher::new();
        let table = RoutingTable::builder()
            .rule("slow", Cond::Always, [Action::call_async("slow")])
            .build()
            .unwrap();
        let l = Arc::new(
            RoutedListener::builder(table)
                .async_handler("slow", |_m: Message| async {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    Ok(Reply::Empty)
                })
                .build()
                .unwrap(),
        );
        d.register("x", l).unwrap();
        d.subscribe("x", "all").unwrap();
        let (d1, d2) = (d.clone(), d.clone());
        let group = tokio::spawn(async move {
            d1.request_group(Message::new(Empty).to_group("all"), None).await
        });
        let single =
            tokio::spawn(async move { d2.request(Message::new(Empty).to("x"), None).await });
        until(|| d.snapshot().pending_requests >= 2).await;
        within(d.shutdown()).await;
        match within(group).await.unwrap() {
            Err(Error::Group(g)) => {
                assert_eq!(g.failures.len(), 1);
                assert!(matches!(g.failures[0].1, Error::Shutdown), "{:?}", g.failures);
            }
            other => panic!("expected the group request to fail with Shutdown, got {other:?}"),
        }
        assert!(matches!(within(single).await.unwrap(), Err(Error::Shutdown)));
        assert_eq!(d.snapshot().pending_requests, 0);
    }
}

/// What kind of failure: one question, asked alike of a single request and
/// of a group request; and every error's cause kept.
mod s13_errors {
    use super::*;

    fn deferring() -> Arc<dyn Listener> {
        let table = RoutingTable::builder()
            .rule("defer", Cond::Always, [Action::call("defer")])
            .build()
            .unwrap();
        Arc::new(
            RoutedListener::builder(table)
                .handler("defer", |_: &Message| Ok(Reply::Defer))
                .build()
                .unwrap(),
        )
    }

    #[tokio::test]
    async fn a_group_request_whose_members_all_ended_by_shutdown_is_of_kind_shutdown() {
        let d = Dispatcher::new();
        // Slow, not deferring: of a group request's members, only one may
        // defer under its message ID.
        let table = RoutingTable::builder()
            .rule("slow", Cond::Always, [Action::call_async("slow")])
            .build()
            .unwrap();
        for m in ["a", "b"] {
            let l = RoutedListener::builder(table.clone())
                .async_handler("slow", |_m: Message| async {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    Ok(Reply::Empty)
                })
                .build()
                .unwrap();
            d.register(m, Arc::new(l)).unwrap();
            d.subscribe(m, "G").unwrap();
        }
        let (d1, d2) = (d.clone(), d.clone());
        let group = tokio::spawn(async move {
            d1.request_group(Message::new(Empty).to_group("G").with_id(1), None).await
        });
        let single =
            tokio::spawn(
                async move { d2.request(Message::new(Empty).to("a").with_id(2), None).await },
            );
        until(|| d.snapshot().pending_requests >= 2).await;
        within(d.shutdown()).await;
        let group = within(group).await.unwrap().unwrap_err();
        let single = within(single).await.unwrap().unwrap_err();
        assert!(matches!(group, Error::Group(_)), "{group:?}");
        assert_eq!(group.kind(), ErrorKind::Shutdown);
        assert_eq!(single.kind(), ErrorKind::Shutdown);
    }

    #[tokio::test]
    async fn a_group_whose_members_failed_in_different_ways_is_of_kind_group() {
        let d = Dispatcher::new();
        let failing = calling("fail", |_: &Message| Err(HandlerError::new("no")));
        d.register("fails", failing).unwrap();
        d.register("defers", deferring()).unwrap();
        for m in ["fails", "defers"] {
            d.subscribe(m, "G").unwrap();
        }
        let msg = Message::new(Empty).to_group("G");
        let e = within(d.request_group(msg, Some(Duration::from_millis(50)))).await.unwrap_err();
        let Error::Group(g) = &e else { panic!("expected a group error, got {e:?}") };
        let kinds: Vec<ErrorKind> = g.failures.iter().map(|(_, e)| e.kind()).collect();
        assert_eq!(kinds, [ErrorKind::Handler, ErrorKind::Timeout]);
        assert_eq!(e.kind(), ErrorKind::Group);
        // The group's cause is its first member's failure.
        let first = std::error::Error::source(&e).expect("a cause");
        assert!(first.to_string().contains("handler fail failed"), "{first}");
        d.shutdown().await;
    }

    #[tokio::test]
    async fn a_handler_error_built_from_an_error_keeps_it_as_the_cause() {
        let d = Dispatcher::new();
        let l = calling("parse", |_: &Message| {
            let n: i64 = "seven".parse()?;
            Ok(Reply::with(Text::from(n.to_string())))
        });
        d.register("p", l).unwrap();
        let e = within(d.request(Message::new(Empty).to("p"), None)).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Handler);
        let cause = std::error::Error::source(&e).expect("the parse error");
        assert!(cause.downcast_ref::<std::num::ParseIntError>().is_some(), "{cause}");
        d.shutdown().await;
    }

    #[test]
    fn a_transport_error_has_its_kind_its_outlet_and_its_cause() {
        let io = std::io::Error::new(std::io::ErrorKind::BrokenPipe, "gone");
        let t = TransportError::new("far/link#1", TransportErrorKind::PeerLost, "peer lost: gone")
            .with_source(io);
        let e = Error::from(t);
        assert_eq!(e.kind(), ErrorKind::Transport);
        let Error::Transport(t) = &e else { unreachable!() };
        assert_eq!((t.kind(), t.outlet()), (TransportErrorKind::PeerLost, "far/link#1"));
        assert_eq!(e.to_string(), "link far/link#1 failed: peer lost: gone");
        let cause = std::error::Error::source(&e).expect("the I/O error");
        assert_eq!(
            cause.downcast_ref::<std::io::Error>().map(|e| e.kind()),
            Some(std::io::ErrorKind::BrokenPipe)
        );
    }
}

/// A listener with a long queue shares its thread: its task yields after a
/// batch, so other tasks on that thread (a link's reader, other listeners)
/// are not held up until its whole queue is done.
mod fairness {
    use super::*;

    #[test]
    fn a_listener_with_a_long_queue_lets_other_listeners_run_between_batches() {
        // One thread, so whatever the slow listener's task does not give
        // back, nothing else gets.
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let d = Dispatcher::new();
            let handled = Arc::new(AtomicUsize::new(0));
            let h = handled.clone();
            let slow = calling("nap", move |_m: &Message| {
                std::thread::sleep(Duration::from_millis(1));
                h.fetch_add(1, Ordering::SeqCst);
                Ok(Reply::Empty)
            });
            d.register("slow", slow).unwrap();
            d.register("fast", echo()).unwrap();
            const QUEUED: usize = 600;
            for _ in 0..QUEUED {
                d.send(Message::new(Empty).to("slow")).unwrap();
            }
            // Asked from a task (the runtime polls its main future only now
            // and then), which notes how far the slow one got when it hears.
            let (d2, h2) = (d.clone(), handled.clone());
            let asking = tokio::spawn(async move {
                d2.request(Message::new(Text::from("now")).to("fast"), None).await.unwrap();
                h2.load(Ordering::SeqCst)
            });
            let before_answer = within(asking).await.unwrap();
            assert!(
                before_answer < QUEUED / 2,
                "the fast listener answered only after {before_answer} of {QUEUED} slow messages"
            );
            d.shutdown().await;
        });
    }
}

/// 12. Bounded mailboxes: a full one refuses at once (`send`, requests,
///     group members), `send_wait` waits for room; nothing is lost silently.
mod s12_bounded_mailboxes {
    use super::*;
    use tokio::sync::Semaphore;

    /// Holds `dest` with a blocking request whose reply is deferred under
    /// message ID `id`; returns once the listener took it, so that what is
    /// sent next stays in its mailbox.
    async fn hold(d: &Dispatcher, dest: &str, id: i64) -> tokio::task::JoinHandle<()> {
        let (d2, to) = (d.clone(), dest.to_owned());
        let held = tokio::spawn(async move {
            let m = Message::new(Empty).with_type("Hold").to(to).blocking().with_id(id);
            let _ = d2.request(m, None).await;
        });
        until(|| d.snapshot().blocked.contains(&Id::from(dest))).await;
        held
    }

    /// Registers `dest` with a mailbox of one, holds it, and fills it.
    async fn filled(
        d: &Dispatcher,
        dest: &str,
        log: Arc<Mutex<Vec<String>>>,
    ) -> tokio::task::JoinHandle<()> {
        d.register_bounded(dest.to_owned(), logging(log), 1).unwrap();
        let held = hold(d, dest, 9).await;
        d.send(Message::new(Text::from("fills it")).to(dest.to_owned())).unwrap();
        held
    }

    fn full(e: &Error, dest: &str, capacity: usize) -> bool {
        matches!(e, Error::MailboxFull { dest: d, capacity: c } if *d == dest && *c == capacity)
    }

    #[tokio::test]
    async fn a_full_mailbox_refuses_a_send_naming_the_destination_and_counts_it() {
        let d = Dispatcher::new();
        let log = Arc::new(Mutex::new(Vec::new()));
        d.register_bounded("x", logging(log.clone()), 3).unwrap();
        let held = hold(&d, "x", 9).await;
        for t in ["one", "two", "three"] {
            d.send(Message::new(Text::from(t)).to("x")).unwrap();
        }
        let refused = d.send(Message::new(Text::from("four")).to("x")).unwrap_err();
        assert!(full(&refused, "x", 3), "{refused:?}");
        assert!(refused.to_string().contains("x"), "the error names the destination: {refused}");
        assert_eq!(d.snapshot().counters.mailbox_full, 1);
        // Room again once the listener takes what it holds; the refused
        // message was never delivered.
        d.reply_with(dispatchio_core::MessageId(9), Empty).unwrap();
        held.await.unwrap();
        until(|| log.lock().unwrap().len() >= 3).await;
        d.send(Message::new(Text::from("five")).to("x")).unwrap();
        until(|| log.lock().unwrap().len() >= 4).await;
        assert_eq!(*log.lock().unwrap(), ["one", "two", "three", "five"]);
        d.shutdown().await;
    }

    #[tokio::test]
    async fn a_request_to_a_full_mailbox_is_refused_at_once_not_queued() {
        let d = Dispatcher::new();
        let _held = filled(&d, "x", Arc::default()).await;
        let answer = within(d.request(Message::new(Text::from("ask")).to("x"), None)).await;
        assert!(full(answer.as_ref().unwrap_err(), "x", 1), "{answer:?}");
        assert_eq!(d.snapshot().pending_requests, 1, "only the request holding the mailbox");
        d.shutdown().await;
    }

    #[tokio::test]
    async fn send_wait_waits_for_room_and_delivers_in_order() {
        let d = Dispatcher::new();
        let log = Arc::new(Mutex::new(Vec::new()));
        d.register_bounded("x", logging(log.clone()), 2).unwrap();
        let held = hold(&d, "x", 9).await;
        let d2 = d.clone();
        let sender = tokio::spawn(async move {
            for n in 0..20 {
                d2.send_wait(Message::new(Text::from(n.to_string())).to("x")).await.unwrap();
            }
        });
        for _ in 0..50 {
            tokio::task::yield_now().await;
        }
        assert!(!sender.is_finished(), "the sender waits while the mailbox is full");
        assert!(log.lock().unwrap().is_empty());
        assert_eq!(d.snapshot().counters.mailbox_full, 0, "waiting is not refusing");
        d.reply_with(dispatchio_core::MessageId(9), Empty).unwrap();
        held.await.unwrap();
        within(sender).await.unwrap();
        until(|| log.lock().unwrap().len() >= 20).await;
        let expected: Vec<String> = (0..20).map(|n| n.to_string()).collect();
        assert_eq!(*log.lock().unwrap(), expected);
        d.shutdown().await;
    }

    #[tokio::test]
    async fn a_send_waiting_for_room_ends_with_shutdown() {
        let d = Dispatcher::new();
        let _held = filled(&d, "x", Arc::default()).await;
        let d2 = d.clone();
        let waiting =
            tokio::spawn(async move { d2.send_wait(Message::new(Text::from("w")).to("x")).await });
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
        assert!(!waiting.is_finished());
        within(d.shutdown()).await;
        assert!(matches!(within(waiting).await.unwrap(), Err(Error::Shutdown)));
    }

    #[tokio::test]
    async fn a_group_send_with_one_full_member_reaches_the_others_and_reports_that_member() {
        let d = Dispatcher::new();
        let (full_log, free_log) =
            (Arc::new(Mutex::new(Vec::new())), Arc::new(Mutex::new(Vec::new())));
        let _held = filled(&d, "full", full_log.clone()).await;
        d.register("free", logging(free_log.clone())).unwrap();
        for m in ["full", "free"] {
            d.subscribe(m, "all").unwrap();
        }
        match d.send(Message::new(Text::from("news")).to_group("all")) {
            Err(Error::Group(g)) => {
                assert_eq!(g.group, Id::from("all"));
                assert_eq!(g.succeeded, 1, "{g}");
                assert_eq!(g.failures.len(), 1, "{g}");
                assert_eq!(g.failures[0].0, Id::from("full"));
                assert!(full(&g.failures[0].1, "full", 1), "{g}");
            }
            other => panic!("expected the full member to be reported, got {other:?}"),
        }
        until(|| !free_log.lock().unwrap().is_empty()).await;
        assert_eq!(*free_log.lock().unwrap(), ["news"]);
        // A group request reports the same member the same way.
        match within(d.request_group(Message::new(Text::from("ask")).to_group("all"), None)).await {
            Err(Error::Group(g)) => {
                assert_eq!(g.failures.len(), 1, "{g}");
                assert!(full(&g.failures[0].1, "full", 1), "{g}");
            }
            other => panic!("expected the full member to be reported, got {other:?}"),
        }
        assert_eq!(d.snapshot().counters.mailbox_full, 2);
        d.shutdown().await;
    }

    #[tokio::test]
    async fn a_bounded_mailbox_also_bounds_the_async_work_in_flight() {
        // An async handler takes its message off the queue: without a limit
        // on work in flight, a slow one would hold every message anyway.
        let d = Dispatcher::new();
        let gate = Arc::new(Semaphore::new(0));
        let (l, started, _done) = gated(gate.clone());
        d.register_bounded("busy", l, 4).unwrap();
        let mut accepted = 0;
        for _ in 0..100 {
            if d.send(Message::new(Empty).to("busy")).is_ok() {
                accepted += 1;
            }
            tokio::task::yield_now().await;
        }
        assert_eq!(started.load(Ordering::SeqCst), 4, "at most the capacity runs at once");
        assert_eq!(accepted, 8, "the capacity in flight, and the capacity queued");
        gate.add_permits(100);
        until(|| started.load(Ordering::SeqCst) >= 8).await;
        d.shutdown().await;
    }

    #[tokio::test]
    async fn a_bounded_capacity_of_zero_is_one() {
        let d = Dispatcher::new();
        d.register_bounded("x", logging(Arc::default()), 0).unwrap();
        let _held = hold(&d, "x", 9).await;
        d.send(Message::new(Text::from("fits")).to("x")).unwrap();
        let refused = d.send(Message::new(Text::from("does not")).to("x")).unwrap_err();
        assert!(full(&refused, "x", 1), "{refused:?}");
        d.shutdown().await;
    }
}

/// The transport seam: remote destinations and incoming messages.
mod seam {
    use super::*;

    /// A link that records what it is given and answers requests with
    /// `Text("remote")`.
    #[derive(Default)]
    pub(super) struct Recorder {
        pub(super) got: Mutex<Vec<Message>>,
    }

    impl Outlet for Recorder {
        fn name(&self) -> &str {
            "recorder"
        }

        fn send(&self, delivery: Delivery) -> Result<(), (Error, Delivery)> {
            let Delivery { message, reply } = delivery;
            if reply.is_wanted() {
                let answer =
                    Message::reply_to(message.envelope(), Arc::new(Text::from("remote")), None);
                reply.send(Ok(answer));
            }
            self.got.lock().unwrap().push(message);
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_remote_destination_is_served_by_its_link() {
        let d = Dispatcher::new();
        let link = Arc::new(Recorder::default());
        let attached = d.attach(link.clone());
        attached.claim("far").unwrap();
        d.send(Message::new(Empty).to("far")).unwrap();
        let r = within(d.request(Message::new(Empty).to("far"), None)).await.unwrap();
        assert_eq!(text(&r), "remote");
        assert_eq!(link.got.lock().unwrap().len(), 2);
        assert_eq!(d.snapshot().remote, [(Id::from("far"), "recorder".to_owned())]);
        assert!(matches!(d.register("far", inbox()), Err(Error::DestinationTaken(_))));
        attached.detach();
        assert!(matches!(d.send(Message::new(Empty).to("far")), Err(Error::UnknownDestination(_))));
    }

    #[tokio::test]
    async fn a_group_with_a_remote_member_is_sent_over_the_link_once() {
        let d = Dispatcher::new();
        let link = Arc::new(Recorder::default());
        let local = inbox();
        d.register("near", local.clone()).unwrap();
        d.subscribe("near", "G").unwrap();
        let attached = d.attach(link.clone());
        attached.join_group("G");
        attached.join_group("G");
        let replies =
            within(d.request_group(Message::new(Empty).to_group("G"), None)).await.unwrap();
        assert_eq!(replies.len(), 2);
        assert_eq!(link.got.lock().unwrap().len(), 1);
        d.shutdown().await;
    }

    #[tokio::test]
    async fn an_incoming_message_reaches_the_local_listener_and_its_reply_goes_back() {
        let d = Dispatcher::new();
        d.register("echo", echo()).unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let msg = Message::new(Text::from("from afar")).to("echo").with_id(3).requiring_response();
        let mut inlet = d.inlet();
        inlet
            .deliver(
                msg,
                ReplySender::callback(dispatchio_core::MessageId(3), move |r| {
                    let _ = tx.send(r);
                }),
            )
            .unwrap();
        let reply = within(rx).await.unwrap().unwrap();
        assert_eq!(text(&reply), "from afar");
        let (tx, rx) = tokio::sync::oneshot::channel();
        let e = inlet.deliver(
            Message::new(Empty).to("nobody"),
            ReplySender::callback(dispatchio_core::MessageId(4), move |r| {
                let _ = tx.send(r);
            }),
        );
        assert!(matches!(e, Err(Error::UnknownDestination(_))));
        assert!(matches!(within(rx).await.unwrap(), Err(Error::UnknownDestination(_))));
        d.shutdown().await;
    }

    #[tokio::test]
    async fn transports_are_told_when_what_this_process_serves_changes() {
        let d = Dispatcher::new();
        let mut watch = d.watch_directory();
        assert!(watch.changes().is_empty(), "nothing served yet");
        d.register("a", inbox()).unwrap();
        assert_eq!(watch.changes(), [DirectoryChange::Registered(Id::from("a"))]);
        d.subscribe("a", "G").unwrap();
        assert_eq!(watch.changes(), [DirectoryChange::GroupJoined(Id::from("G"))]);
        d.subscribe("a", "G").unwrap();
        assert!(watch.changes().is_empty(), "subscribing twice changes nothing");
        d.deregister("a").unwrap();
        assert_eq!(
            watch.changes(),
            [
                DirectoryChange::Deregistered(Id::from("a")),
                DirectoryChange::GroupLeft(Id::from("G"))
            ]
        );
        d.shutdown().await;
    }

    #[tokio::test]
    async fn a_directory_watch_wakes_on_a_change_and_leaves_claims_out() {
        let d = Dispatcher::new();
        let mut watch = d.watch_directory();
        let _ = watch.changes();
        let attached = d.attach(Arc::new(Recorder::default()));
        attached.claim("far").unwrap();
        attached.join_group("G");
        within(watch.changed()).await;
        assert!(watch.changes().is_empty(), "what a link serves is not this process's to announce");
        let woken = tokio::spawn(async move {
            watch.changed().await;
            watch.changes()
        });
        d.register("near", inbox()).unwrap();
        assert_eq!(within(woken).await.unwrap(), [DirectoryChange::Registered(Id::from("near"))]);
        d.shutdown().await;
    }

    #[tokio::test]
    async fn a_fallback_link_takes_what_nobody_here_serves_and_nothing_else() {
        let d = Dispatcher::new();
        d.register("near", echo()).unwrap();
        let link = Arc::new(Recorder::default());
        let attached = d.attach(link.clone());
        assert!(attached.set_fallback());
        assert!(!d.attach(Arc::new(Recorder::default())).set_fallback(), "one fallback at a time");
        assert_eq!(d.snapshot().fallback.as_deref(), Some("recorder"));
        // An unknown destination and a group with no member here go over the link.
        let r = within(d.request(Message::new(Empty).to("far"), None)).await.unwrap();
        assert_eq!(text(&r), "remote");
        d.send(Message::new(Empty).to_group("G")).unwrap();
        assert_eq!(link.got.lock().unwrap().len(), 2);
        // What is served here stays here.
        let r = within(d.request(Message::new(Text::from("hi")).to("near"), None)).await.unwrap();
        assert_eq!(text(&r), "hi");
        assert_eq!(link.got.lock().unwrap().len(), 2);
        // A message from another process is never sent back out.
        let e = d.inlet().deliver(Message::new(Empty).to("far"), ReplySender::unwanted());
        assert!(matches!(e, Err(Error::UnknownDestination(_))), "{e:?}");
        assert!(matches!(
            d.send_sync(Message::new(Empty).to("far")),
            Err(Error::Sync(SyncError::Remote))
        ));
        attached.detach();
        assert_eq!(d.snapshot().fallback, None);
        assert!(matches!(d.send(Message::new(Empty).to("far")), Err(Error::UnknownDestination(_))));
        d.shutdown().await;
    }

    #[tokio::test]
    async fn a_link_withdraws_and_leaves_only_what_is_its_own() {
        let d = Dispatcher::new();
        d.register("near", inbox()).unwrap();
        d.subscribe("near", "G").unwrap();
        // A link named like the local listener: still not the listener.
        struct Named;
        impl Outlet for Named {
            fn name(&self) -> &str {
                "near"
            }
            fn send(&self, delivery: Delivery) -> Result<(), (Error, Delivery)> {
                drop(delivery);
                Ok(())
            }
        }
        let attached = d.attach(Arc::new(Named));
        assert!(matches!(attached.claim("near"), Err(Error::DestinationTaken(_))));
        assert!(!attached.withdraw(&Id::from("near")));
        assert!(!attached.leave_group(&Id::from("G")));
        assert_eq!(d.snapshot().listeners, [Id::from("near")]);
        assert_eq!(d.snapshot().groups, [(Id::from("G"), vec![Id::from("near")])]);
        attached.claim("far").unwrap();
        assert!(attached.withdraw(&Id::from("far")));
        assert!(d.snapshot().remote.is_empty());
        d.shutdown().await;
    }

    #[tokio::test]
    async fn an_incoming_group_request_hears_from_every_local_subscriber() {
        let d = Dispatcher::new();
        let table = RoutingTable::builder()
            .rule("all", Cond::Always, [Action::call("fail")])
            .build()
            .unwrap();
        let failing = || {
            Arc::new(
                RoutedListener::builder(table.clone())
                    .handler("fail", |_: &Message| Err(HandlerError::new("no")))
                    .build()
                    .unwrap(),
            )
        };
        d.register("ok", echo()).unwrap();
        d.register("bad", failing()).unwrap();
        for m in ["ok", "bad"] {
            d.subscribe(m, "G").unwrap();
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        let msg = Message::new(Empty).to_group("G").with_id(9).requiring_response();
        d.inlet()
            .deliver(
                msg,
                ReplySender::callback(dispatchio_core::MessageId(9), move |r| {
                    let _ = tx.send(r);
                }),
            )
            .unwrap();
        match within(rx).await.unwrap() {
            Err(Error::Group(g)) => {
                assert_eq!(g.succeeded, 1);
                assert_eq!(g.failures.len(), 1);
                assert_eq!(g.failures[0].0, Id::from("bad"));
            }
            other => panic!("expected the group's failures, got {other:?}"),
        }
        d.shutdown().await;
    }

    #[tokio::test]
    async fn a_one_way_group_message_from_a_transport_is_done_with_once_every_member_is() {
        let d = Dispatcher::new();
        let gate = Arc::new(tokio::sync::Notify::new());
        let opened = gate.clone();
        let slow = calling_async("slow", move |_| {
            let opened = opened.clone();
            async move {
                opened.notified().await;
                Ok(Reply::Empty)
            }
        });
        let held = Arc::new(tokio::sync::Semaphore::new(0));
        let permits = held.clone();
        let narrow = calling_async("narrow", move |_| {
            let permits = permits.clone();
            async move {
                let _ = permits.acquire().await;
                Ok(Reply::Empty)
            }
        });
        d.register("slow", slow).unwrap();
        d.register("fast", echo()).unwrap();
        d.register_bounded("narrow", narrow, 1).unwrap();
        for m in ["slow", "fast"] {
            d.subscribe(m, "G").unwrap();
        }
        for m in ["fast", "narrow"] {
            d.subscribe(m, "H").unwrap();
        }
        let (tx, mut told) = tokio::sync::mpsc::unbounded_channel();
        let slot = |tx: tokio::sync::mpsc::UnboundedSender<_>| {
            ReplySender::unwanted_then(move |refused: Option<&Error>| {
                let _ = tx.send(refused.cloned());
            })
        };
        d.inlet().deliver(Message::new(Empty).to_group("G"), slot(tx.clone())).unwrap();
        within(d.flush("fast")).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(told.try_recv().is_err(), "told before the slow member was done");
        gate.notify_one();
        assert!(matches!(within(told.recv()).await, Some(None)), "done, nothing refused");
        // A member whose mailbox is full (one message handled, one
        // waiting): told once all are done, of that refusal.
        d.send(Message::new(Empty).to("narrow")).unwrap();
        until(|| d.send(Message::new(Empty).to("narrow")).is_err()).await;
        d.inlet().deliver(Message::new(Empty).to_group("H"), slot(tx)).unwrap();
        match within(told.recv()).await {
            Some(Some(Error::Group(g))) => {
                assert_eq!(g.succeeded, 1);
                let [(who, Error::MailboxFull { .. })] = &g.failures[..] else { panic!("{g:?}") };
                assert_eq!(who, &Id::from("narrow"));
            }
            other => panic!("expected the full mailbox's refusal, got {other:?}"),
        }
        held.add_permits(10);
        d.shutdown().await;
    }

    /// Two links' readers delivering to one listener at once, as two
    /// peers' streams to one destination do: a reader that found the
    /// listener busy, while its task was kept from the mailbox by that
    /// reader, once left the task asleep with messages queued (found by the
    /// soak program: every later message then queued behind them for good).
    #[test]
    fn two_readers_delivering_to_one_listener_never_leave_its_messages_queued() {
        const EACH: usize = 200_000;
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
        let d = rt.block_on(async { Dispatcher::new() });
        let count = Arc::new(AtomicUsize::new(0));
        let c = count.clone();
        let counter = calling("count", move |_m: &Message| {
            c.fetch_add(1, Ordering::Relaxed);
            Ok(Reply::Empty)
        });
        rt.block_on(async { d.register("counter", counter) }).unwrap();
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let d = d.clone();
                std::thread::spawn(move || {
                    let mut inlet = d.inlet();
                    for _ in 0..EACH {
                        let m = Message::new(Empty).to("counter");
                        inlet.deliver(m, ReplySender::unwanted()).unwrap();
                    }
                })
            })
            .collect();
        for r in readers {
            r.join().unwrap();
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while count.load(Ordering::Relaxed) < 2 * EACH && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(
            count.load(Ordering::Relaxed),
            2 * EACH,
            "messages left queued, nobody to take them"
        );
        rt.block_on(d.shutdown());
    }

    #[test]
    fn listener_is_object_safe() {
        fn takes(_: &dyn Listener) {}
        takes(&*inbox());
    }
}
