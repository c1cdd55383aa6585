//! The language guide's example for each finding really reports that finding.
//!
//! `docs/language.md` shows each code with a small `route` block, often just
//! the rules. This test takes the first block under each `### `code``
//! heading, completes it into a program the way a reader would (the message
//! types the guide's examples use, a listener around bare rules, an
//! `otherwise` where the block has none and the code is not about routing),
//! and checks it with the real checker.

use dispatchio_dsl::{Code, check_str};

/// The message types the guide's examples assume; a block that declares a
/// type itself keeps its own declaration.
const PRELUDE: &[(&str, &str)] = &[
    ("Card", "message Card { card: int, suit: string? }"),
    ("Greeting", "message Greeting { dealer: bool }"),
    ("Chat", "message Chat { text: string }"),
    ("Gunshot", "message Gunshot { loudness: int }"),
];

/// The first `route` block under each `### `code`` heading of the guide.
fn examples() -> Vec<(Code, String)> {
    let guide = std::fs::read_to_string("../docs/language.md").expect("docs/language.md exists");
    let mut out = Vec::new();
    let mut code = None;
    let mut block: Option<String> = None;
    for line in guide.lines() {
        if let Some(b) = block.as_mut() {
            if line.starts_with("```") {
                out.push((code.take().expect("a block under a heading"), block.take().unwrap()));
            } else {
                b.push_str(line);
                b.push('\n');
            }
        } else if let Some(name) = line.strip_prefix("### `").and_then(|l| l.split('`').next()) {
            code = Code::from_name(name);
        } else if line == "```route" && code.is_some() {
            block = Some(String::new());
        }
    }
    out
}

/// The block as a whole program.
fn complete(code: Code, block: &str) -> String {
    let mut text = String::new();
    for (name, decl) in PRELUDE {
        if !block.contains(&format!("message {name} ")) {
            text.push_str(decl);
            text.push('\n');
        }
    }
    let declares_listener = block.lines().any(|l| l.trim_start().starts_with("listener "));
    if declares_listener || !block.contains("rule ") {
        text.push_str(block);
        return text;
    }
    // Bare rules: declarations stay at the top, the rules go in a listener; an
    // `otherwise` keeps findings about unrouted messages out of examples that
    // are about something else.
    let is_item = |l: &&str| ["message ", "const ", "import "].iter().any(|k| l.starts_with(k));
    for line in block.lines().filter(is_item) {
        text.push_str(line);
        text.push('\n');
    }
    text.push_str("listener l {\n");
    for line in block.lines().filter(|l| !is_item(l)) {
        text.push_str(line);
        text.push('\n');
    }
    if !block.contains("otherwise") && code != Code::Unrouted {
        text.push_str("otherwise => drop\n");
    }
    text.push_str("}\n");
    text
}

#[test]
fn every_findings_example_in_the_guide_reports_its_code() {
    let examples = examples();
    // Every code has a route example (`import-cycle`'s is of two files).
    let covered: Vec<Code> = examples.iter().map(|(c, _)| *c).collect();
    for code in Code::ALL {
        assert!(covered.contains(&code), "the guide has no route example for `{code}`");
    }
    for (code, block) in examples {
        // `import-cycle` needs two files. `undecided` needs the analysis to
        // spend its whole work limit, tuned for release builds: seconds in
        // a debug build; its example is checked (with smaller limits) by
        // the analysis's own test of the same two rules.
        if code == Code::ImportCycle || code == Code::Undecided {
            continue;
        }
        let text = complete(code, &block);
        let report = check_str("guide.route", text.as_str());
        let found: Vec<Code> = report.diagnostics.iter().map(|d| d.code).collect();
        assert!(
            found.contains(&code),
            "the guide's `{code}` example reports {found:?}, not `{code}`:\n{text}\n{}",
            report.render_plain()
        );
        // Nothing else at error level: the example shows one mistake.
        let other_errors: Vec<Code> = report
            .diagnostics
            .iter()
            .filter(|d| d.is_error() && d.code != code)
            .map(|d| d.code)
            .collect();
        assert!(
            other_errors.is_empty(),
            "the `{code}` example also reports {other_errors:?}:\n{text}"
        );
    }
}

