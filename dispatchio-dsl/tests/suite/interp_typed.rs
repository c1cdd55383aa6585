//! Interpreted handlers that take typed content: checked against the file
//! at build and on reload, decoded from any content of the type at run time.

use std::sync::Arc;
use std::time::Duration;

use dispatchio_core::{
    Dispatcher, DynContent, DynValue, Envelope, Error as RunError, HandlerError, Message, Reply,
};
use dispatchio_dsl::interp::{self, Error};
use dispatchio_dsl::program::Reach;

use crate::TempDir;

const GAME: &str = r#"
message Card     { card: int, suit: string? }
message Greeting { dealer: bool }
listener player {
    rule deal  when type == Card and card < 52 => call count
    rule greet when type == Greeting            => call hello
}
"#;

content_struct! {
    /// The user's struct for the file's `Card`.
    struct Card as "Card" { card: i64, suit: Option<String> }
}

content_struct! {
    /// A struct that does not fit the file's `Card`: `suit` is required here.
    struct StrictCard as "Card" { card: i64, suit: String }
}

content_struct! {
    /// The reply: the card number doubled, so the test sees the handler read it.
    struct Doubled as "Doubled" { n: i64 }
}

fn dyn_card(fields: &[(&str, DynValue)]) -> Message {
    let record = fields.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
    Message::from_shared(Arc::new(DynContent::new("Card", DynValue::Record(record))))
}

fn doubling(_e: &Envelope, card: &Card) -> Result<Reply, HandlerError> {
    let suit = card.suit.as_deref().map_or(0, str::len) as i64;
    Ok(Reply::with(Doubled { n: card.card * 2 + suit }))
}

fn build(dir: &TempDir, text: &str) -> Result<interp::Routes, Error> {
    let path = dir.write("game.route", text);
    interp::load(&path)?
        .typed_handler("count", doubling)
        .handler("hello", |_m: &Message| Ok(Reply::Empty))
        .build()
}

async fn ask(d: &Dispatcher, msg: Message) -> Result<i64, RunError> {
    let reply = d.request_as::<Doubled>(msg.to("player"), Some(Duration::from_secs(10))).await?;
    Ok(reply.n)
}

#[tokio::test]
async fn a_typed_handler_reads_typed_content_and_content_of_another_process_alike() {
    let dir = TempDir::new("typed-run");
    let routes = build(&dir, GAME).unwrap();
    let d = Dispatcher::new();
    routes.register(&d).unwrap();
    // A `Card` of the user's own type: borrowed as it is.
    let typed = Message::new(Card { card: 7, suit: Some("hearts".into()) });
    assert_eq!(ask(&d, typed).await.unwrap(), 14 + 6);
    // The same type as dynamic content (as from another process): decoded.
    let dynamic = dyn_card(&[("card", DynValue::Int(9))]);
    assert_eq!(ask(&d, dynamic).await.unwrap(), 18);
}

#[tokio::test]
async fn content_that_does_not_decode_fails_the_request_with_the_handlers_name() {
    let dir = TempDir::new("typed-bad-content");
    let routes = build(&dir, GAME).unwrap();
    let d = Dispatcher::new();
    routes.register(&d).unwrap();
    // `card` passes the rule (< 52) but is not the i64 the struct holds.
    let bad = dyn_card(&[("card", DynValue::Int(3)), ("suit", DynValue::Int(5))]);
    let err = ask(&d, bad).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, RunError::Handler { .. }), "{err:?}");
    assert!(text.contains("handler `count` takes a `Card`"), "{text}");
}

