//! The interpreter's public loader: missing handlers at build, listeners in a
//! dispatcher, reloads that take effect between messages, refused reloads
//! that keep the old table, and the watch.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use dispatchio_core::routing::{Fired, Matcher, Step};
use dispatchio_core::{Dispatcher, HandlerError, Message, Reply, Text};
use dispatchio_dsl::interp::{self, Error, MissingKind, Routes};

use crate::TempDir;

content_struct! {
    /// Typed content, read by the interpreter through `Fields` like any content.
    struct Card as "Card" { card: i64, suit: Option<String> }
}

fn card(n: i64) -> Message {
    Message::new(Card { card: n, suit: None })
}

/// What listener `l` would do with `msg` now, as `queue:x` / `call:x` / `drop` / `forward:x`.
fn steps(routes: &Routes, l: &str, msg: &Message) -> Vec<String> {
    let l = routes.listener(l).unwrap();
    let layout = l.matcher().layout();
    let mut fired = Fired::new();
    l.matcher().route(msg, &mut fired);
    fired
        .steps()
        .iter()
        .map(|s| match *s {
            Step::Call(i) | Step::CallAsync(i) => format!("call:{}", layout.handlers[i].name),
            Step::Queue(i) => format!("queue:{}", layout.queues[i]),
            Step::Forward(i) => format!("forward:{}", layout.forwards[i]),
            Step::Drop => "drop".to_owned(),
        })
        .collect()
}

/// The watcher's next report, waiting generously (the watch polls every 10 ms).
async fn next(w: &mut interp::Watcher) -> Result<interp::Reloaded, Error> {
    tokio::time::timeout(Duration::from_secs(10), w.next())
        .await
        .expect("a reload within 10 s")
        .expect("the watch is running")
}

const GAME: &str = r#"
message Card { card: int, suit: string? }
listener player {
    rule deal  when type == Card and card < 52 => queue hand
    rule greet when type == "Text"             => call greet
    rule loud  when type == Card               => forward squad
}
listener squad {
    rule any when type == Card => call async alert
}
"#;

