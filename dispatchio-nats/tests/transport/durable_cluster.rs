//! JetStream mode on the three-server cluster: the stream kept on all
//! three, two dispatchers on different servers, and the server of one of
//! them killed mid-stream.

use std::collections::BTreeMap;

use async_nats::jetstream;
use dispatchio_nats::Delivery;
use parking_lot::Mutex;

use super::*;

/// The ack wait here: what was handled but whose acknowledgement died
/// with a connection comes again this long after.
const ACK_WAIT: Duration = Duration::from_secs(2);

/// How many times each [`Num`] was handled, by number.
type Handled = Arc<Mutex<BTreeMap<u64, u32>>>;

/// Registers `me`: it records each [`Num`] it handles and answers an
/// [`Ask`] with how many distinct numbers it has seen.
fn recording(d: &Dispatcher, me: &str) -> Handled {
    let handled = Handled::default();
    let table = RoutingTable::builder()
        .rule("num", Cond::type_is("Num"), [Action::call("num")])
        .rule("ask", Cond::type_is("Ask"), [Action::call("ask")])
        .build()
        .unwrap();
    let (nums, asked) = (handled.clone(), handled.clone());
    let listener = RoutedListener::builder(table)
        .handler("num", move |m: &Message| {
            let n = m.content_as::<Num>().ok_or_else(|| HandlerError::new("not a Num"))?.n;
            *nums.lock().entry(n).or_default() += 1;
            Ok(Reply::Empty)
        })
        .handler("ask", move |m: &Message| {
            let n = m.content_as::<Ask>().ok_or_else(|| HandlerError::new("not an Ask"))?.n;
            Ok(Reply::with(Ans { n, seen: asked.lock().len() as u64 }))
        })
        .build()
        .unwrap();
    d.register(me.to_owned(), Arc::new(listener)).unwrap();
    handled
}

/// Asks `bob` until a reply comes (interest and claims cross the routes a
/// moment after bob's server has them).
async fn reached(alice: &Dispatcher) -> Ans {
    within("bob across the cluster", async {
        loop {
            let ask = Message::new(Ask { n: 0 }).to("bob");
            match alice.request(ask, Some(Duration::from_secs(2))).await {
                Ok(reply) => return reply.content_as::<Ans>().cloned().unwrap(),
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    })
    .await
}

/// What this asserts, and why: every message sent, before and after the
/// kill, is handled (nothing the stream acknowledged to alice is lost, and
/// the stream took every one: nothing failed to be stored); a message is
/// handled twice only if bob had handled it before the kill and its
/// acknowledgement went down with the connection (then JetStream gives it
/// again after the ack wait: at least once), so only numbers sent before
/// the kill, and none more than twice.
#[tokio::test]
async fn jetstream_dispatchers_on_a_cluster_lose_nothing_when_a_node_dies_mid_stream() {
    let mut cluster = Cluster::start().await;
    cluster.wait_for_jetstream_on_all().await;
    let urls: Vec<String> = cluster.servers().iter().map(|s| s.url().to_owned()).collect();
    let on = |i: usize, name: &str| {
        NatsConfig::new(urls[i].clone())
            .namespace("test")
            .name(name)
            .registry(registry())
            .delivery(Delivery::JetStream)
            .ack_wait(ACK_WAIT)
    };
    let alice = Dispatcher::new();
    let a = alice.join_nats(on(0, "alice")).await.unwrap();
    let bob = Dispatcher::new();
    let handled = recording(&bob, "bob");
    let b = bob.join_nats(on(1, "bob").url(urls[2].clone())).await.unwrap();
    // The stream is kept on every server of the cluster.
    let js = jetstream::new(cluster.servers()[0].client().await);
    let mut stream = js.get_stream("dispatchio-test").await.unwrap();
    let info = stream.info().await.unwrap();
    assert_eq!(info.config.num_replicas, 3, "{info:?}");
    assert_eq!(info.cluster.as_ref().map(|c| c.replicas.len()), Some(2), "{info:?}");
    reached(&alice).await;
    const N: u64 = 1000;
    for n in 0..N {
        alice.send(Message::new(Num { n }).to("bob")).unwrap();
    }
    let port = b.client().server_info().port;
    let dead = urls.iter().position(|u| u.ends_with(&format!(":{port}"))).unwrap();
    assert_ne!(dead, 0, "bob is on node 1 or 2, not alice's");
    cluster.kill(dead);
    for n in N..2 * N {
        alice.send(Message::new(Num { n }).to("bob")).unwrap();
    }
    // bob reconnects to the other node it was given, and is reached there.
    reached(&alice).await;
    assert!(b.stats().disconnects >= 1, "{:?}", b.stats());
    assert_ne!(b.client().server_info().port, port, "bob reconnected to another node");
    let deadline = Instant::now() + Duration::from_secs(30);
    while handled.lock().len() < 2 * N as usize {
        if Instant::now() > deadline {
            let missing: Vec<u64> =
                (0..2 * N).filter(|n| !handled.lock().contains_key(n)).collect();
            let consumer = stream.consumer_info("bob").await;
            panic!(
                "{} messages not handled within 30 s ({:?}..={:?}); alice: {:?}; bob: {:?}; \
                 bob's consumer: {consumer:?}",
                missing.len(),
                missing.first(),
                missing.last(),
                a.stats(),
                b.stats()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Past the ack wait: what is given again after a lost acknowledgement
    // has come by now.
    tokio::time::sleep(ACK_WAIT * 2).await;
    let handled = handled.lock().clone();
    let all: Vec<u64> = handled.keys().copied().collect();
    assert_eq!(all, (0..2 * N).collect::<Vec<_>>(), "every message, before and after the kill");
    let twice: Vec<(u64, u32)> = handled.into_iter().filter(|(_, c)| *c > 1).collect();
    assert!(
        twice.iter().all(|&(n, c)| n < N && c == 2),
        "handled twice only if sent before the kill, and never more: {twice:?}"
    );
    assert_eq!(a.stats().store_failed, 0, "{:?}", a.stats());
}
