//! `dispatchio explain` as a library call: the trace of the example routes,
//! its JSON shape, forwards followed, messages from every input, and bad
//! input refused with exit 2 and one line saying what and where.

use dispatchio_dsl::cli::{Exit, run_with_input};
use serde_json::Value;

use crate::TempDir;

/// Runs `dispatchio explain ARGS…` with `stdin`; returns (exit, stdout, stderr).
fn explain_with(stdin: &str, args: &[&str]) -> (Exit, String, String) {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let argv = ["dispatchio", "explain"].iter().chain(args).copied();
    let exit = run_with_input(argv, &mut stdin.as_bytes(), &mut out, &mut err);
    (exit, String::from_utf8(out).unwrap(), String::from_utf8(err).unwrap())
}

fn explain(args: &[&str]) -> (Exit, String, String) {
    explain_with("", args)
}

fn json(args: &[&str]) -> Value {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let (exit, out, err) = explain(&all);
    assert_eq!((exit, err.as_str()), (Exit::Clean, ""), "{out}");
    serde_json::from_str(&out).expect("one JSON document")
}

const EXAMPLES: &str = "../examples/routes";

#[test]
fn the_human_trace_draws_each_failed_condition_on_its_source() {
    let (exit, out, err) = explain(&[
        EXAMPLES,
        "--listener",
        "player",
        "--message",
        r#"type=Card card=60 source="bob""#,
        "--message",
        r#"{"type": "Greeting", "dealer": true, "group": "All"}"#,
    ]);
    assert_eq!((exit, err.as_str()), (Exit::Clean, ""));
    insta::assert_snapshot!("explain__player", out);
}

