//! The parser and checker never panic: arbitrary text, token soup, and
//! mutations of the fixture corpus all end in a report.

use proptest::prelude::*;

fn corpus() -> Vec<String> {
    crate::fixtures().iter().map(|p| std::fs::read_to_string(p).unwrap()).collect()
}

/// Words and symbols of the language, so random sequences get past the lexer
/// and into the checker.
const TOKENS: &[&str] = &[
    "message",
    "const",
    "listener",
    "rule",
    "when",
    "otherwise",
    "import",
    "allow",
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "?",
    "=",
    "=>",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "and",
    "or",
    "not",
    "in",
    "matches",
    "starts_with",
    "ends_with",
    "contains",
    "exists",
    "call",
    "async",
    "queue",
    "forward",
    "drop",
    "continue",
    "type",
    "source",
    "sync",
    "id",
    "content",
    ".",
    "card",
    "Card",
    "x",
    "int",
    "float",
    "string",
    "bool",
    "[int]",
    "0",
    "-12",
    "0x1F",
    "1e3",
    "0.5",
    "\"s\"",
    "\"[a\"",
    "true",
    "overlap",
    "shadowed",
    "X",
    "\"a.route\"",
    "//",
    "/*",
    "*/",
];

fn check(text: &str) {
    let report = dispatchio_dsl::check_str("fuzz.route", text);
    // Rendering touches every span: it must not panic either.
    let _ = report.render_plain();
}

proptest! {
    // 300 cases by default; `PROPTEST_CASES=100000` for a deeper run.
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(300)
    ))]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        check(&text);
    }

    #[test]
    fn token_soup_never_panics(tokens in prop::collection::vec(prop::sample::select(TOKENS), 0..60)) {
        check(&tokens.join(" "));
    }

    #[test]
    fn mutated_fixtures_never_panic(
        which in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0usize..12, prop::sample::select(TOKENS)), 1..5),
    ) {
        let corpus = corpus();
        let mut text = corpus[which.index(corpus.len())].clone();
        for (at, cut, insert) in edits {
            // Cut `cut` characters at a char boundary and insert a token there.
            let chars: Vec<char> = text.chars().collect();
            let at = at.index(chars.len() + 1);
            let end = (at + cut).min(chars.len());
            let mut next: String = chars[..at].iter().collect();
            next.push_str(insert);
            next.extend(&chars[end..]);
            text = next;
        }
        check(&text);
    }
}