#[test]
fn a_handler_called_for_several_types_or_any_type_cannot_be_typed() {
    let dir = TempDir::new("typed-reach");
    let text = r#"
message Card     { card: int, suit: string? }
message Greeting { dealer: bool }
listener player {
    rule greet when type == Greeting and dealer => call hello
    rule deal  when type in {Card, Greeting}    => call count
    rule text  when type == "Text"              => call count, call hello
    otherwise => call count
}
"#;
    let Err(Error::Content(m)) = build(&dir, text) else { panic!("the build must be refused") };
    let rules: Vec<(&str, &str)> =
        m.mismatches.iter().map(|x| (x.rule.as_str(), x.reason.as_str())).collect();
    assert_eq!(rules.len(), 3, "{m}");
    assert_eq!(rules[0], ("deal", "the rule can pass it `Greeting`, and it takes only `Card`"));
    assert!(rules[1].0 == "text" && rules[1].1.contains("any type"), "{m}");
    assert!(rules[2].0 == "otherwise" && rules[2].1.contains("any type"), "{m}");
    assert!(m.to_string().contains("handler `count` takes"), "{m}");
}

#[test]
fn a_struct_that_cannot_hold_every_message_of_the_files_type_is_refused_at_build() {
    let dir = TempDir::new("typed-schema");
    let path = dir.write("game.route", GAME);
    let built = interp::load(&path)
        .unwrap()
        .typed_handler("count", |_e: &Envelope, _c: &StrictCard| Ok(Reply::Empty))
        .handler("hello", |_m: &Message| Ok(Reply::Empty))
        .build();
    let Err(Error::Content(m)) = built else { panic!("StrictCard must be refused") };
    assert_eq!(m.mismatches.len(), 1, "{m}");
    let reason = &m.mismatches[0].reason;
    assert!(reason.starts_with("the file's `message Card` does not decode into it"), "{reason}");
    assert!(reason.contains("suit"), "the reason names the field: {reason}");
}

#[test]
fn a_reload_that_widens_a_typed_handlers_rule_is_refused_and_the_old_table_runs() {
    let dir = TempDir::new("typed-reload");
    let routes = build(&dir, GAME).unwrap();
    let wider = GAME.replace(
        "    rule greet",
        "    rule late  when type == Greeting and dealer => call count\n    rule greet",
    );
    std::fs::write(routes.path(), wider).unwrap();
    let Err(Error::Content(m)) = routes.reload() else { panic!("the reload must be refused") };
    assert_eq!(m.mismatches[0].rule, "late", "{m}");
    assert_eq!(routes.generation(), 0, "the old table keeps running");
}

#[test]
fn the_checker_records_which_types_reach_each_call_of_a_handler() {
    let text = r#"
message A { x: int }
message B { x: int }
listener a    { rule r when type == A and x < 3        => call h }
listener ab   { rule r when type in {A, B}             => call h }
listener notb { rule r when not (type != B) and x > 1  => call h }
listener glob { rule r when type matches "A*"          => call h }
listener text { rule r when type == "Text"             => call h }
listener nota { rule r when type != A                  => call h }
listener both {
    rule r when type == A => call h
    otherwise             => call h
}
"#;
    let report = dispatchio_dsl::check_str("reach.route", text);
    let program = report.program.as_ref().expect("the file checks");
    let types = |names: &[&str]| Reach::Types(names.iter().map(|n| (*n).to_owned()).collect());
    let reach = |l: &str| -> Vec<(String, Reach)> {
        program.handler_calls(l, "h").iter().map(|c| (c.rule.clone(), c.reach.clone())).collect()
    };
    let r = |reach: Reach| vec![("r".to_owned(), reach)];
    assert_eq!(reach("a"), r(types(&["A"])));
    assert_eq!(reach("ab"), r(types(&["A", "B"])));
    assert_eq!(reach("notb"), r(types(&["B"])));
    assert_eq!(reach("glob"), r(Reach::Any), "a glob on `type` can match undeclared names");
    assert_eq!(reach("text"), r(Reach::Any), "`Text` is not a declared type");
    assert_eq!(reach("nota"), r(Reach::Any));
    assert_eq!(
        reach("both"),
        [("r".to_owned(), types(&["A"])), ("otherwise".to_owned(), Reach::Any)]
    );
    assert!(program.handler_calls("a", "nobody").is_empty());
}
