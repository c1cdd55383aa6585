//! Groups in JetStream mode: a group message published into the stream
//! once for each dispatcher with members that reads the group there,
//! acknowledged once every local member is done with it; a member's
//! process killed mid-stream gets again what it had not acknowledged; a
//! group request's failures from every dispatcher reach the sender.

use async_nats::jetstream;

use super::durable::{ACK_WAIT, durable, killed_mid_stream_and_restarted};
use super::groups::roster_shows;
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
    // bob's member fails at once; carol's answers only when told to.
    let (_bob, b, _) = member(durable(&server, "bob"), "b1").await;
    let carol = Dispatcher::new();
    let mut deferred = deferring(&carol, "c1");
    carol.subscribe("c1", "players").unwrap();
    let c = carol.join_nats(durable(&server, "carol")).await.unwrap();
    let alice = Dispatcher::new();
    let a = alice.join_nats(durable(&server, "alice")).await.unwrap();
    roster_shows(&a, "players", &["bob", "carol"]).await;
    let request = tokio::spawn({
        let alice = alice.clone();
        async move {
            let ask = Message::new(Text::from("hi")).to_group("players");
            alice.request_group(ask, Some(PROMPTLY)).await
        }
    });
    let id = within("carol's deferral", deferred.recv()).await.unwrap();
    // bob's failure alone does not answer the request: carol's is awaited.
    carol.reply_with(id, Ans { n: 0, seen: 0 }).unwrap();
    let result = within("the group request", request).await.unwrap();
    let Err(Error::Group(outer)) = result else { panic!("expected a group error: {result:?}") };
    let [(_, Error::Group(inner))] = &outer.failures[..] else { panic!("{outer:?}") };
    assert_eq!(inner.succeeded, 1, "{inner:?}");
    let [(who, Error::Handler { error, .. })] = &inner.failures[..] else { panic!("{inner:?}") };
    assert_eq!(who, &Id::from("nats:test/bob"));
    assert!(error.to_string().contains("no such thing"), "{error}");
    // Through the stream, once per dispatcher, each acknowledged once answered.
    assert_eq!(a.stats().stored, 2);
    until("both acknowledgements", || b.stats().acked == 1 && c.stats().acked == 1).await;
}
