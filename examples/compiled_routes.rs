//! Compiled routes end to end: `include_routes!` turns
//! `examples/routes/croupier.route` (which imports `card_dealer.route`) into
//! typed message structs, handler traits and listener types, and the
//! dispatcher runs them.
//!
//! Players greet the group "All" and get dealt cards onto their `hand`
//! queues (the `player` listener, queues only); the croupier welcomes every
//! greeting and takes bets with typed handlers, a synchronous one that
//! replies and an asynchronous one that reviews big bets.
//!
//! Run with `cargo run --example compiled_routes`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use dispatchio::{Dispatcher, Envelope, HandlerResult, Message, Reply, Text};

mod routes {
    dispatchio::include_routes!("examples/routes/croupier.route");
}

use routes::{Bet, Card, Greeting};

/// The croupier's handlers: one method per `call` in `croupier.route`, each
/// receiving the content already typed by the rule that calls it.
#[derive(Default)]
struct Croupier {
    welcomed: AtomicUsize,
    reviews: Arc<AtomicUsize>,
}

impl routes::croupier::Handler for Croupier {
    fn welcome(&self, envelope: &Envelope, content: &Greeting) -> HandlerResult {
        self.welcomed.fetch_add(1, Ordering::Relaxed);
        let who = envelope.source.as_ref().map_or_else(|| "someone".to_owned(), |s| s.to_string());
        println!("croupier: welcome, {who}{}", if content.dealer { " (dealer)" } else { "" });
        Ok(Reply::Empty)
    }

    fn review(
        &self,
        _envelope: &Envelope,
        content: &Bet,
    ) -> impl Future<Output = HandlerResult> + Send + 'static {
        // The future outlives the borrow of `content`: take what it needs first.
        let (amount, player, reviews) =
            (content.amount, content.player.clone(), self.reviews.clone());
        async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            reviews.fetch_add(1, Ordering::Relaxed);
            // The first `call` of the rules that fire gives the reply: for a
            // big bet that is this review, not `take_bet`.
            Ok(Reply::with(Text(format!(
                "{player}'s big bet of {amount} is accepted after review"
            ))))
        }
    }

    fn take_bet(&self, _envelope: &Envelope, content: &Bet) -> HandlerResult {
        Ok(Reply::with(Text(format!("{} bets {}", content.player, content.amount))))
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let dispatcher = Dispatcher::new();

    // The player listener calls no handler: `()` is its handler.
    let names = ["alice", "bob", "carol", "dave"];
    let mut players = Vec::new();
    for name in names {
        let source = dispatcher.register_source(name)?;
        let listener = Arc::new(routes::player::Listener::new(()));
        dispatcher.register(name, listener.clone())?;
        dispatcher.subscribe(source.id(), "All")?;
        players.push((source, listener));
    }
    let croupier = Arc::new(routes::croupier::Listener::new(Croupier::default()));
    dispatcher.register("croupier", croupier.clone())?;
    dispatcher.subscribe("croupier", "All")?;

    for (source, _) in &players {
        let dealer = source.id() == "alice";
        source.send(Message::new(Greeting { dealer }).to_group("All"))?;
    }

    // Alice deals two cards to everyone; each lands on the player's `hand` queue.
    let dealer = &players[0].0;
    for round in 0..2 {
        for (i, name) in names.iter().enumerate() {
            dealer.send(Message::new(Card { card: (round * 4 + i) as i64 }).to(*name))?;
        }
    }
    for (source, listener) in &players {
        let hand = listener.queue_hand();
        let mut cards = Vec::new();
        while cards.len() < 2 {
            let m = hand.recv_timeout(Duration::from_secs(5)).await.ok_or("no card in time")?;
            cards.extend(m.content_as::<Card>().map(|c| c.card));
        }
        println!("{}: holds {cards:?}", source.id());
    }

    // Requests: the handler's return value is the reply.
    let bob = &players[1].0;
    let timeout = Some(Duration::from_secs(5));
    for amount in [20, 250] {
        let bet = Message::new(Bet { amount, player: "bob".into() }).to("croupier");
        println!("croupier replied: {}", bob.request_as::<Text>(bet, timeout).await?.0);
    }
    // A zero bet is dropped on purpose: the requester learns it.
    let zero = Message::new(Bet { amount: 0, player: "bob".into() }).to("croupier");
    let refused = bob.request(zero, timeout).await;
    println!("a zero bet: {}", refused.map_or_else(|e| e.to_string(), |_| "accepted?".into()));

    // Once the croupier has handled everything (its async reviews too), the counters.
    dispatcher.flush("croupier").await?;
    let handlers = croupier.handlers();
    println!(
        "croupier: {} greetings welcomed, {} big bets reviewed",
        handlers.welcomed.load(Ordering::Relaxed),
        handlers.reviews.load(Ordering::Relaxed)
    );
    for (rule, hits) in croupier.rule_hits() {
        println!("  rule {rule}: {hits}");
    }
    dispatcher.shutdown().await;
    Ok(())
}
