//! dispatchio-nats against a real `nats-server` (see `support`: installed
//! when missing, started by the tests on free loopback ports).

mod support;
mod transport;

use std::time::Duration;

use dispatchio_core::Id;
use dispatchio_nats::{MAX_SUBJECT_LEN, Namespace, SubjectKind};
use futures::StreamExt;

use support::{Cluster, NatsServer, round_trip};

/// Fails the test instead of hanging it.
async fn within<T>(what: &str, f: impl Future<Output = T>) -> T {
    match tokio::time::timeout(Duration::from_secs(30), f).await {
        Ok(v) => v,
        Err(_) => panic!("{what} did not finish within 30 s"),
    }
}

fn game() -> Namespace {
    Namespace::new("game").unwrap()
}

/// IDs whose subjects need every rule of the scheme: wildcards, dots,
/// whitespace, control and non-ASCII characters, the escape character, the
/// empty string, integers at both ends, and `7` beside `"7"`.
fn awkward_ids() -> Vec<Id> {
    let mut ids: Vec<Id> = [0, 7, -5, i64::MIN, i64::MAX].into_iter().map(Id::Int).collect();
    ids.extend(
        ["7", "bob", "", "_", "_2E", "a.b", "a b", "*", ">", "x.>", "\n\t", "é", "\u{0}"]
            .map(Id::from),
    );
    ids
}

mod one_server {
    use super::*;

    #[tokio::test]
    async fn each_destination_subject_receives_only_what_is_published_to_its_id() {
        let server = NatsServer::start().await;
        let client = server.client().await;
        let ns = game();
        let ids = awkward_ids();
        let mut subs = Vec::new();
        for id in &ids {
            subs.push(client.subscribe(ns.destination(id).unwrap()).await.unwrap());
        }
        // One connection: the server takes its subscriptions before the
        // publishes that follow them.
        let mut everything = client.subscribe(ns.all()).await.unwrap();

        for (n, id) in ids.iter().enumerate() {
            client.publish(ns.destination(id).unwrap(), n.to_string().into()).await.unwrap();
        }
        client.flush().await.unwrap();

        for (n, id) in ids.iter().enumerate() {
            let msg = within("a destination's message", subs[n].next()).await.unwrap();
            assert_eq!(msg.payload, n.to_string(), "what reached destination {id}");
            let msg = within("the namespace's wildcard", everything.next()).await.unwrap();
            assert_eq!(ns.parse(&msg.subject), Ok((SubjectKind::Destination, id.clone())));
            assert_eq!(msg.payload, n.to_string());
        }
        // Nothing reached a subscription that was not its own. The server
        // sends a connection its messages in order, and the client hands
        // each to its subscription before it reads the next: once `last`
        // has reached the first ID's subscription, anything sent before it
        // to another subscription is already waiting there.
        client.publish(ns.destination(&ids[0]).unwrap(), "last".into()).await.unwrap();
        client.flush().await.unwrap();
        assert_eq!(within("the last message", subs[0].next()).await.unwrap().payload, "last");
        assert_eq!(within("the last message", everything.next()).await.unwrap().payload, "last");
        for (sub, id) in subs.iter_mut().zip(&ids).skip(1) {
            assert!(
                futures::FutureExt::now_or_never(sub.next()).is_none(),
                "destination {id} received a message that was not its own"
            );
        }
    }

    #[tokio::test]
    async fn a_group_subject_reaches_every_subscriber_and_no_destination_of_the_same_id() {
        let server = NatsServer::start().await;
        let (a, b) = (server.client().await, server.client().await);
        let ns = game();
        let all = Id::from("All");
        let mut member_a = a.subscribe(ns.group(&all).unwrap()).await.unwrap();
        let mut member_b = b.subscribe(ns.group(&all).unwrap()).await.unwrap();
        let mut destination = a.subscribe(ns.destination(&all).unwrap()).await.unwrap();
        round_trip(&b).await;

        a.publish(ns.group(&all).unwrap(), "hello".into()).await.unwrap();
        a.publish(ns.destination(&all).unwrap(), "direct".into()).await.unwrap();
        a.flush().await.unwrap();
        assert_eq!(within("member a", member_a.next()).await.unwrap().payload, "hello");
        assert_eq!(within("member b", member_b.next()).await.unwrap().payload, "hello");
        assert_eq!(within("the destination", destination.next()).await.unwrap().payload, "direct");
    }

