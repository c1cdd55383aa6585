//! What the checker produces and rejects, as library calls.

use std::path::Path;

use dispatchio_dsl::program::{ActionKind, CondKind, ConstValue, FieldRef, Lit, Pred, Test, Type};
use dispatchio_dsl::{Code, LoadError, Program, Report, check, check_str, load, load_str};

fn program(text: &str) -> Program {
    match load_str("t.route", text) {
        Ok(loaded) => loaded.program,
        Err(LoadError::Invalid(report)) => panic!("unexpected errors:\n{}", report.render_plain()),
        Err(e) => panic!("{e}"),
    }
}

fn codes(report: &Report) -> Vec<&'static str> {
    report.diagnostics.iter().map(|d| d.code.as_str()).collect()
}

/// The predicates of a rule's condition, depth first.
fn preds(cond: &dispatchio_dsl::program::Cond) -> Vec<&Pred> {
    match &cond.kind {
        CondKind::Pred(p) => vec![p],
        CondKind::And(cs) | CondKind::Or(cs) => cs.iter().flat_map(preds).collect(),
        CondKind::Not(c) => preds(c),
    }
}

const GAME: &str = include_str!("../fixtures/game.route");

#[test]
fn a_type_containing_itself_through_required_fields_is_an_error_of_check() {
    let report = check_str(
        "r.route",
        "message A { b: B }\nmessage B { a: A, label: string }\n\
         message Self { me: Self }\nmessage Fine { next: Fine?, kids: [Fine] }\n\
         listener l { rule n when type == Fine => drop }",
    );
    let errors: Vec<&str> =
        report.diagnostics.iter().filter(|d| d.is_error()).map(|d| d.code.as_str()).collect();
    assert_eq!(errors, ["type-mismatch"; 3], "{}", report.render_plain());
    let text = report.render_plain();
    for name in ["`A`", "`B`", "`Self`"] {
        assert!(text.contains(&format!("message type {name} contains itself")), "{text}");
    }
    assert!(!text.contains("`Fine`"), "`?` and lists break the loop: {text}");
    assert!(text.contains("r.route:3:9"), "the type's name is blamed: {text}");
}

#[test]
fn game_example_becomes_the_expected_program() {
    let p = program(GAME);
    assert_eq!(
        p.messages().iter().map(|m| m.name.as_str()).collect::<Vec<_>>(),
        ["Greeting", "Card", "Gunshot"]
    );
    assert_eq!(
        p.message("Card").unwrap().field("suit").unwrap().ty,
        Type::Optional(Box::new(Type::Str))
    );
    let player = p.listener("player").unwrap();
    assert_eq!(player.rules.len(), 6);
    assert!(player.rules[4].continues());
    assert_eq!(
        player.otherwise.as_ref().unwrap().actions[0].kind,
        ActionKind::Queue("inbox".into())
    );

    // `deal`: `type == Card and card < 52`, the content field typed by the schema.
    let deal = preds(&player.rules[1].cond);
    assert_eq!(deal[0].field, FieldRef::Type);
    assert_eq!(deal[0].test, Test::Eq(Lit::Str("Card".into())));
    assert_eq!(deal[1].field, FieldRef::Content { path: vec!["card".into()], ty: Type::Int });
    assert_eq!(deal[1].test, Test::Lt(Lit::Int(52)));

    // `cover`: the const is inlined and `not silenced` is a negated bare bool.
    let cover = &player.rules[3];
    let ps = preds(&cover.cond);
    assert_eq!(ps[1].test, Test::Ge(Lit::Int(80)));
    assert_eq!(ps[2].test, Test::IsTrue);
    let CondKind::And(parts) = &cover.cond.kind else { panic!("an and") };
    assert!(matches!(parts[2].kind, CondKind::Not(_)));
    assert_eq!(cover.actions[1].kind, ActionKind::Forward("squad".into()));

    // `admin`: the mixed set const fits the `id` field `source`.
    let admin = preds(&player.rules[5].cond);
    assert_eq!(admin[0].field, FieldRef::Source);
    assert_eq!(admin[0].test, Test::In(vec![Lit::Str("root".into()), Lit::Int(0)]));
    assert_eq!(p.consts()[1].value, ConstValue::Set(vec![Lit::Str("root".into()), Lit::Int(0)]));

    let squad = preds(&p.listener("squad").unwrap().rules[0].cond);
    assert_eq!(
        squad[0].test,
        Test::In(vec![Lit::Str("Gunshot".into()), Lit::Str("Greeting".into())])
    );
}