#[test]
fn the_json_trace_gives_each_rules_outcome_the_actions_and_the_end() {
    let doc =
        json(&[EXAMPLES, "--listener", "croupier", "--message", "type=Bet amount=150 player=ann"]);
    assert_eq!(doc["listener"], "croupier");
    assert_eq!(doc["file"], "../examples/routes/croupier.route");
    let t = &doc["messages"][0]["trace"];
    assert_eq!(doc["messages"][0]["message"]["amount"], 150);
    let outcomes: Vec<&str> =
        t["rules"].as_array().unwrap().iter().map(|r| r["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["failed", "fired", "fired", "not-tried"]);
    assert_eq!(t["rules"][0]["failed"]["text"], "type == Greeting");
    assert_eq!(t["rules"][0]["failed"]["field"], "type");
    assert_eq!(t["rules"][0]["failed"]["value"], "Bet");
    assert_eq!(t["rules"][0]["failed"]["line"], 10);
    assert_eq!(t["rules"][1]["continued"], true);
    assert_eq!(t["end"], serde_json::json!({"kind": "stopped", "rule": "bet"}));
    assert_eq!(t["actions"], serde_json::json!(["call async review", "call take_bet"]));
    // A bet of nothing: `refuse` stops it; a stranger: `otherwise`.
    let doc = json(&[
        EXAMPLES,
        "--listener",
        "croupier",
        "--message",
        "type=Bet amount=0 player=ann",
        "--message",
        "type=Other",
    ]);
    assert_eq!(doc["messages"][0]["trace"]["end"]["rule"], "refuse");
    assert_eq!(doc["messages"][1]["trace"]["end"]["kind"], "otherwise");
    assert_eq!(doc["messages"][1]["trace"]["otherwise"], serde_json::json!(["queue other"]));
}

#[test]
fn an_unrouted_message_says_so_and_a_forward_is_followed_into_its_listener() {
    let doc = json(&[EXAMPLES, "--listener", "table", "--message", "type=Other"]);
    assert_eq!(doc["messages"][0]["trace"]["end"]["kind"], "unrouted");
    let doc = json(&[
        "tests/fixtures/game.route",
        "--listener",
        "player",
        "--message",
        r#"type=Gunshot x=0 y=0 loudness=90 weapon=rifle silenced=false source="enemy-1""#,
    ]);
    let t = &doc["messages"][0]["trace"];
    assert_eq!(t["end"]["rule"], "cover");
    assert_eq!(t["forwards"][0]["to"], "squad");
    assert_eq!(t["forwards"][0]["followed"], "traced");
    let squad = &t["forwards"][0]["trace"];
    assert_eq!(squad["listener"], "squad");
    assert_eq!(squad["end"]["rule"], "any");
    assert_eq!(squad["actions"], serde_json::json!(["call alert"]));
    // The human form shows the listener forwarded to under the one that forwarded.
    let (_, out, _) = explain(&[
        "tests/fixtures/game.route",
        "--listener",
        "player",
        "--message",
        r#"type=Gunshot x=0 y=0 loudness=90 weapon=rifle silenced=false"#,
    ]);
    let tail = "  ✓ rule cover fired: call take_cover, forward squad\n\
                \x20 · rule enemy not tried\n\
                \x20 · rule admin not tried\n\
                listener squad (tests/fixtures/game.route, forwarded by player): stopped at rule `any`\n\
                \x20 ✓ rule any fired: call alert\n";
    assert!(out.ends_with(tail), "{out}");
}

#[test]
fn messages_are_read_from_standard_input_and_json_lines_files_in_order() {
    let dir = TempDir::new("explain-lines");
    let file = dir.write("m.jsonl", "{\"type\": \"Card\", \"card\": 1}\n\n type=Card card=99\n");
    let file = file.to_str().unwrap();
    let (exit, out, err) = explain_with(
        "type=Greeting dealer=false group=All\n",
        &[
            "--format",
            "json",
            EXAMPLES,
            "--listener",
            "player",
            "--messages",
            file,
            "--message",
            "-",
        ],
    );
    assert_eq!((exit, err.as_str()), (Exit::Clean, ""));
    let doc: Value = serde_json::from_str(&out).unwrap();
    let ends: Vec<String> = doc["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["trace"]["end"]["rule"].as_str().unwrap_or("otherwise").to_owned())
        .collect();
    // `--message`s (standard input here) first, then the files.
    assert_eq!(ends, ["greet", "deal", "otherwise"]);
}

#[test]
fn bad_input_exits_2_with_one_line_naming_what_and_where() {
    let dir = TempDir::new("explain-bad");
    let file = dir.write("m.jsonl", "type=Card card=1\n[1, 2]\n");
    let file = file.to_str().unwrap();
    let empty = dir.0.join("empty");
    std::fs::create_dir(&empty).unwrap();
    let empty = empty.to_str().unwrap();
    let cases: [(&[&str], &str); 11] = [
        (
            &[EXAMPLES, "--listener", "playr", "--message", "type=Card"],
            "dispatchio: no listener `playr` in ../examples/routes: did you mean `player`?\n",
        ),
        (
            &[EXAMPLES, "--listener", "dealer", "--message", "type=Card"],
            "dispatchio: no listener `dealer` in ../examples/routes (its listeners: croupier, player, table)\n",
        ),
        (
            &[EXAMPLES, "--listener", "player", "--message", "type=Card card=seven"],
            "dispatchio: --message 1: field `card`: expected an int (it is declared `int`), found \"seven\"\n",
        ),
        (
            &[
                EXAMPLES,
                "--listener",
                "player",
                "--message",
                "type=Card",
                "--message",
                "type=Card card",
            ],
            "dispatchio: --message 2: column 15: expected `=` after `card`, found the end\n",
        ),
        (
            &[EXAMPLES, "--listener", "player", "--messages", file],
            &format!("dispatchio: {file}:2: a witness is a JSON object\n"),
        ),
        (
            &[EXAMPLES, "--listener", "player"],
            "dispatchio: no message to explain: give `--message` or `--messages FILE`\n",
        ),
        (
            &["no/such/dir", "--listener", "player", "--message", "type=Card"],
            "dispatchio: cannot read `no/such/dir`: No such file or directory (os error 2)\n",
        ),
        (
            &[empty, "--listener", "player", "--message", "type=Card"],
            &format!("dispatchio: no .route files found under {empty}\n"),
        ),
        (
            &[EXAMPLES, "--listener", "player", "--message", "card=7"],
            "dispatchio: --message 1: no `type`: a message names its type (`type=Name`)\n",
        ),
        (
            &[EXAMPLES, "--listener", "player", "--message", "type=Card source=\"bob"],
            "dispatchio: --message 1: column 18: a string without its closing `\"`\n",
        ),
        (
            &[EXAMPLES, "--listener", "player", "--messages", empty],
            &format!("dispatchio: cannot read `{empty}`: Is a directory (os error 21)\n"),
        ),
    ];
    for (args, want) in cases {
        let (exit, out, err) = explain(args);
        assert_eq!(exit, Exit::Failed, "{args:?}");
        assert_eq!(exit.code(), 2);
        assert_eq!(out, "", "{args:?}");
        assert_eq!(err, want, "{args:?}");
    }
    // A bad line on standard input is named by its line number.
    let args = [EXAMPLES, "--listener", "player", "--message", "-"];
    let (exit, out, err) = explain_with("type=Card card=1\nnot json {\n", &args);
    assert_eq!((exit, out.as_str()), (Exit::Failed, ""));
    assert_eq!(err, "dispatchio: <stdin>:2: column 4: expected `=` after `not`, found ` `\n");
}

#[test]
fn a_message_type_near_a_declared_one_is_explained_with_a_did_you_mean_note() {
    let (exit, out, err) = explain(&[EXAMPLES, "--listener", "player", "--message", "type=Crad"]);
    assert_eq!(exit, Exit::Clean);
    assert!(out.contains("✓ otherwise: drop"), "{out}");
    assert_eq!(
        err,
        "dispatchio: note: type `Crad` is not declared in ../examples/routes/card_dealer.route: did you mean `Card`?\n"
    );
    // A type unlike any declared one is a message from elsewhere: no note.
    let (exit, _, err) = explain(&[EXAMPLES, "--listener", "player", "--message", "type=Ping n=1"]);
    assert_eq!((exit, err.as_str()), (Exit::Clean, ""));
}

#[test]
fn a_listener_declared_in_two_files_must_be_named_by_its_file() {
    let dir = TempDir::new("explain-twice");
    dir.write("a.route", "listener l { otherwise => drop }\n");
    dir.write("b.route", "listener l { otherwise => drop }\n");
    let path = dir.0.to_str().unwrap().to_owned();
    let (exit, _, err) = explain(&[&path, "--listener", "l", "--message", "type=X"]);
    assert_eq!(exit, Exit::Failed);
    assert!(
        err.contains("listener `l` is declared in `") && err.ends_with("give one of the files\n"),
        "{err}"
    );
    let (exit, ..) =
        explain(&[&format!("{path}/a.route"), "--listener", "l", "--message", "type=X"]);
    assert_eq!(exit, Exit::Clean);
}

#[test]
fn a_file_with_errors_is_named_when_the_listener_is_not_found() {
    let dir = TempDir::new("explain-errors");
    dir.write("bad.route", "listener l { rule r when type == Nope => drop }\n");
    let path = dir.0.to_str().unwrap().to_owned();
    let (exit, _, err) = explain(&[&path, "--listener", "l", "--message", "type=X"]);
    assert_eq!(exit, Exit::Failed);
    assert!(err.contains("bad.route` has errors (see `dispatchio check`)"), "{err}");
}

#[test]
fn the_guides_explain_examples_are_what_the_command_prints() {
    let guide = std::fs::read_to_string("../docs/language.md").expect("docs/language.md exists");
    let section = &guide[guide.find("## `dispatchio explain`").unwrap()..];
    let section = &section[..section.find("## `dispatchio graph`").unwrap()];
    let blocks: Vec<&str> =
        section.split("```text\n").skip(1).map(|b| &b[..b.find("```").unwrap()]).collect();
    let run = |listener: &str, message: &str| {
        let (exit, out, _) = explain(&[EXAMPLES, "--listener", listener, "--message", message]);
        assert_eq!(exit, Exit::Clean);
        // Run from the workspace root, as the guide does.
        out.replace("../examples/", "examples/")
    };
    assert_eq!(blocks[0], run("player", r#"type=Card card=60 source="bob""#));
    assert_eq!(blocks[1], run("croupier", r#"type=Bet amount=150 player="ann""#));
    // The library's plain form of the first.
    let program =
        dispatchio_dsl::load(std::path::Path::new("../examples/routes/card_dealer.route"))
            .unwrap()
            .program;
    let mut card = dispatchio_dsl::Sample::new("Card");
    card.content.insert("card".into(), dispatchio_dsl::Value::Int(60));
    let trace = dispatchio_dsl::explain::explain(&program, "player", &card).unwrap();
    assert_eq!(blocks[2], trace.to_string());
}
