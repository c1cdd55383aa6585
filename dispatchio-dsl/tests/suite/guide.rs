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
    // Every code but `import-cycle` (two files) has a one-file example.
    let covered: Vec<Code> = examples.iter().map(|(c, _)| *c).collect();
    for code in Code::ALL {
        assert!(covered.contains(&code), "the guide has no route example for `{code}`");
    }
    for (code, block) in examples {
        if code == Code::ImportCycle {
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
