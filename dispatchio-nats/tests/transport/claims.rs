//! Claims in core mode: an ID two dispatchers serve is a conflict both
//! report, served by one of them only.

use futures::StreamExt;

use super::*;
use dispatchio_nats::Conflict;

/// Waits until `nats` lists exactly the conflicts `want` as (id, holder,
/// claimant).
async fn conflicts_are(nats: &Nats, want: &[(&str, &str, &str)]) {
    let want: Vec<(Id, String, String)> =
        want.iter().map(|(id, h, c)| (Id::from(*id), (*h).to_owned(), (*c).to_owned())).collect();
    let seen = |list: &[Conflict]| -> Vec<(Id, String, String)> {
        list.iter().map(|c| (c.id.clone(), c.holder.clone(), c.claimant.clone())).collect()
    };
    let mut watch = nats.watch_conflicts();
    within("the conflicts", async {
        while seen(&watch.borrow_and_update()) != want {
            watch.changed().await.unwrap();
        }
    })
    .await;
}

/// Dispatchers named `names` that each serve `x`, joined one after the
/// other (the first holds `x`).
async fn claimants<const N: usize>(
    server: &NatsServer,
    names: [&str; N],
) -> [(Dispatcher, Nats, Seen); N] {
    let mut out = Vec::new();
    for name in names {
        let d = Dispatcher::new();
        let seen = counting(&d, "x");
        let n = d.join_nats(config(server, name)).await.unwrap();
        out.push((d, n, seen));
    }
    out.try_into().unwrap_or_else(|_| unreachable!("one per name"))
}

/// Sends `n` [`Num`]s to `dest` from `from`, then a request that returns
/// once all of them were handled.
async fn send_nums(from: &Dispatcher, dest: &str, n: u64) -> Ans {
    for i in 0..n {
        from.send(Message::new(Num { n: i }).to(dest.to_owned())).unwrap();
    }
    let reply = from.request(Message::new(Ask { n }).to(dest.to_owned()), Some(PROMPTLY));
    within("the request after the nums", reply).await.unwrap().content_as::<Ans>().unwrap().clone()
}