#[test]
fn int_literals_widen_to_float_fields() {
    let p = program(
        "message Shot { x: float }\nlistener l { rule r when type == Shot and x > 1 => drop }",
    );
    assert_eq!(preds(&p.listeners()[0].rules[0].cond)[1].test, Test::Gt(Lit::Float(1.0)));
}

#[test]
fn narrowing_flows_through_and_or_and_not() {
    let p = program(
        "message A { n: int }\nmessage B { n: int, s: string? }\nmessage C { m: int }\n\
         listener l {\n\
           rule both when type in {A, B} and n > 1 => queue q1, continue\n\
           rule orelse when type != C or m > 1 => queue q2, continue\n\
           rule negated when not (type != B) and exists s => queue q3, continue\n\
           rule nested when (type == A or type == B) and n == 2 => queue q4, continue\n\
         }",
    );
    let rules = &p.listeners()[0].rules;
    assert_eq!(
        preds(&rules[0].cond)[1].field,
        FieldRef::Content { path: vec!["n".into()], ty: Type::Int }
    );
    assert_eq!(
        preds(&rules[1].cond)[1].field,
        FieldRef::Content { path: vec!["m".into()], ty: Type::Int }
    );
    assert_eq!(preds(&rules[2].cond)[1].test, Test::Exists);
    assert_eq!(
        preds(&rules[3].cond)[2].field,
        FieldRef::Content { path: vec!["n".into()], ty: Type::Int }
    );
}

#[test]
fn negative_type_facts_are_subtracted_from_the_positive_set() {
    // Issue 11, case 3: `type != Shot` leaves `Card` of `{Card, Shot}`; so do
    // `not in`, and the failure of `==` or `in` before an `or`.
    let p = program(
        "message Card { k: int }\nmessage Shot { j: bool }\nmessage Chip { k: int }\n\
         listener l {\n\
           rule ne when type in {Card, Shot} and type != Shot and k > 1 => queue a, continue\n\
           rule nin when type in {Card, Shot, Chip} and type not in {Shot} and k > 2 => queue b, continue\n\
           rule or_eq when type in {Card, Shot} and (type == Shot or k > 3) => queue c, continue\n\
           rule or_in when type in {Card, Shot} and (type in {Shot} or k > 4) => queue d, continue\n\
           rule not_eq when type in {Card, Shot} and not (type == Shot) and k > 5 => queue e\n\
           otherwise => drop\n\
         }",
    );
    let k = FieldRef::Content { path: vec!["k".into()], ty: Type::Int };
    for (rule, at) in p.listeners()[0].rules.iter().zip([2, 2, 2, 2, 2]) {
        assert_eq!(preds(&rule.cond)[at].field, k, "rule {}", rule.name);
    }
}

#[test]
fn a_negative_type_fact_alone_does_not_narrow() {
    // Any other name, undeclared ones included, may still have the message.
    let r = check_str(
        "t.route",
        "message Card { k: int }\nmessage Shot { j: bool }\n\
         listener l { rule r when type != Shot and k > 1 => drop\n rule c when type == Card => drop }",
    );
    assert_eq!(codes(&r), ["field-not-narrowed"]);
    let text = r.render_plain();
    assert!(text.contains("the message may be of any type but `Shot` here"), "{text}");
}

#[test]
fn narrowing_is_left_to_right_only() {
    let r = check_str(
        "t.route",
        "message A { n: int }\nlistener l { rule r when n > 1 and type == A => drop }",
    );
    assert_eq!(codes(&r), ["field-not-narrowed"]);
}

