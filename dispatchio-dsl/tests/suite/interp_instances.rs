//! One loaded `listener` serving several destinations: instances with
//! queues of their own, one table, one reload, the program's forwards.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use dispatchio_core::{Dispatcher, DynContent, DynValue, Message, Reply};
use dispatchio_dsl::interp::{self, Error};

use crate::TempDir;

const GAME: &str = r#"
message Card { card: int }
listener player {
    rule deal when type == Card and card < 52 => queue hand
    rule loud when type == Card               => forward croupier
}
listener croupier {
    rule any when type == Card => call count
}
"#;

fn card(n: i64) -> Message {
    let value = DynValue::Record([("card".to_owned(), DynValue::Int(n))].into());
    Message::from_shared(Arc::new(DynContent::new("Card", value)))
}

async fn recv(queue: &dispatchio_core::Queue) -> Message {
    match tokio::time::timeout(Duration::from_secs(10), queue.recv()).await {
        Ok(Some(m)) => m,
        Ok(None) => panic!("queue {} was closed", queue.name()),
        Err(_) => panic!("nothing arrived in {} within 10 s", queue.name()),
    }
}

fn card_of(m: &Message) -> Option<i64> {
    match m.content().field("card") {
        Some(dispatchio_core::Value::Int(n)) => Some(n),
        _ => None,
    }
}

#[tokio::test]
async fn four_instances_of_one_listener_each_get_only_the_messages_sent_to_them() {
    let dir = TempDir::new("instances");
    let path = dir.write("game.route", GAME);
    let routes =
        interp::load(&path).unwrap().handler("count", |_m: &Message| Ok(Reply::Empty)).build();
    let routes = routes.unwrap();
    let d = Dispatcher::new();
    let names = ["ann", "bob", "cid", "dan"];
    let mut players = Vec::new();
    for name in names {
        let player = routes.instance("player").unwrap();
        d.register(name, player.clone()).unwrap();
        players.push(player);
    }
    for (n, name) in names.iter().enumerate() {
        d.send(card(n as i64).to(*name)).unwrap();
    }
    for (n, player) in players.iter().enumerate() {
        let hand = player.queue("hand").unwrap();
        assert_eq!(card_of(&recv(&hand).await), Some(n as i64), "{}'s card", names[n]);
    }
    d.flush_all().await.unwrap();
    for (player, name) in players.iter().zip(names) {
        assert!(player.queue("hand").unwrap().is_empty(), "{name} got one card, its own");
        assert_eq!(player.rule_hits()[0].1, 1, "{name} counts its own hits");
    }
    let primary = routes.listener("player").unwrap();
    assert!(primary.queue("hand").unwrap().is_empty(), "the file's own instance got none");
}

#[tokio::test]
async fn a_reload_switches_every_instance_at_once() {
    let dir = TempDir::new("instances-reload");
    let path = dir.write("game.route", GAME);
    let routes = interp::load(&path)
        .unwrap()
        .handler("count", |_m: &Message| Ok(Reply::Empty))
        .queue("player", "pile")
        .build()
        .unwrap();
    let d = Dispatcher::new();
    let (ann, bob) = (routes.instance("player").unwrap(), routes.instance("player").unwrap());
    d.register("ann", ann.clone()).unwrap();
    d.register("bob", bob.clone()).unwrap();
    std::fs::write(&path, GAME.replace("queue hand", "queue pile")).unwrap();
    routes.reload().unwrap();
    for (name, player) in [("ann", &ann), ("bob", &bob)] {
        d.send(card(3).to(name)).unwrap();
        let pile = player.queue("pile").unwrap();
        assert_eq!(card_of(&recv(&pile).await), Some(3), "{name} runs the reloaded table");
        assert!(player.queue("hand").unwrap().is_empty(), "{name} no longer queues to hand");
    }
}

#[tokio::test]
async fn an_instance_forwards_to_the_programs_listener_of_that_name() {
    let dir = TempDir::new("instances-forward");
    let path = dir.write("game.route", GAME);
    let counted = Arc::new(AtomicUsize::new(0));
    let seen = counted.clone();
    let routes = interp::load(&path)
        .unwrap()
        .handler("count", move |_m: &Message| {
            seen.fetch_add(1, Ordering::SeqCst);
            Ok(Reply::Empty)
        })
        .build()
        .unwrap();
    let d = Dispatcher::new();
    routes.register(&d).unwrap();
    let ann = routes.instance("player").unwrap();
    d.register("ann", ann).unwrap();
    // 60 is not < 52: `loud` forwards it to croupier, which counts it.
    let reply = d.request(card(60).to("ann"), Some(Duration::from_secs(10))).await;
    reply.unwrap();
    assert_eq!(counted.load(Ordering::SeqCst), 1);
}

#[test]
fn an_unknown_listener_is_an_error_naming_the_ones_the_file_declares() {
    let dir = TempDir::new("instances-unknown");
    let path = dir.write("game.route", GAME);
    let routes =
        interp::load(&path).unwrap().handler("count", |_m: &Message| Ok(Reply::Empty)).build();
    let routes = routes.unwrap();
    for result in [routes.instance("palyer").map(drop), routes.listener("palyer").map(drop)] {
        let err = result.unwrap_err();
        assert!(
            matches!(&err, Error::UnknownListener { name, listeners, .. }
                if name == "palyer" && listeners == &["player", "croupier"]),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(
            text.ends_with("no listener `palyer` (the file declares `player`, `croupier`)"),
            "{text}"
        );
        assert!(text.starts_with(&path.display().to_string()), "{text}");
    }
}