#[tokio::test]
async fn an_id_two_dispatchers_serve_is_a_conflict_both_report_and_one_serves() {
    let server = NatsServer::start().await;
    let [(_bob, b, bobs), (_carol, c, carols)] = claimants(&server, ["bob", "carol"]).await;
    conflicts_are(&c, &[("x", "bob", "carol")]).await;
    conflicts_are(&b, &[("x", "bob", "carol")]).await;
    assert_eq!((b.stats().conflicts, c.stats().conflicts), (1, 1));
    let alice = Dispatcher::new();
    let _a = alice.join_nats(config(&server, "alice")).await.unwrap();
    let ans = send_nums(&alice, "x", 200).await;
    // Every message to bob, in order; none to carol, which does not serve x.
    assert_eq!(ans, Ans { n: 200, seen: 200 });
    assert_eq!(bobs.nums.load(Ordering::SeqCst), 200);
    assert_eq!(bobs.out_of_order.load(Ordering::SeqCst), 0);
    assert_eq!(carols.nums.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn the_dispatcher_that_lost_a_claim_serves_the_id_once_the_holder_lets_it_go() {
    let server = NatsServer::start().await;
    let [(_bob, b, _), (_carol, c, carols)] = claimants(&server, ["bob", "carol"]).await;
    conflicts_are(&c, &[("x", "bob", "carol")]).await;
    b.leave().await;
    conflicts_are(&c, &[]).await;
    c.sync().await;
    let alice = Dispatcher::new();
    let _a = alice.join_nats(config(&server, "alice")).await.unwrap();
    let ans = send_nums(&alice, "x", 10).await;
    assert_eq!(ans, Ans { n: 10, seen: 10 });
    assert_eq!(carols.nums.load(Ordering::SeqCst), 10);
}

#[tokio::test]
async fn a_conflict_ends_for_the_holder_when_the_claimant_lets_the_id_go() {
    let server = NatsServer::start().await;
    let [(_bob, b, _), (carol, c, _)] = claimants(&server, ["bob", "carol"]).await;
    conflicts_are(&b, &[("x", "bob", "carol")]).await;
    carol.deregister("x").unwrap();
    c.sync().await;
    conflicts_are(&b, &[]).await;
    conflicts_are(&c, &[]).await;
}

#[tokio::test]
async fn two_dispatchers_claiming_an_id_at_once_end_with_one_holder_that_both_name() {
    let server = NatsServer::start().await;
    let (d1, d2) = (Dispatcher::new(), Dispatcher::new());
    let s1 = counting(&d1, "x");
    let s2 = counting(&d2, "x");
    let (n1, n2) =
        tokio::join!(d1.join_nats(config(&server, "one")), d2.join_nats(config(&server, "two")));
    let (n1, n2) = (n1.unwrap(), n2.unwrap());
    // Whoever asked first holds x; at the same moment, the smaller name.
    let holder = within("one conflict", async {
        loop {
            let (c1, c2) = (n1.conflicts(), n2.conflicts());
            if let ([a], [b]) = (&c1[..], &c2[..]) {
                if a == b {
                    return a.holder.clone();
                }
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let alice = Dispatcher::new();
    let _a = alice.join_nats(config(&server, "alice")).await.unwrap();
    let ans = send_nums(&alice, "x", 50).await;
    assert_eq!(ans, Ans { n: 50, seen: 50 });
    let (held, other) = if holder == "one" { (&s1, &s2) } else { (&s2, &s1) };
    assert_eq!(held.nums.load(Ordering::SeqCst), 50);
    assert_eq!(other.nums.load(Ordering::SeqCst), 0);
}

/// A claim ask as the transport writes it: `name` wants the ID, and holds
/// its claim subject already (it asked at the same moment as the holder).
fn ask_holding(name: &str) -> Vec<u8> {
    rmp_serde::to_vec(&ClaimMsg::Ask { name: name.into(), holding: true }).unwrap()
}

/// The claim messages, as the transport writes them.
#[derive(Serialize)]
enum ClaimMsg {
    Ask { name: String, holding: bool },
    Held { name: String },
}

#[tokio::test]
async fn of_two_that_claimed_at_once_the_smaller_name_keeps_the_id_and_the_other_lets_it_go() {
    let server = NatsServer::start().await;
    let bob = Dispatcher::new();
    counting(&bob, "x");
    let b = bob.join_nats(config(&server, "bob")).await.unwrap();
    let other = server.client().await;
    // "zed" asked at the same moment: bob keeps x.
    let held = other.request("test.c.s.x", ask_holding("zed").into()).await.unwrap();
    assert!(String::from_utf8_lossy(&held.payload).contains("bob"));
    conflicts_are(&b, &[("x", "bob", "zed")]).await;
    // "abe" did too: bob lets x go to it, and stops serving x on the cluster
    // (abe answers bob's asks from then on, as a holder does).
    let mut abes_claim = other.subscribe("test.c.s.x").await.unwrap();
    crate::support::round_trip(&other).await;
    let abe = other.clone();
    tokio::spawn(async move {
        while let Some(ask) = abes_claim.next().await {
            let held = rmp_serde::to_vec(&ClaimMsg::Held { name: "abe".into() }).unwrap();
            abe.publish(ask.reply.unwrap(), held.into()).await.unwrap();
        }
    });
    other.request("test.c.s.x", ask_holding("abe").into()).await.unwrap();
    conflicts_are(&b, &[("x", "abe", "bob")]).await;
    b.sync().await;
    let alice = Dispatcher::new();
    let _a = alice.join_nats(config(&server, "alice")).await.unwrap();
    let result = alice.request(Message::new(Ask { n: 1 }).to("x"), Some(PROMPTLY)).await;
    assert!(matches!(result, Err(Error::UnknownDestination(_))), "{result:?}");
}