#[test]
fn nested_and_dynamic_paths_resolve() {
    let p = program(
        "message Pos { x: float }\nmessage Ship { pos: Pos? }\n\
         listener l {\n\
           rule r when type == Ship and pos.x < 2.5 => drop\n\
           rule d when type == \"Crate\" and content.crew.size == 3 => drop\n\
         }",
    );
    let ps = preds(&p.listeners()[0].rules[0].cond);
    assert_eq!(
        ps[1].field,
        FieldRef::Content { path: vec!["pos".into(), "x".into()], ty: Type::Float }
    );
    // `content.…` reaches into content of an undeclared type (a declared
    // `Ship` has no `crew`, so there the rule could never match).
    let ps = preds(&p.listeners()[0].rules[1].cond);
    assert_eq!(ps[1].field, FieldRef::Dynamic { path: vec!["crew".into(), "size".into()] });
    assert_eq!(ps[1].test, Test::Eq(Lit::Int(3)));
}

#[test]
fn allow_codes_are_kept_on_the_rule() {
    let p =
        program("listener l { allow(overlap, sync-to-async) rule r when sync => call async h }");
    assert_eq!(p.listeners()[0].rules[0].allow, [Code::Overlap, Code::SyncToAsync]);
}

#[test]
fn every_error_is_collected_not_just_the_first() {
    let r = check_str(
        "t.route",
        "message A { n: int }\nlistener l {\n rule a when type == A and n == \"x\" => drop\n rule b when type == Q => drop\n rule c when m => forward nowhere\n}",
    );
    assert_eq!(codes(&r), ["type-mismatch", "unknown-name", "unknown-name", "unknown-name"]);
    assert!(r.program.is_none());
}

#[test]
fn findings_inside_rules_name_their_listener_and_rule() {
    let r = check_str("t.route", "listener l { rule bad when sync == 3 => drop }");
    let d = &r.diagnostics[0];
    assert_eq!(d.listener.as_deref(), Some("l"));
    assert_eq!(d.rules, ["bad"]);
}

#[test]
fn load_refuses_a_program_with_errors_and_keeps_every_finding() {
    match load_str("t.route", "listener l { rule a when nope => drop }") {
        Err(LoadError::Invalid(report)) => assert_eq!(codes(&report), ["unknown-name"]),
        other => panic!("expected Invalid, got {other:?}"),
    }
    match load(Path::new("tests/fixtures/does-not-exist.route")) {
        Err(LoadError::Read(e)) => assert!(e.to_string().contains("does-not-exist.route")),
        other => panic!("expected Read, got {other:?}"),
    }
}

#[test]
fn a_file_imported_twice_is_loaded_once() {
    let report = check(Path::new("tests/fixtures/imports.route")).unwrap();
    assert_eq!(codes(&report), Vec::<&str>::new());
    assert_eq!(report.sources.files().count(), 3);
    let p = report.program.unwrap();
    // Imports first, each declaration once.
    assert_eq!(
        p.messages().iter().map(|m| m.name.as_str()).collect::<Vec<_>>(),
        ["Card", "Table", "Seat"]
    );
}

#[test]
fn an_import_cycle_names_every_file_of_the_loop() {
    let report = check(Path::new("tests/fixtures/import_cycle.route")).unwrap();
    let cycle = report.diagnostics.iter().find(|d| d.code == Code::ImportCycle).unwrap();
    assert!(cycle.message.contains("import_cycle.route"), "{}", cycle.message);
    assert!(cycle.message.contains("cycle_b.route"), "{}", cycle.message);
    assert_eq!(cycle.related.len(), 1);
}

#[test]
fn unused_is_only_about_the_root_file_and_counts_nested_use() {
    // `Card` and `FULL_DECK` come from an import: never unused here.
    let report = check(Path::new("tests/fixtures/imports.route")).unwrap();
    assert!(report.warnings().next().is_none());
    let r = check_str(
        "t.route",
        "message Pos { x: int }\nmessage Ship { pos: Pos }\nmessage Lone { me: Lone? }\nconst K = 1\n\
         listener l { rule r when type == Ship => drop }",
    );
    let unused: Vec<&str> =
        r.warnings().filter(|d| d.code == Code::Unused).map(|d| d.message.as_str()).collect();
    assert_eq!(unused, ["message type `Lone` is never used", "const `K` is never used"]);
}

