//! Group requests across dispatchers: the roster tells the sender who has
//! members, and the sender waits for each of them.

use std::collections::BTreeSet;

use super::*;
use dispatchio_nats::Nats;

/// Waits until `nats`'s roster lists exactly `names` for `group`.
pub(super) async fn roster_shows(nats: &Nats, group: &str, names: &[&str]) {
    let want: BTreeSet<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let group = Id::from(group);
    within("the roster", async {
        while nats.roster().get(&group).cloned().unwrap_or_default() != want {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

/// A dispatcher named `name` on `server` whose `member` subscribes to
/// `players` and answers [`Ask`]s.
async fn player(server: &NatsServer, name: &str, member: &str) -> (Dispatcher, Nats) {
    let d = Dispatcher::new();
    counting(&d, member);
    d.subscribe(member.to_owned(), "players").unwrap();
    let n = d.join_nats(config(server, name)).await.unwrap();
    (d, n)
}

#[tokio::test]
async fn a_group_request_waits_for_every_dispatcher_with_members_and_lists_each_failure() {
    let server = NatsServer::start().await;
    group_request_lists_each_failure(|name| config(&server, name)).await;
}

/// bob's member of `players` fails at once, carol's answers only when told
/// to; alice's group request must wait for both and list bob's failure
/// beside carol's success. Each joins with `config(name)`; their handles
/// are given back (alice, bob, carol).
pub(super) async fn group_request_lists_each_failure(
    config: impl Fn(&str) -> NatsConfig,
) -> (Nats, Nats, Nats) {
    let bob = Dispatcher::new();
    counting(&bob, "b1");
    bob.subscribe("b1", "players").unwrap();
    let b = bob.join_nats(config("bob")).await.unwrap();
    let carol = Dispatcher::new();
    let mut deferred = deferring(&carol, "c1");
    carol.subscribe("c1", "players").unwrap();
    let c = carol.join_nats(config("carol")).await.unwrap();
    let alice = Dispatcher::new();
    let a = alice.join_nats(config("alice")).await.unwrap();
    roster_shows(&a, "players", &["bob", "carol"]).await;
    let request = tokio::spawn({
        let alice = alice.clone();
        async move {
            alice
                .request_group(Message::new(Text::from("hi")).to_group("players"), Some(PROMPTLY))
                .await
        }
    });
    let id = within("carol's deferral", deferred.recv()).await.unwrap();
    // bob's failure alone does not answer the request: carol's is awaited.
    carol.reply_with(id, Ans { n: 0, seen: 0 }).unwrap();
    let result = within("the group request", request).await.unwrap();
    let Err(Error::Group(outer)) = result else { panic!("expected a group error: {result:?}") };
    // alice's one member is the outlet; its failure lists every dispatcher's.
    let [(_, Error::Group(inner))] = &outer.failures[..] else { panic!("{outer:?}") };
    assert_eq!(inner.succeeded, 1, "{inner:?}");
    let [(who, Error::Handler { error, .. })] = &inner.failures[..] else { panic!("{inner:?}") };
    assert_eq!(who, &Id::from("nats:test/bob"));
    assert!(error.to_string().contains("no such thing"), "{error}");
    (a, b, c)
}

#[tokio::test]
async fn a_process_with_a_member_of_its_own_reaches_the_members_of_the_others_too() {
    let server = NatsServer::start().await;
    let (bob, b) = player(&server, "bob", "b1").await;
    let (alice, a) = player(&server, "alice", "a1").await;
    roster_shows(&a, "players", &["bob"]).await;
    roster_shows(&b, "players", &["alice"]).await;
    let replies = within(
        "the group request",
        alice.request_group(Message::new(Ask { n: 1 }).to_group("players"), Some(PROMPTLY)),
    )
    .await
    .unwrap();
    let who: Vec<Id> = replies.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(who, vec![Id::from("a1"), Id::from(a.outlet_name())]);
    // One-way too: bob's member gets alice's greeting.
    alice.send(Message::new(Num { n: 0 }).to_group("players")).unwrap();
    within("bob's member's greeting", async {
        loop {
            let ask = Message::new(Ask { n: 2 }).to("b1");
            let r = bob.request(ask, Some(PROMPTLY)).await.unwrap();
            if r.content_as::<Ans>().map(|a| a.seen) == Some(1) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn a_group_message_sent_once_the_roster_lists_a_dispatcher_reaches_it() {
    let server = NatsServer::start().await;
    let (bob, _b) = player(&server, "bob", "b1").await;
    let (alice, a) = player(&server, "alice", "a1").await;
    for round in 0..30 {
        let group = format!("table-{round}");
        alice.subscribe("a1", group.as_str()).unwrap();
        // alice's serving task busy claiming destinations (a round trip to
        // the server each) while bob's roster note comes in.
        for k in 0..20 {
            counting(&alice, &format!("x-{round}-{k}"));
        }
        bob.subscribe("b1", group.as_str()).unwrap();
        // Looked at as often as the runtime lets it, so that the check comes
        // right after bob's note arrives: the outlet must be a member then.
        let bob_listed = Id::from(group.as_str());
        within("bob on the roster", async {
            while !a.roster().get(&bob_listed).is_some_and(|names| names.contains("bob")) {
                tokio::task::yield_now().await;
            }
        })
        .await;
        let ask = Message::new(Ask { n: round }).to_group(group.as_str());
        let replies =
            within("the group request", alice.request_group(ask, Some(PROMPTLY))).await.unwrap();
        let who: Vec<Id> = replies.iter().map(|(id, _)| id.clone()).collect();
        assert_eq!(who, vec![Id::from("a1"), Id::from(a.outlet_name())], "round {round}");
    }
}

#[tokio::test]
async fn a_dispatcher_that_dies_without_leaving_fails_the_group_request_as_lost_not_a_hang() {
    let server = NatsServer::start().await;
    let (_bob, _b) = player(&server, "bob", "b1").await;
    let alice = Dispatcher::new();
    let a = alice.join_nats(config(&server, "alice")).await.unwrap();
    // A dispatcher "ghost" says it has members, and is never heard of again
    // (as if killed): nobody answers on its presence subject.
    let ghost = server.client().await;
    ghost.publish("test.r", ghost_note().into()).await.unwrap();
    crate::support::round_trip(&ghost).await;
    roster_shows(&a, "players", &["bob", "ghost"]).await;
    let result = within(
        "the group request",
        alice.request_group(
            Message::new(Ask { n: 1 }).to_group("players"),
            Some(Duration::from_secs(600)),
        ),
    )
    .await;
    let Err(Error::Group(outer)) = result else { panic!("expected a group error: {result:?}") };
    let [(_, Error::Group(inner))] = &outer.failures[..] else { panic!("{outer:?}") };
    assert_eq!(inner.succeeded, 1, "{inner:?}");
    let [(who, Error::Transport(t))] = &inner.failures[..] else { panic!("{inner:?}") };
    assert_eq!(who, &Id::from("nats:test/ghost"));
    assert_eq!(t.kind(), TransportErrorKind::PeerLost, "{t}");
    roster_shows(&a, "players", &["bob"]).await;
}

/// The roster note of a dispatcher "ghost" with a member of `players`, as
/// the transport writes it (MessagePack of its note enum).
fn ghost_note() -> Vec<u8> {
    #[derive(Serialize)]
    enum Note {
        Here { name: String, groups: BTreeSet<Id>, roll_call: bool },
    }
    rmp_serde::to_vec(&Note::Here {
        name: "ghost".into(),
        groups: [Id::from("players")].into(),
        roll_call: false,
    })
    .unwrap()
}

#[tokio::test]
async fn a_dispatcher_that_leaves_is_off_the_others_roster() {
    let server = NatsServer::start().await;
    let (_bob, b) = player(&server, "bob", "b1").await;
    let (_alice, a) = player(&server, "alice", "a1").await;
    roster_shows(&a, "players", &["bob"]).await;
    b.leave().await;
    roster_shows(&a, "players", &[]).await;
}
