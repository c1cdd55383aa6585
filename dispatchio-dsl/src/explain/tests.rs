use super::*;

fn program(text: &str) -> Program {
    match crate::load_str("t.route", text) {
        Ok(loaded) => loaded.program,
        Err(crate::LoadError::Invalid(report)) => panic!("{}", report.render_plain()),
        Err(e) => panic!("{e}"),
    }
}

fn card(n: i64) -> Sample {
    let mut s = Sample::new("Card");
    s.content.insert("card".into(), Value::Int(n));
    s
}

const GAME: &str = "message Card { card: int, suit: string? }\n\
    message Greeting { dealer: bool }\n\
    listener player {\n\
        rule greet when type == Greeting and group == \"All\" => queue greetings\n\
        rule low   when type == Card and card >= 0 and card < 10 => call low, continue\n\
        rule deal  when type == Card and card < 52 => queue hand\n\
        rule spare when type == Card and card < 100 => drop\n\
        otherwise  => forward audit\n\
    }\n\
    listener audit {\n\
        rule red when type == Card and (suit == \"hearts\" or suit == \"diamonds\") => queue red\n\
        rule any when type == Card and not (exists suit) => forward log\n\
    }\n\
    listener log { otherwise => queue all }";

#[test]
fn a_failed_and_is_explained_by_its_first_failing_operand_with_the_value_read() {
    let p = program(GAME);
    let t = explain(&p, "player", &card(60)).unwrap();
    let Outcome::Failed(f) = &t.rules[1].outcome else { panic!("{t}") };
    assert_eq!(f.text, "card < 10");
    assert_eq!(
        f.kind,
        FailureKind::Test {
            field: FieldRef::Content { path: vec!["card".into()], ty: crate::program::Type::Int },
            value: Some(Value::Int(60))
        }
    );
    assert_eq!(f.to_string(), "`card < 10` is false (card is 60)");
    let Outcome::Failed(f) = &t.rules[0].outcome else { panic!("{t}") };
    assert_eq!(f.to_string(), "`type == Greeting` is false (type is \"Card\")");
}

#[test]
fn rules_after_the_stopping_rule_are_not_tried_and_continue_goes_on() {
    let p = program(GAME);
    let t = explain(&p, "player", &card(3)).unwrap();
    assert_eq!(t.fired(), vec![1, 2]);
    assert_eq!(t.end, End::Stopped(2));
    assert_eq!(t.end_text(), "stopped at rule `deal`");
    assert_eq!(t.rules[3].outcome, Outcome::NotTried);
    assert!(matches!(&t.rules[1].outcome, Outcome::Fired { continued: true, .. }));
    assert!(t.otherwise.is_none() && t.forwards.is_empty());
}

#[test]
fn forwards_are_followed_into_the_listeners_they_name() {
    let p = program(GAME);
    let t = explain(&p, "player", &card(200)).unwrap();
    assert_eq!(t.end, End::Otherwise);
    let [Forwarded { target, followed: Followed::Traced(audit) }] = &t.forwards[..] else {
        panic!("{t}")
    };
    assert_eq!(target, "audit");
    let Outcome::Failed(f) = &audit.rules[0].outcome else { panic!("{t}") };
    assert_eq!(f.kind, FailureKind::NoAlternative);
    assert_eq!(audit.end, End::Stopped(1));
    let Followed::Traced(log) = &audit.forwards[0].followed else { panic!("{t}") };
    assert_eq!((log.listener.as_str(), log.end), ("log", End::Otherwise));
    assert_eq!(
        t.to_string(),
        "listener player: otherwise\n\
         \x20 rule greet: no, `type == Greeting` is false (type is \"Card\")\n\
         \x20 rule low: no, `card < 10` is false (card is 200)\n\
         \x20 rule deal: no, `card < 52` is false (card is 200)\n\
         \x20 rule spare: no, `card < 100` is false (card is 200)\n\
         \x20 otherwise: forward audit\n\
         \x20 listener audit: stopped at rule `any`\n\
         \x20   rule red: no, `suit == \"hearts\" or suit == \"diamonds\"` is false (no alternative holds)\n\
         \x20   rule any: fired: forward log\n\
         \x20   listener log: otherwise\n\
         \x20     otherwise: queue all\n"
    );
}

#[test]
fn a_negation_that_fails_is_named_as_a_whole_and_an_absent_field_as_absent() {
    let p = program(GAME);
    let mut s = card(200);
    s.content.insert("suit".into(), Value::Str("spades".into()));
    let t = explain(&p, "audit", &s).unwrap();
    let Outcome::Failed(f) = &t.rules[1].outcome else { panic!("{t}") };
    assert_eq!(f.kind, FailureKind::Negated);
    assert_eq!(f.text, "not (exists suit)");
    assert_eq!(t.end, End::Unrouted);
    let t = explain(&p, "player", &Sample::new("Card")).unwrap();
    let Outcome::Failed(f) = &t.rules[1].outcome else { panic!("{t}") };
    assert_eq!(f.to_string(), "`card >= 0` is false (card is absent)");
}

#[test]
fn an_unknown_listener_has_no_trace() {
    assert!(explain(&program(GAME), "dealer", &card(1)).is_none());
}
