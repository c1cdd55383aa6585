//! The card dealer: four players meet in group "All", and one of them deals.
//!
//! Every player registers a listener under its own name, subscribes to the
//! group "All" and greets the group. The dealer learns the other three names
//! from the greetings, then deals 20 cards round-robin by destination ID;
//! each player takes its five cards from its queue "hand". The routing is
//! the `.route` file `examples/routes/card_dealer.route`, compiled into typed
//! Rust by `include_routes!`.
//!
//! Run with `cargo run --example card_dealer` (add `-- --sync` to deal with
//! synchronous sends).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use dispatchio::{Dispatcher, Id, Message};

/// The players' routing, compiled from `examples/routes/card_dealer.route`:
/// greetings to the group go onto the queue `greetings`, cards onto `hand`,
/// anything else is dropped on purpose. The macro also generates the
/// message structs `Greeting { dealer }` and `Card { card }`.
mod routes {
    dispatchio::include_routes!("examples/routes/card_dealer.route");
}

pub(crate) use routes::{Card, Greeting};

/// The players, by name; the first one deals.
pub(crate) const PLAYERS: [&str; 4] = ["alice", "bob", "carol", "dave"];

/// How many cards the dealer deals.
pub(crate) const CARDS: usize = 20;

/// What happened at the table.
#[derive(Debug)]
pub(crate) struct Game {
    /// The cards the dealer sent to each player, in the order dealt.
    pub(crate) dealt: BTreeMap<Id, Vec<i64>>,
    /// The cards each player took from its queue, in the order taken.
    pub(crate) hands: BTreeMap<Id, Vec<i64>>,
    /// The other players the dealer learnt of from the greetings.
    pub(crate) dealer_saw: Vec<Id>,
}

/// A fixed shuffle of the deck, so the game is the same every run.
fn deck() -> Vec<i64> {
    (0..52).map(|i| (i * 17 + 5) % 52).collect()
}

/// Plays one game on `dispatcher`; `sync` deals with synchronous sends.
///
/// # Errors
///
/// Any dispatcher error, or a player that did not get its cards in time.
pub(crate) async fn play(
    dispatcher: &Dispatcher,
    sync: bool,
) -> Result<Game, Box<dyn std::error::Error + Send + Sync>> {
    let mut players = Vec::new();
    for name in PLAYERS {
        let me = dispatcher.register_source(name)?;
        // The player's table calls no handler: `()` is its handler.
        let listener = Arc::new(routes::player::Listener::new(()));
        dispatcher.register(name, listener.clone())?;
        dispatcher.subscribe(me.id(), "All")?;
        players.push((me, listener));
    }
    for (me, _) in &players {
        me.send(Message::new(Greeting { dealer: me.id() == PLAYERS[0] }).to_group("All"))?;
    }

    // The dealer: collect the other players' IDs from the greetings.
    let (dealer, dealer_listener) = &players[0];
    let greetings = dealer_listener.queue_greetings();
    let mut others = Vec::new();
    while others.len() < PLAYERS.len() - 1 {
        let g =
            greetings.recv_timeout(Duration::from_secs(5)).await.ok_or("no greeting within 5 s")?;
        let from = g.envelope().source.clone().ok_or("a greeting without a source")?;
        if &from != dealer.id() && !others.contains(&from) {
            others.push(from);
        }
    }
    let mut seats: Vec<Id> = others.clone();
    seats.push(dealer.id().clone());
    seats.sort();

    // Deal round-robin by destination ID.
    let mut dealt: BTreeMap<Id, Vec<i64>> = BTreeMap::new();
    for (i, card) in deck().into_iter().take(CARDS).enumerate() {
        let to = seats[i % seats.len()].clone();
        let msg = Message::new(Card { card }).to(to.clone());
        if sync {
            dealer.send_sync(msg)?;
        } else {
            dealer.send(msg)?;
        }
        dealt.entry(to).or_default().push(card);
    }

    // Every player takes its five cards from its queue.
    let mut hands = BTreeMap::new();
    for (me, listener) in &players {
        let hand = listener.queue_hand();
        let mut cards = Vec::new();
        for _ in 0..CARDS / PLAYERS.len() {
            let m = hand
                .recv_timeout(Duration::from_secs(5))
                .await
                .ok_or("a card did not arrive within 5 s")?;
            cards.push(m.content_as::<Card>().ok_or("a card that is not a Card")?.card);
        }
        hands.insert(me.id().clone(), cards);
    }
    others.sort();
    Ok(Game { dealt, hands, dealer_saw: others })
}

#[tokio::main]
#[allow(
    dead_code,
    reason = "also compiled as a module of the integration tests, which call `play`"
)]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let sync = std::env::args().any(|a| a == "--sync");
    let dispatcher = Dispatcher::new();
    println!("Four players sit down: {}.", PLAYERS.join(", "));
    println!("Each registers a listener under its name, joins group \"All\" and greets the group.");
    let game = play(&dispatcher, sync).await?;
    // String IDs print bare here; `Id`'s Display quotes them.
    let name = |id: &Id| id.as_str().map_or_else(|| id.to_string(), str::to_owned);
    let saw: Vec<String> = game.dealer_saw.iter().map(name).collect();
    println!(
        "The dealer, {}, learnt from the greetings who else is here: {}.",
        PLAYERS[0],
        saw.join(", ")
    );
    println!(
        "It deals {CARDS} cards round-robin by destination ID, with {} sends:",
        if sync { "synchronous" } else { "asynchronous" }
    );
    for (player, cards) in &game.hands {
        let ok = game.dealt.get(player) == Some(cards);
        let player = name(player);
        println!(
            "  {player:8} took {cards:?} from its queue {}",
            if ok { "(as dealt)" } else { "(NOT as dealt!)" }
        );
    }
    let snapshot = dispatcher.snapshot();
    println!(
        "Dispatcher: {} listeners, {} pending requests, {} messages unrouted.",
        snapshot.listeners.len(),
        snapshot.pending_requests,
        snapshot.counters.unrouted
    );
    dispatcher.shutdown().await;
    if game.hands != game.dealt {
        return Err("a player's hand differs from what was dealt".into());
    }
    println!("Every player holds exactly the five cards dealt to it, in order.");
    Ok(())
}
