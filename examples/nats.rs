//! The card game across three processes on NATS: a dealer's process and
//! two more copies of this program, which find each other through the
//! cluster by ID alone.
//!
//! ```sh
//! cargo run --example nats                           # starts its own nats-server
//! cargo run --example nats -- nats://127.0.0.1:4222  # or plays on yours
//! ```
//!
//! The first process starts a `nats-server` when given none (installing it
//! with `scripts/install-test-deps` when missing), then starts
//! `nats player <url> bob` and `nats player <url> carol`. Every process has
//! one player subscribed to the group `table` (alice sits with the
//! dealer). The dealer greets the table (one-way, to a group), asks the
//! table whether everyone is ready (a group request: one answer from every
//! process), deals fifteen cards by player ID, then asks each player for
//! its hand (a request per player) and checks that each holds what it was
//! dealt, in order. Every process prints what it received; the game is
//! over when the dealer says so to the table, and the program exits 0.
//!
//! In your own code, with dispatchio's `nats` feature, the same types are
//! at `dispatchio::nats`; this example uses the crate itself, so that it
//! builds without the feature.

#[path = "support/nats_server.rs"]
mod nats_server;

use std::process::{Child, Command, ExitCode};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dispatchio::routing::{Action, Cond, RoutingTable};
use dispatchio::{
    ContentRegistry, ContentType, Dispatcher, Envelope, Error, Id, Message, Reply, RoutedListener,
};
use dispatchio_nats::{Nats, NatsConfig, NatsExt};
use serde::{Deserialize, Serialize};

/// The players; the first sits in the dealer's process, each other in a
/// process of its own.
const PLAYERS: [&str; 3] = ["alice", "bob", "carol"];
/// The cards, dealt round the table.
const CARDS: i64 = 15;
/// The group every player is in.
const TABLE: &str = "table";
/// How long any step may take before the game is called off.
const PATIENCE: Duration = Duration::from_secs(30);

/// To the table: hello from the dealer.
#[derive(Debug, Serialize, Deserialize, ContentType)]
struct Greeting {
    from: String,
}

/// To the table, a group request: are you ready?
#[derive(Debug, Serialize, Deserialize, ContentType)]
struct Ready;

/// A player's answer to [`Ready`].
#[derive(Debug, Serialize, Deserialize, ContentType)]
struct Seated {
    player: String,
}

/// One card, dealt to one player by ID.
#[derive(Debug, Serialize, Deserialize, ContentType)]
struct Card {
    n: i64,
}

/// A request to one player: show your hand.
#[derive(Debug, Serialize, Deserialize, ContentType)]
struct Show;

/// A player's answer to [`Show`]: the cards it got, in order, and who
/// greeted it.
#[derive(Debug, Serialize, Deserialize, ContentType)]
struct Hand {
    player: String,
    cards: Vec<i64>,
    greeted_by: Option<String>,
}

/// To the table: the game is over.
#[derive(Debug, Serialize, Deserialize, ContentType)]
struct GameOver;

fn registry() -> ContentRegistry {
    let mut r = ContentRegistry::new();
    r.register::<Greeting>()
        .register::<Ready>()
        .register::<Seated>()
        .register::<Card>()
        .register::<Show>()
        .register::<Hand>()
        .register::<GameOver>();
    r
}

fn config(url: &str, name: &str) -> NatsConfig {
    NatsConfig::new(url).namespace("cards").name(name).registry(registry())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["player", url, name] => player(url, name).await,
        [] => dealer(None).await,
        [url] => dealer(Some(url)).await,
        _ => Err("usage: nats [nats://host:port] (or: nats player <url> <name>)".to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nats example: {e}");
            ExitCode::FAILURE
        }
    }
}

/// What a player has received so far.
#[derive(Default)]
struct Seen {
    cards: Vec<i64>,
    greeted_by: Option<String>,
}

/// Registers `name`, a player at the table, in `d`; the game's end is
/// told on `over`.
fn seat(d: &Dispatcher, name: &str, over: tokio::sync::mpsc::UnboundedSender<()>) {
    let seen = Arc::new(parking_lot::Mutex::new(Seen::default()));
    let table = RoutingTable::builder()
        .rule("greeting", Cond::type_is("Greeting"), [Action::call("greeting")])
        .rule("ready", Cond::type_is("Ready"), [Action::call("ready")])
        .rule("card", Cond::type_is("Card"), [Action::call("card")])
        .rule("show", Cond::type_is("Show"), [Action::call("show")])
        .rule("over", Cond::type_is("GameOver"), [Action::call("over")])
        .build()
        .expect("the player's table is well formed");
    let me = name.to_owned();
    let (s1, s2, s3) = (seen.clone(), seen.clone(), seen);
    let (m1, m2, m3, m4, m5) = (me.clone(), me.clone(), me.clone(), me.clone(), me);
    let listener = RoutedListener::builder(table)
        .typed_handler("greeting", move |_: &Envelope, g: &Greeting| {
            println!("[{m1}] greeting from {}", g.from);
            s1.lock().greeted_by = Some(g.from.clone());
            Ok(Reply::Empty)
        })
        .handler("ready", move |_: &Message| {
            println!("[{m2}] ready");
            Ok(Reply::with(Seated { player: m2.clone() }))
        })
        .typed_handler("card", move |_: &Envelope, c: &Card| {
            println!("[{m3}] card {}", c.n);
            s2.lock().cards.push(c.n);
            Ok(Reply::Empty)
        })
        .handler("show", move |_: &Message| {
            let seen = s3.lock();
            println!("[{m4}] shows {:?}", seen.cards);
            Ok(Reply::with(Hand {
                player: m4.clone(),
                cards: seen.cards.clone(),
                greeted_by: seen.greeted_by.clone(),
            }))
        })
        .handler("over", move |_: &Message| {
            println!("[{m5}] game over");
            let _ = over.send(());
            Ok(Reply::Empty)
        })
        .build()
        .expect("every rule has its handler");
    d.register(name.to_owned(), Arc::new(listener)).expect("one player per name");
    d.subscribe(name.to_owned(), TABLE).expect("the player is registered");
}

