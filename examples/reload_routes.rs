//! Loading routes at run time, and reloading them while messages flow.
//!
//! Loads `examples/routes/reload.route` (a temporary copy of it), routes a
//! few cards, edits the file and lets the watch reload it, then shows a
//! broken edit and an edit calling an unregistered handler both refused
//! while the last good table keeps running.
//!
//! Run with `cargo run --example reload_routes`.

use std::path::PathBuf;
use std::time::Duration;

use dispatchio::{ContentType, Dispatcher, Envelope, Message, Reply, Text, routes};

/// The `Card` of the `.route` file, as typed Rust content: the interpreter
/// reads `card` and `suit` through `Fields`.
#[derive(Debug, serde::Serialize, ContentType)]
struct Card {
    card: i64,
    suit: Option<String>,
}

#[derive(Debug, serde::Serialize, serde::Deserialize, ContentType)]
struct Greeting {
    name: String,
}

type Failure = Box<dyn std::error::Error>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Failure> {
    // Work on a copy: the committed file stays as it is.
    let dir = std::env::temp_dir().join(format!("dispatchio-reload-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("reload.route");
    let original = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/routes/reload.route");
    std::fs::copy(&original, &path)?;
    let result = run(&path).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn run(path: &std::path::Path) -> Result<(), Failure> {
    let routes = routes::load(path)?
        // Checked against the file's `Greeting` at build and on every reload.
        .typed_handler("greet", |_: &Envelope, g: &Greeting| {
            Ok(Reply::with(Text(format!("welcome, {}", g.name))))
        })
        .build()?;
    let dispatcher = Dispatcher::new();
    routes.register(&dispatcher)?; // the listener `table`, under its name
    let table = routes.listener("table")?;
    let (hand, discard) = (table.queue("hand")?, table.queue("discard")?);

    let greeting = Message::new(Greeting { name: "ann".into() }).to("table");
    let reply = dispatcher.request_as::<Text>(greeting, Some(Duration::from_secs(5))).await?;
    println!("greeting answered: {:?}", reply.0);

    // Where does a card go? Into `hand` or `discard`: wait for it on both.
    let deal = |n: i64| {
        let (dispatcher, hand, discard) = (dispatcher.clone(), hand.clone(), discard.clone());
        async move {
            dispatcher.send(Message::new(Card { card: n, suit: None }).to("table"))?;
            let queue = tokio::time::timeout(Duration::from_secs(5), async {
                tokio::select! {
                    Some(_) = hand.recv() => "hand",
                    Some(_) = discard.recv() => "discard",
                }
            })
            .await?;
            println!("  card {n:>2} -> {queue}");
            Ok::<_, Failure>(queue)
        }
    };

    println!("generation 0 (card < 52 goes to hand):");
    assert_eq!(deal(7).await?, "hand");
    assert_eq!(deal(60).await?, "discard");

    // Watch the file; every reload's outcome comes out of the watcher.
    let mut watcher = routes.watch(Duration::from_millis(50));
    let text = std::fs::read_to_string(path)?;
    std::fs::write(path, text.replace("card < 52", "card < 5"))?;
    let next = tokio::time::timeout(Duration::from_secs(10), watcher.next()).await?;
    let reloaded = next.ok_or("the watch stopped")??;
    println!(
        "edited the file: reloaded, generation {} (card < 5 goes to hand):",
        reloaded.generation
    );
    assert_eq!(deal(7).await?, "discard");
    assert_eq!(deal(3).await?, "hand");

    // A broken edit: refused with the diagnostics; the last table runs on.
    let good = std::fs::read_to_string(path)?;
    std::fs::write(path, good.replace("=> queue hand", "=> queue"))?;
    let next = tokio::time::timeout(Duration::from_secs(10), watcher.next()).await?;
    match next.ok_or("the watch stopped")? {
        Ok(_) => return Err("a broken file was accepted".into()),
        Err(e) => println!("broken edit refused:\n{e}"),
    }
    assert_eq!(deal(7).await?, "discard");
    assert_eq!(deal(3).await?, "hand");
    println!("the generation {} table kept running", routes.generation());

    // An edit calling a handler nobody registered: refused too (here with
    // an explicit reload rather than the watch).
    drop(watcher);
    std::fs::write(path, good.replace("=> queue discard", "=> call shuffle"))?;
    match routes.reload() {
        Ok(_) => return Err("a missing handler was accepted".into()),
        Err(e) => println!("edit refused:\n{e}"),
    }
    assert_eq!(deal(7).await?, "discard");
    println!("done: {} reload(s) took effect", routes.generation());
    Ok(())
}
