//! `dispatchio graph` as a library call: DOT that Graphviz renders, Mermaid,
//! one edge per rule, edge widths from a real dispatcher's snapshot, and
//! bad counts refused with exit 2.

use dispatchio_dsl::cli::{Exit, run_with};

use crate::TempDir;
use crate::graphviz;

/// Runs `dispatchio graph ARGS…`; returns (exit, stdout, stderr).
fn graph(args: &[&str]) -> (Exit, String, String) {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let argv = ["dispatchio", "graph"].iter().chain(args).copied();
    let exit = run_with(argv, &mut out, &mut err);
    (exit, String::from_utf8(out).unwrap(), String::from_utf8(err).unwrap())
}

fn ok(args: &[&str]) -> String {
    let (exit, out, err) = graph(args);
    assert_eq!((exit, err.as_str()), (Exit::Clean, ""), "{args:?}");
    out
}

const EXAMPLES: &str = "../examples/routes";

#[test]
fn the_dot_graph_of_the_example_routes_is_rendered_by_graphviz() {
    let dot = ok(&[EXAMPLES]);
    insta::assert_snapshot!("graph__examples_dot", dot);
    let svg = graphviz::render(&dot, "svg");
    // Every listener, queue and handler of the examples is drawn.
    for label in ["player", "croupier", "table", "greetings", "hand", "take_bet", "review (async)"]
    {
        assert!(svg.contains(&format!(">{label}</text>")), "{label} is not drawn:\n{svg}");
    }
}

#[test]
fn with_rules_each_rule_is_an_edge_labelled_with_its_name() {
    let dot = ok(&["--rules", EXAMPLES]);
    graphviz::render(&dot, "canon");
    for rule in ["greet", "deal", "welcome", "review", "bet", "otherwise", "joker"] {
        assert!(dot.contains(&format!("[label=\"{rule}\"")), "no edge for `{rule}`:\n{dot}");
    }
    // Without `--rules`, one unlabelled edge per listener and what it feeds.
    let dir = TempDir::new("graph-rules");
    let file = dir.write(
        "two.route",
        "message A {}\nmessage B {}\n\
         listener l { rule a when type == A => queue q\n rule b when type == B => queue q }\n",
    );
    let file = file.to_str().unwrap();
    let edges = |dot: &str| {
        dot.lines().filter(|l| l.contains(" -> ")).map(str::trim).collect::<Vec<_>>().join("\n")
    };
    assert_eq!(edges(&ok(&[file])), "n0 -> n1;");
    assert_eq!(edges(&ok(&["--rules", file])), "n0 -> n1 [label=\"a\"];\nn0 -> n1 [label=\"b\"];");
}

#[test]
fn forwards_are_edges_between_listeners() {
    let dot = ok(&["tests/fixtures/game.route"]);
    graphviz::render(&dot, "canon");
    let player = dot.lines().find(|l| l.contains("[label=\"player\"")).unwrap();
    let squad = dot.lines().find(|l| l.contains("[label=\"squad\"")).unwrap();
    let id = |line: &str| line.trim().split(' ').next().unwrap().to_owned();
    let edge = format!("{} -> {} [color=", id(player), id(squad));
    assert!(dot.contains(&edge), "no forward edge `{edge}`:\n{dot}");
}

#[test]
fn the_mermaid_graph_of_the_example_routes() {
    insta::assert_snapshot!(
        "graph__examples_mermaid",
        ok(&["--format", "mermaid", "--rules", EXAMPLES])
    );
}

