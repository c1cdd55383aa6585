//! Groups in JetStream mode: a group message published into the stream
//! once for each dispatcher with members that reads the group there,
//! acknowledged once every local member is done with it; a member's
//! process killed mid-stream gets again what it had not acknowledged; a
//! group request's failures from every dispatcher reach the sender.

use async_nats::jetstream;
use dispatchio_nats::Namespace;

use super::durable::{
    ACK_WAIT, durable, handled, killed_mid_stream_and_restarted, spawn_durable_child, stuck,
};
use super::groups::{group_request_lists_each_failure, roster_shows};
use super::*;

/// A dispatcher named `name` whose `member` (a counting listener) is a
/// member of `players`, joined with `config`.
async fn member(config: NatsConfig, member: &str) -> (Dispatcher, Nats, Seen) {
    let d = Dispatcher::new();
    let seen = counting(&d, member);
    d.subscribe(member.to_owned(), "players").unwrap();
    let n = d.join_nats(config).await.unwrap();
    (d, n, seen)
}

#[tokio::test]
async fn a_group_message_reaches_every_member_in_order_through_the_stream_and_the_core_ones_too() {
    let server = NatsServer::start().await;
    let (alice, a, own) = member(durable(&server, "alice"), "a1").await;
    let (_p1, n1, s1) = member(durable(&server, "p1"), "m1").await;
    let (_p2, n2, s2) = member(durable(&server, "p2"), "m2").await;
    // A core-mode member beside them: reached on the group subject.
    let (_p3, _n3, s3) = member(config(&server, "p3"), "m3").await;
    roster_shows(&a, "players", &["p1", "p2", "p3"]).await;
    const N: u64 = 300;
    for n in 0..N {
        alice.send(Message::new(Num { n }).to_group("players")).unwrap();
    }
    for (who, seen) in [("alice's own", &own), ("p1's", &s1), ("p2's", &s2), ("p3's", &s3)] {
        until(&format!("{who} member's {N} messages"), || seen.nums.load(Ordering::SeqCst) == N)
            .await;
        assert_eq!(seen.out_of_order.load(Ordering::SeqCst), 0, "{who} member: in order");
    }
    // One message in the stream per JetStream-mode dispatcher, each
    // acknowledged there once handled.
    until("the stream's acknowledgements", || a.stats().stored == 2 * N).await;
    until("p1's and p2's acknowledgements", || n1.stats().acked == N && n2.stats().acked == N)
        .await;
    // Long enough for a redelivery, or a copy from the group subject, to
    // show: each still handled once.
    tokio::time::sleep(ACK_WAIT * 2).await;
    for seen in [&own, &s1, &s2, &s3] {
        assert_eq!(seen.nums.load(Ordering::SeqCst), N);
    }
    assert_eq!((n1.stats().redelivered, n2.stats().redelivered), (0, 0));
    let js = jetstream::new(server.client().await);
    let mut stream = js.get_stream("dispatchio-test").await.unwrap();
    assert_eq!(stream.info().await.unwrap().state.messages, 0, "nothing left owed");
}

#[tokio::test]
async fn a_member_killed_mid_stream_gets_every_unacknowledged_group_message_again_after_restart() {
    killed_mid_stream_and_restarted(Some("players")).await;
}

#[tokio::test]
async fn a_group_requests_failures_from_every_jetstream_dispatcher_reach_the_sender() {
    let server = NatsServer::start().await;
    let (a, b, c) = group_request_lists_each_failure(|name| durable(&server, name)).await;
    // Through the stream, once per dispatcher, each acknowledged once answered.
    assert_eq!(a.stats().stored, 2);
    until("both acknowledgements", || b.stats().acked == 1 && c.stats().acked == 1).await;
}