/// A process of its own with one player, until the dealer ends the game.
async fn player(url: &str, name: &str) -> Result<(), String> {
    let d = Dispatcher::new();
    let (over, mut game_over) = tokio::sync::mpsc::unbounded_channel();
    seat(&d, name, over);
    let _nats = d.join_nats(config(url, name)).await.map_err(|e| e.to_string())?;
    let ended = tokio::time::timeout(PATIENCE * 2, game_over.recv()).await;
    d.shutdown().await;
    match ended {
        Ok(Some(())) => Ok(()),
        _ => Err(format!("{name}: the dealer never ended the game")),
    }
}

/// Kills a player's process on drop, if the game went wrong before it ended.
struct PlayerProcess(String, Child);

impl Drop for PlayerProcess {
    fn drop(&mut self) {
        if matches!(self.1.try_wait(), Ok(None)) {
            let _ = self.1.kill();
            let _ = self.1.wait();
        }
    }
}

/// The dealer's process: the server if none was given, the two other
/// processes, alice, and the game.
async fn dealer(url: Option<&str>) -> Result<(), String> {
    let server = match url {
        Some(_) => None,
        None => Some(nats_server::NatsServerProcess::start()?),
    };
    let url = url.or(server.as_ref().map(|s| s.url())).unwrap_or_default().to_owned();
    println!("[dealer] playing on {url}");
    let me = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let mut others = Vec::new();
    for name in &PLAYERS[1..] {
        let child = Command::new(&me)
            .args(["player", &url, name])
            .spawn()
            .map_err(|e| format!("cannot start {name}'s process: {e}"))?;
        others.push(PlayerProcess((*name).to_owned(), child));
    }
    let d = Dispatcher::new();
    let (over, _game_over) = tokio::sync::mpsc::unbounded_channel();
    seat(&d, PLAYERS[0], over);
    let nats = d.join_nats(config(&url, "dealer")).await.map_err(|e| e.to_string())?;
    wait_for_the_table(&nats).await?;
    play(&d).await?;
    d.send(Message::new(GameOver).to_group(TABLE)).map_err(|e| e.to_string())?;
    for p in &mut others {
        let status = wait_for_exit(&mut p.1).await?;
        if !status.success() {
            return Err(format!("{}'s process ended with {status}", p.0));
        }
    }
    d.shutdown().await;
    println!("[dealer] every player holds the cards dealt; every process ended well");
    Ok(())
}

/// Waits until both other processes said on the roster that they sit at
/// the table.
async fn wait_for_the_table(nats: &Nats) -> Result<(), String> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let seated = nats.roster().get(&Id::from(TABLE)).map_or(0, |names| names.len());
        if seated == PLAYERS.len() - 1 {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err("the other players' processes did not sit down in time".to_owned());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Greets, checks everyone is ready, deals, and checks every hand.
async fn play(d: &Dispatcher) -> Result<(), String> {
    let err = |e: Error| e.to_string();
    d.send(Message::new(Greeting { from: "the dealer".into() }).to_group(TABLE)).map_err(err)?;
    let seated =
        d.request_group(Message::new(Ready).to_group(TABLE), Some(PATIENCE)).await.map_err(err)?;
    // alice's answer, and the NATS outlet's: every other process answered
    // it (or the request would have failed, naming who did not).
    let who: Vec<String> = seated.iter().map(|(member, _)| member.to_string()).collect();
    println!("[dealer] the table is ready: answers from {}", who.join(" and "));
    let mut dealt: Vec<Vec<i64>> = vec![Vec::new(); PLAYERS.len()];
    for n in 1..=CARDS {
        let at = usize::try_from(n).unwrap_or_default() % PLAYERS.len();
        d.send(Message::new(Card { n }).to(PLAYERS[at])).map_err(err)?;
        dealt[at].push(n);
    }
    for (name, cards) in PLAYERS.iter().zip(&dealt) {
        // After the cards, from the same sender: it sees them all.
        let show = Message::new(Show).to(*name);
        let hand = d.request_as::<Hand>(show, Some(PATIENCE)).await.map_err(err)?;
        println!("[dealer] {} holds {:?}", hand.player, hand.cards);
        if hand.cards != *cards || hand.greeted_by.is_none() {
            return Err(format!("{name} holds {hand:?}, but was dealt {cards:?} and greeted"));
        }
    }
    Ok(())
}

/// Waits for a player's process to end, at most [`PATIENCE`].
async fn wait_for_exit(child: &mut Child) -> Result<std::process::ExitStatus, String> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Ok(status);
        }
        if Instant::now() > deadline {
            return Err("a player's process did not end after the game".to_owned());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