#[cfg(feature = "runtime")]
#[tokio::test]
async fn counts_from_a_real_dispatchers_snapshot_draw_edge_widths() {
    use std::sync::Arc;

    use dispatchio_core::{Dispatcher, DynContent, DynValue, Message};

    let routes = dispatchio_dsl::interp::load("../examples/routes/card_dealer.route")
        .unwrap()
        .build()
        .unwrap();
    let dispatcher = Dispatcher::new();
    routes.register(&dispatcher).unwrap();
    let card = |n: i64| {
        let content = DynValue::Record([("card".to_owned(), DynValue::Int(n))].into());
        Message::from_shared(Arc::new(DynContent::new("Card", content))).to("player")
    };
    for n in 0..6 {
        dispatcher.send(card(n)).unwrap();
    }
    let greeting = DynValue::Record([("dealer".to_owned(), DynValue::Bool(false))].into());
    let greeting = Message::from_shared(Arc::new(DynContent::new("Greeting", greeting)));
    dispatcher.send(greeting.to("player")).unwrap(); // not to the group: `otherwise`
    dispatcher.flush("player").await.unwrap();
    let snapshot = dispatcher.snapshot();
    let json = serde_json::to_string(&snapshot).unwrap();
    // The JSON form reads back as the snapshot it was.
    let back: dispatchio_core::Snapshot = serde_json::from_str(&json).unwrap();
    assert_eq!(back.rule_hits, snapshot.rule_hits);
    let dir = TempDir::new("graph-counts");
    let file = dir.write("snapshot.json", &json);

    let dot = ok(&[
        "--rules",
        "--counts",
        file.to_str().unwrap(),
        "../examples/routes/card_dealer.route",
    ]);
    graphviz::render(&dot, "canon");
    assert!(dot.contains("[label=\"deal (6)\", penwidth=8]"), "{dot}");
    assert!(dot.contains("[label=\"greet (0)\", penwidth=1]"), "{dot}");
    let dot = ok(&["--counts", file.to_str().unwrap(), "../examples/routes/card_dealer.route"]);
    assert!(dot.contains("[label=\"6\", penwidth=8]"), "{dot}");
}

#[test]
fn counts_of_listeners_not_in_the_routes_are_said_not_dropped() {
    let dir = TempDir::new("graph-unmatched");
    let file = dir.write(
        "s.json",
        r#"{"rule_hits": [{"listener": "ghost", "rules": []}, {"listener": "player", "rules": [{"rule": "old", "hits": 2}, {"rule": "deal", "hits": 1}]}]}"#,
    );
    let dot = ok(&["--counts", file.to_str().unwrap(), "../examples/routes/card_dealer.route"]);
    assert!(
        dot.contains(
            "// counts not drawn (not in these routes): listener `ghost`, rule `player.old`\n"
        ),
        "{dot}"
    );
    graphviz::render(&dot, "canon");
}

#[test]
fn a_counts_file_that_is_not_a_snapshot_exits_2_naming_it() {
    let dir = TempDir::new("graph-bad");
    let file = dir.write("s.json", r#"{"listeners": []}"#);
    let (exit, out, err) = graph(&["--counts", file.to_str().unwrap(), EXAMPLES]);
    assert_eq!((exit, out.as_str()), (Exit::Failed, ""));
    assert_eq!(
        err,
        format!(
            "dispatchio: `{}`: no `rule_hits`: not a dispatcher snapshot (`serde_json::to_string(&dispatcher.snapshot())`)\n",
            file.display()
        )
    );
    let (exit, _, err) = graph(&["--counts", "no/such.json", EXAMPLES]);
    assert_eq!(exit, Exit::Failed);
    assert!(err.starts_with("dispatchio: cannot read `no/such.json`: "), "{err}");
}

#[test]
fn a_file_with_errors_is_said_not_drawn_in_both_formats() {
    let dir = TempDir::new("graph-errors");
    dir.write("bad.route", "listener l { rule r when type == Nope => drop }\n");
    dir.write("good.route", "listener m { otherwise => queue q }\n");
    let path = dir.0.to_str().unwrap().to_owned();
    let bad = format!("{path}/bad.route");
    let dot = ok(&[&path]);
    let said = format!("not drawn, with errors (see `dispatchio check`): {bad}\n");
    assert!(dot.contains(&format!("    // {said}")), "{dot}");
    assert!(dot.contains("[label=\"m\""), "{dot}");
    graphviz::render(&dot, "canon");
    let mermaid = ok(&["--format", "mermaid", &path]);
    assert!(mermaid.contains(&format!("    %% {said}")), "{mermaid}");
    // Nothing but errors: no picture that would look like no routing.
    let (exit, out, err) = graph(&[&bad]);
    assert_eq!((exit, out.as_str()), (Exit::Failed, ""));
    assert_eq!(
        err,
        format!(
            "dispatchio: no file under {bad} checks without errors ({bad}): see `dispatchio check`\n"
        )
    );
}