#[test]
fn misspelt_names_suggest_the_declared_name_they_are_closest_to() {
    let r = check_str(
        "t.route",
        "message Card { card: int }\nmessage Hand { top: Crad }\nconst LOUD = 80\n\
         listener player { rule a when type == Crad => forward sqaud\n\
         rule b when type == Card and card > LUOD => drop\n\
         rule c when type == Zebra => drop }\n\
         listener squad { otherwise => drop }",
    );
    let helps: Vec<(String, String)> = r
        .diagnostics
        .iter()
        .filter(|d| d.code == Code::UnknownName)
        .map(|d| (d.message.clone(), d.help.clone().unwrap_or_default()))
        .collect();
    let help_of = |message: &str| {
        helps
            .iter()
            .find(|(m, _)| m == message)
            .map(|(_, h)| h.as_str())
            .unwrap_or_else(|| panic!("no finding `{message}` in {helps:?}"))
    };
    assert!(help_of("unknown type `Crad`").starts_with("did you mean `Card`?"));
    assert_eq!(help_of("unknown message type `Crad`"), "did you mean `Card`?");
    assert_eq!(help_of("unknown listener `sqaud`"), "did you mean `squad`?");
    assert_eq!(help_of("unknown const `LUOD`"), "did you mean `LOUD`?");
    assert_eq!(help_of("unknown message type `Zebra`"), "", "nothing is close to `Zebra`");
}

#[test]
fn a_misspelt_type_in_a_rule_is_one_finding_not_a_cascade() {
    let r = check_str(
        "t.route",
        "message Card { card: int }\n\
         listener l { rule a when type == Crad and card > 3 => drop\notherwise => drop }",
    );
    assert_eq!(codes(&r), ["unknown-name"], "{}", r.render_plain());
}

#[test]
fn a_type_named_by_a_string_is_used() {
    let r = check_str(
        "t.route",
        "message Card { card: int }\nmessage Chip { v: int }\n\
         listener l { rule r when type == \"Card\" and card < 3 => drop\n\
         rule s when type in {\"Chip\", \"Other\"} => drop }",
    );
    let unused: Vec<&str> =
        r.warnings().filter(|d| d.code == Code::Unused).map(|d| d.message.as_str()).collect();
    assert!(unused.is_empty(), "{unused:?}");
}

#[test]
fn id_fields_take_mixed_sets_and_other_fields_do_not() {
    let p = program(
        "message M { who: id }\nlistener l { rule r when type == M and who in {1, \"a\"} => drop }",
    );
    assert_eq!(
        preds(&p.listeners()[0].rules[0].cond)[1].test,
        Test::In(vec![Lit::Int(1), Lit::Str("a".into())])
    );
    let r = check_str(
        "t.route",
        "message M { n: int }\nlistener l { rule r when type == M and n in {1, \"a\"} => drop }",
    );
    assert_eq!(codes(&r), ["type-mismatch"]);
}

#[test]
fn type_compares_with_declared_names_and_string_literals_only() {
    let p = program("listener l { rule r when type == \"External\" => drop }");
    assert_eq!(
        preds(&p.listeners()[0].rules[0].cond)[0].test,
        Test::Eq(Lit::Str("External".into()))
    );
    assert_eq!(
        codes(&check_str("t.route", "listener l { rule r when type == Nope => drop }")),
        ["unknown-name"]
    );
    assert_eq!(
        codes(&check_str("t.route", "listener l { rule r when type < 3 => drop }")),
        ["type-mismatch"]
    );
}

#[test]
fn exists_needs_a_field_that_can_be_missing_for_the_types_in_play() {
    let schema = "message A { s: string, p: P? }\nmessage B { s: string? }\nmessage P { x: int }\n";
    let ok = |cond: &str| {
        let r =
            check_str("t.route", format!("{schema}listener l {{ rule r when {cond} => drop }}"));
        !r.has_errors()
    };
    assert!(ok("type == B and exists s"));
    assert!(ok("type == A and exists p.x"), "p is optional, so p.x may be missing");
    assert!(ok("exists source and exists content.anything"));
    assert!(!ok("type == A and exists s"), "A always has s");
    assert!(!ok("exists sync"));
}

#[test]
fn a_leading_byte_order_mark_is_ignored() {
    let r = check_str("t.route", "\u{FEFF}listener l { rule r when sync => drop }");
    assert!(r.diagnostics.is_empty(), "{}", r.render_plain());
}