#[tokio::test]
async fn a_dispatcher_whose_last_member_leaves_a_group_deletes_its_consumer_and_what_it_was_owed() {
    let server = NatsServer::start().await;
    let alice = Dispatcher::new();
    let a = alice.join_nats(durable(&server, "alice")).await.unwrap();
    // p1's member never finishes a Num: what it is given stays owed.
    let p1 = Dispatcher::new();
    stuck(&p1, "m1");
    p1.subscribe("m1", "players").unwrap();
    let n1 = p1.join_nats(durable(&server, "p1")).await.unwrap();
    roster_shows(&a, "players", &["p1"]).await;
    for n in 0..10 {
        alice.send(Message::new(Num { n }).to_group("players")).unwrap();
    }
    until("the stream's acknowledgements", || a.stats().stored == 10).await;
    let js = jetstream::new(server.client().await);
    let mut stream = js.get_stream("dispatchio-test").await.unwrap();
    let consumer = Namespace::group_consumer_name("p1", &Id::from("players"));
    assert!(stream.consumer_info(&consumer).await.is_ok());
    p1.unsubscribe("m1", "players");
    n1.sync().await;
    assert!(stream.consumer_info(&consumer).await.is_err(), "the group's consumer is deleted");
    assert_eq!(stream.info().await.unwrap().state.messages, 0, "nothing left for p1");
    roster_shows(&a, "players", &[]).await;
    assert_eq!(n1.stats().acked, 0);
}

#[tokio::test]
async fn a_member_found_dead_by_a_group_request_still_has_its_group_messages_stored_for_it() {
    let server = NatsServer::start().await;
    let url = server.url().to_owned();
    let wait = Duration::from_secs(60);
    let (mut first, _) = tokio::task::spawn_blocking({
        let url = url.clone();
        move || spawn_durable_child(&url, None, wait, Some("players"))
    })
    .await
    .unwrap();
    let alice = Dispatcher::new();
    let a = alice.join_nats(durable(&server, "alice")).await.unwrap();
    roster_shows(&a, "players", &["child"]).await;
    first.0.kill().unwrap();
    first.0.wait().unwrap();
    // A group request finds the member's dispatcher gone (its part fails
    // as lost, and no request waits for it any more) ...
    let ask = Message::new(Num { n: 1000 }).to_group("players");
    let lost = within("the group request", alice.request_group(ask, Some(PROMPTLY))).await;
    let Err(Error::Group(g)) = &lost else { panic!("expected a group error: {lost:?}") };
    let [(_, Error::Transport(t))] = &g.failures[..] else { panic!("{g:?}") };
    assert_eq!(t.kind(), TransportErrorKind::PeerLost, "{t}");
    roster_shows(&a, "players", &[]).await;
    // ... but what is sent to the group is still stored for it: a request
    // (its part failed at once, not waited for until its timeout) and
    // one-way messages,
    let started = Instant::now();
    let ask = Message::new(Num { n: 1001 }).to_group("players");
    let at_once = within("the second request", alice.request_group(ask, Some(PROMPTLY))).await;
    let Err(Error::Group(g)) = &at_once else { panic!("expected a group error: {at_once:?}") };
    let [(_, Error::Transport(t))] = &g.failures[..] else { panic!("{g:?}") };
    assert_eq!(t.kind(), TransportErrorKind::PeerLost, "{t}");
    assert!(started.elapsed() < PROMPTLY / 2, "{:?}", started.elapsed());
    for n in 0..100 {
        alice.send(Message::new(Num { n }).to_group("players")).unwrap();
    }
    until("the stream's acknowledgements", || a.stats().stored == 102).await;
    // and its next life gets all of it, the requests' messages too.
    let (_second, rx) =
        tokio::task::spawn_blocking(move || spawn_durable_child(&url, None, wait, Some("players")))
            .await
            .unwrap();
    let mut got = std::collections::BTreeMap::new();
    handled(&rx, &mut got, 102).await;
    let expected: Vec<u64> = (0..100).chain([1000, 1001]).collect();
    assert_eq!(got.keys().copied().collect::<Vec<_>>(), expected);
    roster_shows(&a, "players", &["child"]).await;
}