/// The text between the guide's line `start` and the next closing fence.
#[cfg(any(feature = "runtime", feature = "cli"))]
fn block_after(guide: &str, start: &str) -> String {
    let from = guide.find(start).unwrap_or_else(|| panic!("the guide has `{start}`"));
    let rest = &guide[from..];
    let body = &rest[rest.find('\n').expect("a block body") + 1..];
    body[..body.find("```").expect("a closing fence")].to_owned()
}

/// The guide's run-time loading example registers exactly what its first
/// file calls, with the kind the file calls it with: `build` accepts it.
#[cfg(feature = "runtime")]
#[test]
fn the_guides_loading_example_builds_the_guides_first_file() {
    let guide = std::fs::read_to_string("../docs/language.md").expect("docs/language.md exists");
    let file = block_after(&guide, "// game.route: routing for the card game");
    let snippet = block_after(&guide, "use dispatchio::{routes, Dispatcher, Message, Reply};");
    let registered = |call: &str| -> Vec<String> {
        snippet
            .match_indices(call)
            .map(|(at, _)| {
                let name = &snippet[at + call.len()..];
                name[..name.find('"').expect("a closing quote")].to_owned()
            })
            .collect()
    };
    let (sync, asynchronous) = (registered(".handler(\""), registered(".async_handler(\""));
    assert!(!sync.is_empty(), "the snippet registers handlers:\n{snippet}");

    let dir = std::env::temp_dir().join(format!("dispatchio-guide-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("game.route");
    std::fs::write(&path, &file).unwrap();
    let mut builder = dispatchio_dsl::interp::load(&path).expect("the first file loads");
    for name in &sync {
        builder = builder.handler(name.as_str(), |_m: &dispatchio_core::Message| {
            Ok(dispatchio_core::Reply::Empty)
        });
    }
    for name in &asynchronous {
        builder = builder.async_handler(name.as_str(), |_m: dispatchio_core::Message| async {
            Ok(dispatchio_core::Reply::Empty)
        });
    }
    let built = builder.build();
    std::fs::remove_dir_all(&dir).unwrap();
    let routes = built.unwrap_or_else(|e| panic!("the guide's example does not build: {e}"));
    let player = routes.listener("player").expect("the guide's example has a listener `player`");
    assert!(player.queue("hand").is_ok(), "the guide's `player` has a queue `hand`");
}

/// The output the guide shows for its first file is what `dispatchio
/// check` prints for it: the witness of `bad` and `admin` is a message the
/// order of the two decides (issue 11: it was one `deal` takes first).
#[cfg(feature = "cli")]
#[test]
fn the_guides_first_file_prints_what_the_guide_shows() {
    let guide = std::fs::read_to_string("../docs/language.md").expect("docs/language.md exists");
    let file = block_after(&guide, "// game.route: routing for the card game");
    let at =
        guide.find("`dispatchio check game.route` prints").expect("the guide shows the output");
    let shown = &guide[at..];
    let shown = &shown[shown.find("```text\n").expect("a text block") + "```text\n".len()..];
    let shown = &shown[..shown.find("```").expect("a closing fence")];
    let dir = crate::TempDir::new("guide-first");
    let path =
        dir.write("game.route", &format!("// game.route: routing for the card game\n{file}"));
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let arg = path.display().to_string();
    dispatchio_dsl::cli::run_with(["dispatchio", "check", arg.as_str()], &mut out, &mut err);
    let out = String::from_utf8(out).expect("UTF-8 output");
    let out = out.replace(&format!("{}/", dir.0.display()), "");
    assert!(out.contains(shown), "the guide shows:\n{shown}\nthe tool prints:\n{out}");
}