    #[tokio::test]
    async fn a_request_to_a_subject_nobody_serves_fails_at_once_with_no_responders() {
        let server = NatsServer::start().await;
        // A timeout far longer than the test may take: the answer that comes
        // is the server's, not the client's clock.
        let client = server
            .client_with(
                async_nats::ConnectOptions::new().request_timeout(Some(Duration::from_secs(600))),
            )
            .await;
        let subject = game().destination(&Id::from("nobody")).unwrap();
        let err = within("a request to nobody", client.request(subject, "?".into()))
            .await
            .expect_err("nobody serves that subject");
        assert_eq!(err.kind(), async_nats::RequestErrorKind::NoResponders, "{err}");
    }

    #[tokio::test]
    async fn a_one_way_message_to_nobody_with_a_reply_subject_comes_back_as_no_responders() {
        // What will let a one-way message to an ID nobody serves be counted
        // as unrouted rather than vanish: it is published with a reply
        // subject, and only the server ever answers there.
        let server = NatsServer::start().await;
        let client = server.client().await;
        let inbox = client.new_inbox();
        let mut answers = client.subscribe(inbox.clone()).await.unwrap();
        let nobody = game().destination(&Id::from("nobody")).unwrap();
        client.publish_with_reply(nobody, inbox, "hello".into()).await.unwrap();
        let answer = within("the server's answer", answers.next()).await.unwrap();
        assert_eq!(answer.status, Some(async_nats::StatusCode::NO_RESPONDERS));
    }

    #[tokio::test]
    async fn a_request_on_the_longest_subject_reaches_its_responder_and_gets_the_reply() {
        let server = NatsServer::start().await;
        let (serving, asking) = (server.client().await, server.client().await);
        let ns = game();
        let room = MAX_SUBJECT_LEN - "game.d.s.".len();
        // Escapes where they fit, so the subject is at the limit exactly.
        let id = Id::from(format!("{}{}", ".".repeat(room / 3), "x".repeat(room % 3)));
        let subject = ns.destination(&id).unwrap();
        assert_eq!(subject.len(), MAX_SUBJECT_LEN);

        let mut requests = serving.subscribe(subject.clone()).await.unwrap();
        round_trip(&serving).await;
        let responder = tokio::spawn(async move {
            let request = requests.next().await.unwrap();
            assert_eq!(ns.parse(&request.subject), Ok((SubjectKind::Destination, id)));
            serving.publish(request.reply.unwrap(), "served".into()).await.unwrap();
            serving.flush().await.unwrap();
        });
        let reply = within("the reply", asking.request(subject, "ask".into())).await.unwrap();
        assert_eq!(reply.payload, "served");
        responder.await.unwrap();
    }

    #[tokio::test]
    async fn the_server_runs_jetstream() {
        let server = NatsServer::start().await;
        server.wait_for_jetstream().await;
    }
}

mod cluster {
    use super::*;

    #[tokio::test]
    async fn messages_published_on_one_server_reach_a_subscriber_on_another_in_order() {
        let cluster = Cluster::start().await;
        let [first, _, last] = cluster.servers() else { unreachable!("three servers") };
        let (publisher, subscriber) = (first.client().await, last.client().await);
        let ns = game();
        let id = Id::from("bob");
        let mut bob = subscriber.subscribe(ns.destination(&id).unwrap()).await.unwrap();
        round_trip(&subscriber).await;

        // The subscription is in place on the subscriber's server; its
        // interest crosses the routes a moment later, and until then core
        // NATS drops what is published elsewhere. So: publish until one
        // arrives, then count.
        let first_heard = within("interest crossing the route", async {
            loop {
                publisher.publish(ns.destination(&id).unwrap(), "ping".into()).await.unwrap();
                publisher.flush().await.unwrap();
                let heard = tokio::time::timeout(Duration::from_millis(50), bob.next()).await;
                if let Ok(Some(msg)) = heard {
                    break msg;
                }
            }
        })
        .await;
        assert_eq!(ns.parse(&first_heard.subject), Ok((SubjectKind::Destination, id.clone())));
        for n in 0..100 {
            publisher.publish(ns.destination(&id).unwrap(), n.to_string().into()).await.unwrap();
        }
        publisher.flush().await.unwrap();
        let mut got = Vec::new();
        while got.len() < 100 {
            let msg = within("the hundred messages", bob.next()).await.unwrap();
            // Late pings of the first loop come before the counted ones.
            if msg.payload != "ping" {
                got.push(String::from_utf8(msg.payload.to_vec()).unwrap());
            }
        }
        let sent: Vec<String> = (0..100).map(|n: i32| n.to_string()).collect();
        assert_eq!(got, sent, "{} -> {}: all of them, in order", first.name(), last.name());
    }

    #[tokio::test]
    async fn every_server_of_the_cluster_answers_for_jetstream() {
        let cluster = Cluster::start().await;
        for server in cluster.servers() {
            server.wait_for_jetstream().await;
        }
    }
}
