//! Integration tests of the `dispatchio` facade: every example's scenario,
//! asserted. The examples are compiled in as modules, so the programs a
//! newcomer runs are the programs tested here.

#[path = "../examples/card_dealer.rs"]
mod card_dealer;

#[path = "../examples/blocking.rs"]
mod blocking;

#[path = "../examples/deferred_reply.rs"]
mod deferred_reply;

#[path = "../examples/robustness.rs"]
mod robustness;

use std::time::Duration;

use dispatchio::{Dispatcher, Error, Id, InvalidMessage};

/// Fails the test instead of hanging it.
async fn within<T>(what: &str, f: impl Future<Output = T>) -> T {
    match tokio::time::timeout(Duration::from_secs(30), f).await {
        Ok(v) => v,
        Err(_) => panic!("{what} did not finish within 30 s"),
    }
}

mod card_dealer_game {
    use super::*;

    fn assert_fair(game: &card_dealer::Game) {
        assert_eq!(game.hands.len(), 4, "every player took a hand");
        for (player, hand) in &game.hands {
            assert_eq!(hand.len(), 5, "{player} holds five cards");
            assert_eq!(
                Some(hand),
                game.dealt.get(player),
                "{player} holds its cards in the order dealt"
            );
        }
        let all: std::collections::BTreeSet<i64> = game.hands.values().flatten().copied().collect();
        assert_eq!(all.len(), card_dealer::CARDS, "twenty different cards, none lost or doubled");
        let others: Vec<Id> = card_dealer::PLAYERS[1..].iter().map(|p| Id::from(*p)).collect();
        assert_eq!(
            game.dealer_saw, others,
            "the dealer learnt the three others from their greetings"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn every_player_gets_its_five_cards_in_the_order_dealt() {
        let d = Dispatcher::new();
        let game = within("the game", card_dealer::play(&d, false)).await.unwrap();
        assert_fair(&game);
        let s = d.snapshot();
        assert_eq!(s.counters.unrouted, 0);
        assert_eq!(s.counters.undeliverable, 0);
        let hands: Vec<_> = s.queues.iter().filter(|q| q.name == "hand").collect();
        assert_eq!(hands.len(), 4);
        assert!(
            hands.iter().all(|q| q.depth == 0),
            "every hand taken, no card left over: {hands:?}"
        );
        d.shutdown().await;
    }

    #[tokio::test(start_paused = true)]
    async fn dealing_with_synchronous_sends_gives_the_same_hands() {
        let d = Dispatcher::new();
        let game = within("the game", card_dealer::play(&d, true)).await.unwrap();
        assert_fair(&game);
        d.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_game_is_fair_on_a_multi_threaded_runtime() {
        let d = Dispatcher::new();
        let game = within("the game", card_dealer::play(&d, false)).await.unwrap();
        assert_fair(&game);
        d.shutdown().await;
    }
}

mod blocking_messages {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn replies_come_b_c_a_freely_and_a_b_c_when_blocking() {
        let d = Dispatcher::new();
        let (free, held, after) = within("both rounds", blocking::run(&d)).await.unwrap();
        assert_eq!(free, ["B", "C", "A"], "non-blocking requests are answered as they finish");
        assert_eq!(held, ["A", "B", "C"], "blocking requests hold the later ones until answered");
        assert!(after.blocked.is_empty(), "no destination stays blocked: {:?}", after.blocked);
        assert_eq!(after.pending_requests, 0);
        d.shutdown().await;
    }

    #[tokio::test(start_paused = true)]
    async fn blocking_round_takes_the_sum_of_the_delays() {
        let d = Dispatcher::new();
        blocking::start_server(&d).unwrap();
        let start = tokio::time::Instant::now();
        blocking::replies_in_order(&d, true).await.unwrap();
        // 300 + 40 + 50 ms one after the other, not 300 ms side by side.
        assert!(start.elapsed() >= Duration::from_millis(390), "took {:?}", start.elapsed());
        d.shutdown().await;
    }
}

mod deferred_replies {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_deferred_answer_reaches_the_sender_and_a_handler_error_is_an_error() {
        let d = Dispatcher::new();
        let start = tokio::time::Instant::now();
        let (answer, error) = within("the requests", deferred_reply::run(&d)).await.unwrap();
        assert!(answer.ends_with("worked out later"), "{answer}");
        assert!(
            start.elapsed() >= Duration::from_millis(100),
            "the answer came from the worker, 100 ms later"
        );
        match error {
            Error::Handler { handler, error } => {
                assert_eq!(handler, "refuse");
                assert_eq!(error.message(), "X is not allowed here");
            }
            other => panic!("expected a handler error, got {other:?}"),
        }
        let s = d.snapshot();
        assert!(s.deferred.is_empty(), "no deferred reply left: {:?}", s.deferred);
        assert_eq!(s.pending_requests, 0);
        d.shutdown().await;
    }
}

mod robustness_scenario {
    use super::*;

    #[tokio::test]
    async fn invalid_messages_are_refused_and_shutdown_ends_the_request_in_flight() {
        let d = Dispatcher::new();
        let r = within("the scenario", robustness::run(&d)).await.unwrap();
        assert!(
            matches!(r.dest_and_group, Err(Error::Invalid(InvalidMessage::DestAndGroup))),
            "{:?}",
            r.dest_and_group
        );
        assert!(
            matches!(
                r.response_requiring_response,
                Err(Error::Invalid(InvalidMessage::ResponseRequiresResponse))
            ),
            "{:?}",
            r.response_requiring_response
        );
        assert!(matches!(r.in_flight, Err(Error::Shutdown)), "{:?}", r.in_flight);
        assert!(r.shutdown_took < Duration::from_secs(5), "shutdown took {:?}", r.shutdown_took);
        let s = d.snapshot();
        assert!(s.shut_down);
        assert!(s.listeners.is_empty());
        assert_eq!(s.pending_requests, 0);
    }
}

mod nats_example {
    use std::process::{Command, Stdio};

    /// `examples/nats.rs` as built by `cargo test` (which builds every
    /// example beside the tests, in `target/<profile>/examples`).
    fn example() -> std::path::PathBuf {
        let exe = std::env::current_exe().unwrap();
        // target/<profile>/deps/tests-… → target/<profile>/examples/nats
        let profile = exe.parent().and_then(|deps| deps.parent()).unwrap();
        let path = profile.join("examples").join("nats");
        assert!(
            path.exists(),
            "{} is missing: `cargo test` builds the examples (or `cargo build --example nats`)",
            path.display()
        );
        path
    }

    #[test]
    fn the_nats_example_plays_the_game_across_three_processes_and_exits_0() {
        let mut child =
            Command::new(example()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        // The example bounds each of its steps itself; this bounds the whole.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while child.try_wait().unwrap().is_none() {
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                panic!("the example did not end within 120 s");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}\n{stdout}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        for line in [
            "[bob] greeting from the dealer",
            "[carol] greeting from the dealer",
            "[dealer] bob holds [1, 4, 7, 10, 13]",
            "[dealer] carol holds [2, 5, 8, 11, 14]",
            "[dealer] alice holds [3, 6, 9, 12, 15]",
            "[carol] game over",
            "[dealer] every player holds the cards dealt; every process ended well",
        ] {
            assert!(stdout.lines().any(|l| l == line), "no line {line:?} in:\n{stdout}");
        }
    }
}

mod packaging {
    use std::process::Command;

    /// The crates a package builds for its users (normal dependencies, with
    /// default features), from `cargo tree`.
    fn built_for_users(package: &str) -> String {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = Command::new(cargo)
            .args(["tree", "--offline", "-e", "normal", "--prefix", "none", "-p", package])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("cargo tree runs");
        assert!(out.status.success(), "cargo tree: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("cargo tree prints UTF-8")
    }

    #[test]
    fn the_library_builds_no_command_line_parser_and_the_command_package_does() {
        let has =
            |tree: &str, krate: &str| tree.lines().any(|l| l.starts_with(&format!("{krate} ")));
        let library = built_for_users("dispatchio");
        assert!(!has(&library, "clap") && !has(&library, "miette"), "{library}");
        let command = built_for_users("dispatchio-cli");
        assert!(has(&command, "clap") && has(&command, "miette"), "{command}");
    }
}

/// A listener's queues read the same way compiled and interpreted: by name,
/// with an unknown name a clear error that lists the queues there are.
mod queues_by_name {
    mod routes {
        dispatchio::include_routes!("examples/routes/card_dealer.route");
    }

    use dispatchio::UnknownQueue;

    fn interpreted() -> std::sync::Arc<dispatchio::routes::RouteListener> {
        let loaded = dispatchio::routes::load("examples/routes/card_dealer.route")
            .and_then(|b| b.build())
            .unwrap_or_else(|e| panic!("card_dealer.route loads: {e}"));
        loaded.listener("player").expect("card_dealer.route has a listener `player`")
    }

    #[test]
    fn an_unknown_queue_is_the_same_clear_error_compiled_and_interpreted() {
        let compiled = routes::player::Listener::new(());
        let interpreted = interpreted();
        let expected =
            UnknownQueue { name: "hnad".into(), queues: vec!["greetings".into(), "hand".into()] };
        assert_eq!(compiled.queue("hnad").err(), Some(expected.clone()));
        assert_eq!(interpreted.queue("hnad").err(), Some(expected.clone()));
        assert_eq!(
            expected.to_string(),
            r#"the listener has no queue "hnad" (its queues: "greetings", "hand")"#
        );
    }

    #[tokio::test]
    async fn a_queue_taken_by_name_is_the_queue_the_rules_fill() {
        let dispatcher = dispatchio::Dispatcher::new();
        let compiled = std::sync::Arc::new(routes::player::Listener::new(()));
        dispatcher.register("bob", compiled.clone()).unwrap();
        let interpreted = interpreted();
        dispatcher.register("ann", interpreted.clone()).unwrap();
        for to in ["bob", "ann"] {
            dispatcher.send(dispatchio::Message::new(routes::Card { card: 3 }).to(to)).unwrap();
        }
        for (who, hand) in [("bob", compiled.queue("hand")), ("ann", interpreted.queue("hand"))] {
            let hand = hand.unwrap_or_else(|e| panic!("{who}: {e}"));
            let card = super::within("the card", hand.recv()).await.expect("a card in the hand");
            assert_eq!(card.content_as::<routes::Card>().map(|c| c.card), Some(3), "{who}");
        }
        dispatcher.send(dispatchio::Message::new(routes::Card { card: 4 }).to("bob")).unwrap();
        super::within("the flush", dispatcher.flush("bob")).await.unwrap();
        assert_eq!(compiled.queue_hand().len(), 1, "the card is in queue_hand()");
        let by_name = compiled.queue("hand").unwrap().try_recv();
        assert_eq!(by_name.and_then(|m| m.content_as::<routes::Card>().map(|c| c.card)), Some(4));
        assert!(compiled.queue_hand().is_empty(), "queue(\"hand\") took it from queue_hand()");
    }
}