#[test]
fn building_lists_every_handler_the_program_did_not_provide() {
    let dir = TempDir::new("missing");
    let path = dir.write(
        "m.route",
        r#"
        message Card { card: int }
        listener a {
            rule one when type == Card and card < 3 => call first, call async second
            otherwise => call third
        }
        listener b { rule two when type == Card => call async fourth }
        "#,
    );
    let err = interp::load(&path)
        .unwrap()
        // `third` is registered, but async where the file calls it sync.
        .async_handler("third", |_m: Message| async { Ok(Reply::Empty) })
        .handler("unused_is_fine", |_m: &Message| Ok(Reply::Empty))
        .queue("nowhere", "later")
        .build()
        .unwrap_err();
    let Error::Missing(missing) = &err else { panic!("expected Missing, got {err}") };
    let found: Vec<(&str, MissingKind, &str, &str)> = missing
        .missing
        .iter()
        .map(|m| (m.name.as_str(), m.kind, m.listener.as_str(), m.rule.as_str()))
        .collect();
    assert_eq!(
        found,
        vec![
            ("nowhere", MissingKind::UnknownListener, "nowhere", "later"),
            ("first", MissingKind::Handler { is_async: false }, "a", "one"),
            ("second", MissingKind::Handler { is_async: true }, "a", "one"),
            ("third", MissingKind::HandlerKind { is_async: false }, "a", "otherwise"),
            ("fourth", MissingKind::Handler { is_async: true }, "b", "two"),
        ]
    );
    let text = err.to_string();
    for needle in [
        "m.route",
        "5 thing(s)",
        "`first`",
        "`call async second`",
        "`fourth`",
        "no listener `nowhere`",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
}

#[test]
fn a_file_with_errors_fails_to_load_with_its_rendered_diagnostics() {
    let dir = TempDir::new("invalid");
    let path = dir.write(
        "bad.route",
        "message Card { card: int }\nlistener l { rule r when type == Card and card == \"x\" => drop }\n",
    );
    let err = interp::load(&path).unwrap_err();
    let Error::Invalid(invalid) = &err else { panic!("expected Invalid, got {err}") };
    assert!(invalid.report.has_errors());
    let text = err.to_string();
    assert!(text.contains("error[type-mismatch]"), "{text}");
    assert!(text.contains("bad.route:2:"), "the location is given: {text}");
    let err = interp::load(dir.0.join("nope.route")).unwrap_err();
    assert!(matches!(err, Error::Read(_)), "{err}");
}

#[cfg(unix)]
#[test]
fn loading_a_program_that_imports_a_fifo_fails_at_once_instead_of_blocking() {
    let dir = TempDir::new("fifo");
    crate::files::mkfifo(&dir.0.join("lib.route"));
    let path = dir.write("main.route", "import \"lib.route\"\nlistener l { otherwise => drop }\n");
    let err = crate::files::within_30s(move || interp::load(&path).unwrap_err());
    assert!(err.to_string().contains("error[unreadable]"), "{err}");
    assert!(err.to_string().contains("it is a FIFO"), "{err}");
}

#[test]
fn loading_twenty_overlapping_glob_rules_does_not_hang() {
    // Rule `rK`, `suit matches "*K*a*?"`: the load's analysis took 41 s
    // (tripling with each rule) and found none of the ten shadowed rules.
    let dir = TempDir::new("globs");
    let rules: String = (0..20)
        .map(|k| {
            format!("  rule r{k} when type == Card and suit matches \"*{k}*a*?\" => queue q{k}\n")
        })
        .collect();
    let path = dir.write(
        "globs.route",
        &format!(
            "message Card {{ suit: string }}\nlistener l {{\n{rules}  otherwise => drop\n}}\n"
        ),
    );
    let err = crate::files::within_30s(move || interp::load(&path).unwrap_err());
    let Error::Invalid(invalid) = &err else { panic!("{err}") };
    let shadowed: Vec<&str> = invalid
        .report
        .diagnostics
        .iter()
        .filter(|d| d.code == dispatchio_dsl::Code::Shadowed)
        .map(|d| d.rules[0].as_str())
        .collect();
    let want: Vec<String> = (10..20).map(|k| format!("r{k}")).collect();
    assert_eq!(shadowed, want);
}

#[test]
fn building_binds_each_listener_only_to_the_listeners_it_forwards_to() {
    // 10,000 listeners, each forwarding to the next: 9,999 bindings. The
    // builder bound every listener to every other (2,000 empty listeners:
    // 4 million bindings, 8.7 s, 725 MiB; 10,000: out of memory).
    let dir = TempDir::new("many");
    let n = 10_000;
    let mut text = String::from("message Card { card: int }\n");
    for i in 0..n {
        let action = if i + 1 < n { format!("forward l{}", i + 1) } else { "drop".to_owned() };
        text.push_str(&format!(
            "listener l{i} {{ rule f when type == Card => {action}\n otherwise => drop }}\n"
        ));
    }
    let path = dir.write("chain.route", &text);
    let routes = crate::files::within_30s(move || interp::load(&path).unwrap().build().unwrap());
    let forwards: usize =
        routes.listeners().map(|(_, l)| l.matcher().layout().forwards.len()).sum();
    assert_eq!(forwards, n - 1);
    assert_eq!(routes.listener("l7").unwrap().matcher().layout().forwards, ["l8".into()]);
}

#[test]
fn a_reload_may_forward_only_to_targets_the_listener_was_built_with() {
    let dir = TempDir::new("forward-reload");
    let three = |player: &str, squad: &str| {
        format!(
            "message Card {{ card: int }}\n\
             listener player {{ rule r when type == Card => {player}\n otherwise => drop }}\n\
             listener squad {{ rule r when type == Card => {squad}\n otherwise => drop }}\n\
             listener spare {{ otherwise => drop }}\n"
        )
    };
    let path = dir.write("three.route", &three("forward squad", "drop"));
    let routes = interp::load(&path).unwrap().forward("squad", "spare").build().unwrap();
    // `squad` was built with `spare` as a target (declared up front).
    std::fs::write(&path, three("forward squad", "forward spare")).unwrap();
    routes.reload().unwrap();
    assert_eq!(steps(&routes, "squad", &card(7)), ["forward:spare"]);
    // `player` was not: refused, naming it.
    std::fs::write(&path, three("forward spare", "drop")).unwrap();
    let Error::Missing(m) = routes.reload().unwrap_err() else { panic!("expected Missing") };
    assert_eq!(m.missing.len(), 1);
    assert_eq!((m.missing[0].kind, m.missing[0].name.as_str()), (MissingKind::Listener, "spare"));
    assert!(m.to_string().contains("built without forward target `spare`"), "{m}");
    assert_eq!(steps(&routes, "player", &card(7)), ["forward:squad"]);
    // Declaring a target the file does not have is an error of the build.
    let err = interp::load(&path).unwrap().forward("player", "nobody").build().unwrap_err();
    let Error::Missing(m) = err else { panic!("expected Missing") };
    assert_eq!(
        (m.missing[0].kind, m.missing[0].name.as_str()),
        (MissingKind::UnknownForward, "nobody")
    );
}

#[tokio::test]
async fn listeners_route_typed_content_in_a_dispatcher_and_forward_to_each_other() {
    let dir = TempDir::new("dispatch");
    let path = dir.write("game.route", GAME);
    let alerts = Arc::new(AtomicUsize::new(0));
    let seen = alerts.clone();
    let routes = interp::load(&path)
        .unwrap()
        .handler("greet", |m: &Message| {
            let who = &m.content_as::<Text>().ok_or_else(|| HandlerError::new("not text"))?.0;
            Ok(Reply::with(Text(format!("hello, {who}"))))
        })
        .async_handler("alert", move |_m: Message| {
            let seen = seen.clone();
            async move {
                seen.fetch_add(1, Ordering::SeqCst);
                Ok(Reply::with(Text("alerted".into())))
            }
        })
        .build()
        .unwrap();
    let d = Dispatcher::new();
    routes.register(&d).unwrap();

    d.send(card(7).to("player")).unwrap();
    let hand = routes.listener("player").unwrap().queue("hand").unwrap();
    let got = tokio::time::timeout(Duration::from_secs(10), hand.recv()).await.unwrap().unwrap();
    assert_eq!(got.content_as::<Card>().unwrap().card, 7);

    let reply =
        d.request(Message::new(Text::from("ann")).to("player"), Some(Duration::from_secs(10)));
    let reply = reply.await.unwrap();
    assert_eq!(reply.content_as::<Text>().unwrap().0, "hello, ann");

    // card 60 is not < 52: forwarded to squad, whose async handler answers.
    let reply = d.request(card(60).to("player"), Some(Duration::from_secs(10))).await.unwrap();
    assert_eq!(reply.content_as::<Text>().unwrap().0, "alerted");
    assert_eq!(alerts.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_reload_takes_effect_between_messages_and_a_routed_message_finishes_under_the_old_table()
{
    let dir = TempDir::new("swap");
    let v1 = "message Ping {}\nlistener l { rule r when type == Ping => call swap, queue old }\n";
    let v2 = "message Ping {}\nlistener l { rule r when type == Ping => queue new }\n";
    let path = dir.write("ping.route", v1);
    // The handler rewrites the file and reloads *while its own message is
    // being handled*: that message's remaining step (queue old) must still
    // run, the next message must meet the new table.
    let cell: Arc<OnceLock<Routes>> = Arc::new(OnceLock::new());
    let (handle, file) = (cell.clone(), path.clone());
    let routes = interp::load(&path)
        .unwrap()
        .handler("swap", move |_m: &Message| {
            std::fs::write(&file, v2).map_err(|e| HandlerError::new(e.to_string()))?;
            let r = handle.get().ok_or_else(|| HandlerError::new("no routes"))?.reload();
            r.map_err(|e| HandlerError::new(e.to_string()))?;
            Ok(Reply::Empty)
        })
        .queue("l", "new")
        .build()
        .unwrap();
    cell.set(routes.clone()).unwrap();
    let d = Dispatcher::new();
    routes.register(&d).unwrap();
    let l = routes.listener("l").unwrap();
    let (old, new) = (l.queue("old").unwrap(), l.queue("new").unwrap());
    let ping = || {
        Message::from_shared(Arc::new(dispatchio_core::DynContent::new(
            "Ping",
            dispatchio_core::DynValue::Record(Default::default()),
        )))
    };
    d.send(ping().to("l")).unwrap();
    d.send(ping().to("l")).unwrap();
    let first = tokio::time::timeout(Duration::from_secs(10), old.recv()).await.unwrap();
    assert!(first.is_some(), "the in-flight message finished under the old table");
    let second = tokio::time::timeout(Duration::from_secs(10), new.recv()).await.unwrap();
    assert!(second.is_some(), "the next message met the new table");
    assert_eq!(old.len() + new.len(), 0, "each message went one way only");
    assert_eq!(routes.generation(), 1);
}

#[test]
fn a_broken_reload_is_refused_and_the_old_table_keeps_running() {
    let dir = TempDir::new("broken");
    let path = dir.write("game.route", GAME);
    let routes = interp::load(&path)
        .unwrap()
        .handler("greet", |_m: &Message| Ok(Reply::Empty))
        .async_handler("alert", |_m: Message| async { Ok(Reply::Empty) })
        .build()
        .unwrap();
    let before = steps(&routes, "player", &card(7));
    assert_eq!(before, ["queue:hand"]);
    let check_old_table_runs = |routes: &Routes| {
        assert_eq!(steps(routes, "player", &card(7)), before);
        assert_eq!(routes.generation(), 0);
    };

    // A syntax error: refused with the rendered diagnostic.
    std::fs::write(&path, GAME.replace("=> queue hand", "=> queue")).unwrap();
    let err = routes.reload().unwrap_err();
    assert!(matches!(err, Error::Invalid(_)), "{err}");
    assert!(err.to_string().contains("error[syntax]"), "{err}");
    check_old_table_runs(&routes);

    // A handler the program does not provide, and a queue the listener was
    // not built with: both listed, refused.
    std::fs::write(&path, GAME.replace("=> queue hand", "=> call shuffle, queue discard")).unwrap();
    let Error::Missing(m) = routes.reload().unwrap_err() else { panic!("expected Missing") };
    let names: Vec<_> = m.missing.iter().map(|m| (m.name.as_str(), m.kind)).collect();
    assert_eq!(
        names,
        [("shuffle", MissingKind::Handler { is_async: false }), ("discard", MissingKind::Queue)]
    );
    check_old_table_runs(&routes);

    // Dropping a listener that is built (and maybe registered): refused.
    let no_squad =
        GAME.split("listener squad").next().unwrap().replace("=> forward squad", "=> drop");
    std::fs::write(&path, no_squad).unwrap();
    let err = routes.reload().unwrap_err();
    let Error::ListenersChanged { removed, added, .. } = &err else { panic!("{err}") };
    assert_eq!((removed.as_slice(), added.as_slice()), (&["squad".to_owned()][..], &[][..]));
    check_old_table_runs(&routes);

    // A good file again: accepted.
    std::fs::write(&path, GAME.replace("card < 52", "card < 5")).unwrap();
    let reloaded = routes.reload().unwrap();
    assert_eq!(reloaded.generation, 1);
    assert_eq!(steps(&routes, "player", &card(7)), ["forward:squad"]);
}

#[tokio::test]
async fn watching_picks_up_an_edit_of_the_file_or_an_import() {
    let dir = TempDir::new("watch");
    let lib = dir.write("lib.route", "message Card { card: int, suit: string? }\n");
    let path = dir.write(
        "main.route",
        "import \"lib.route\"\nlistener l { rule small when type == Card and card < 10 => queue a\n otherwise => queue b }\n",
    );
    let routes = interp::load(&path).unwrap().build().unwrap();
    assert_eq!(steps(&routes, "l", &card(7)), ["queue:a"]);
    let mut watcher = routes.watch(Duration::from_millis(10));

    std::fs::write(
        &path,
        "import \"lib.route\"\nlistener l { rule small when type == Card and card < 5 => queue a\n otherwise => queue b }\n",
    )
    .unwrap();
    let r = next(&mut watcher).await.unwrap();
    assert_eq!(r.generation, 1);
    assert_eq!(steps(&routes, "l", &card(7)), ["queue:b"]);

    // An import changing breaks the program: reported, old table kept.
    std::fs::write(&lib, "message Card { card: string }\n").unwrap();
    let err = next(&mut watcher).await.unwrap_err();
    assert!(matches!(err, Error::Invalid(_)), "{err}");
    assert_eq!(steps(&routes, "l", &card(7)), ["queue:b"]);
    assert!(!routes.changed(), "a refused file is not retried until it changes again");

    // Fixing the import is picked up too.
    std::fs::write(&lib, "message Card { card: int }\n").unwrap();
    let r = next(&mut watcher).await.unwrap();
    assert_eq!(r.generation, 2);
}

#[test]
fn changed_is_false_until_the_contents_change() {
    let dir = TempDir::new("changed");
    let text = "message A {}\nlistener l { rule r when type == A => drop }\n";
    let path = dir.write("t.route", text);
    let routes = interp::load(&path).unwrap().build().unwrap();
    assert!(!routes.changed());
    // Rewriting the same bytes (a `touch`) is no change.
    std::fs::write(&path, text).unwrap();
    assert!(!routes.changed());
    std::fs::write(&path, text.replace("drop", "queue q")).unwrap();
    assert!(routes.changed());
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Everything logged in this test process. A process-wide subscriber, not
/// a scoped one: tracing caches per call site whether anyone listens, and
/// with a single scoped subscriber other test threads recompute that cache
/// from their own (empty) default, which made a scoped capture flaky.
fn captured_log() -> &'static Captured {
    static LOG: OnceLock<Captured> = OnceLock::new();
    LOG.get_or_init(|| {
        let out = Captured::default();
        let writer = out.clone();
        let subscriber =
            tracing_subscriber::fmt().with_writer(move || writer.clone()).with_ansi(false).finish();
        tracing::subscriber::set_global_default(subscriber)
            .expect("no other test installs a global subscriber");
        out
    })
}

#[test]
fn every_reload_is_reported_as_a_tracing_event() {
    let log = captured_log();
    let dir = TempDir::new("trace");
    let text = "message A {}\nlistener l { rule r when type == A => drop }\n";
    let path = dir.write("t.route", text);
    let routes = interp::load(&path).unwrap().build().unwrap();
    std::fs::write(&path, text.replace("drop", "call nobody")).unwrap();
    assert!(routes.reload().is_err());
    std::fs::write(&path, text.replace("type == A", "type == \"A\"")).unwrap();
    assert!(routes.reload().is_ok());
    let log = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    // Other tests log too: look for this test's file.
    let p = path.display();
    let refused = format!(
        "ERROR dispatchio_dsl::interp: route reload refused; the previous tables keep running path={p} error={p} names 1 thing(s)"
    );
    let accepted = format!("INFO dispatchio_dsl::interp: routes reloaded path={p} generation=1 ");
    assert!(log.contains(&refused), "{refused:?} not in:\n{log}");
    assert!(log.contains("handler `nobody` is not registered"), "{log}");
    assert!(log.contains(&accepted), "{accepted:?} not in:\n{log}");
}

#[tokio::test]
async fn a_reload_may_add_and_reorder_rules_and_hits_follow_rule_names() {
    let dir = TempDir::new("reorder");
    let v1 = "message Card { card: int }\nlistener l {\n rule low when type == Card and card < 10 => queue a\n rule rest when type == Card => queue b\n}\n";
    let v2 = "message Card { card: int }\nlistener l {\n rule seven when type == Card and card == 7 => queue b\n rule rest when type == Card and card > 100 => queue b\n rule low when type == Card and card < 10 => queue a\n}\n";
    let path = dir.write("r.route", v1);
    let routes = interp::load(&path).unwrap().build().unwrap();
    let d = Dispatcher::new();
    routes.register(&d).unwrap();
    let l = routes.listener("l").unwrap();
    std::fs::write(&path, v2).unwrap();
    routes.reload().unwrap();
    assert_eq!(steps(&routes, "l", &card(7)), ["queue:b"], "the new first rule");
    assert_eq!(steps(&routes, "l", &card(3)), ["queue:a"]);
    for n in [7, 3, 3, 50] {
        d.send(card(n).to("l")).unwrap();
    }
    let (a, b) = (l.queue("a").unwrap(), l.queue("b").unwrap());
    for q in [&b, &a, &a] {
        tokio::time::timeout(Duration::from_secs(10), q.recv()).await.unwrap().unwrap();
    }
    // 50 matches nothing now: unrouted, reported by the runtime, not queued.
    let hits = || l.rule_hits().into_iter().map(|(n, h)| (n.to_string(), h)).collect::<Vec<_>>();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while hits() != [("low".to_owned(), 2), ("rest".to_owned(), 0)] {
        assert!(tokio::time::Instant::now() < deadline, "hits: {:?}", hits());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(a.len() + b.len(), 0);
}
