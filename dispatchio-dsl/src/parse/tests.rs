use super::*;

fn parse(text: &str) -> Result<File, Vec<Diagnostic>> {
    parse_file(FileId(0), text)
}

fn first_error(text: &str) -> String {
    match parse(text) {
        Ok(_) => panic!("expected a parse error for {text:?}"),
        Err(errs) => errs[0].message.clone(),
    }
}

fn cond_of(text: &str) -> Expr {
    let file = parse(&format!("listener l {{ rule r when {text} => drop }}")).unwrap();
    let Item::Listener(l) = &file.items[0] else { panic!("not a listener") };
    let Clause::Rule(r) = &l.clauses[0] else { panic!("not a rule") };
    r.cond.clone()
}

fn lit(text: &str) -> LitKind {
    let file = parse(&format!("const X = {text}")).unwrap();
    let Item::Const(c) = &file.items[0] else { panic!("not a const") };
    let Operand::Lit(l) = &c.value else { panic!("not a literal") };
    l.kind.clone()
}

/// Regression: a rule's span ran on over the whitespace and comments up
/// to the next rule, so diagnostics underlined two rules for one.
#[test]
fn a_rule_span_ends_at_its_last_action() {
    let text = "listener l {\n  rule a when sync => queue q  // note\n\n  rule b when sync => queue q, drop\n  otherwise => drop\n\n}";
    let file = parse(text).unwrap();
    let Item::Listener(l) = &file.items[0] else { panic!("not a listener") };
    let text_of = |span: Span| &text[span.start as usize..span.end as usize];
    let Clause::Rule(a) = &l.clauses[0] else { panic!("not a rule") };
    assert_eq!(text_of(a.span), "rule a when sync => queue q");
    let Clause::Rule(b) = &l.clauses[1] else { panic!("not a rule") };
    assert_eq!(text_of(b.span), "rule b when sync => queue q, drop");
    let Clause::Otherwise(o) = &l.clauses[2] else { panic!("not otherwise") };
    assert_eq!(text_of(o.span), "otherwise => drop");
}

#[test]
fn literals_of_every_form_decode() {
    assert_eq!(lit("-12"), LitKind::Int(-12));
    assert_eq!(lit("0x1F"), LitKind::Int(31));
    assert_eq!(lit("1_000"), LitKind::Int(1000));
    assert_eq!(lit("-9223372036854775808"), LitKind::Int(i64::MIN));
    assert_eq!(lit("0.5"), LitKind::Float(0.5));
    assert_eq!(lit("1e3"), LitKind::Float(1000.0));
    assert_eq!(lit("true"), LitKind::Bool(true));
    assert_eq!(lit(r#""a\"b\\c\nd\te\u{e9}""#), LitKind::Str("a\"b\\c\nd\te\u{e9}".into()));
}

#[test]
fn out_of_range_literals_are_syntax_errors_not_panics() {
    assert!(first_error("const X = 9223372036854775808").contains("does not fit"));
    assert!(first_error("const X = 1e999").contains("out of range"));
    assert!(first_error(r#"const X = "\u{D800}""#).contains("Unicode"));
}

#[test]
fn and_binds_tighter_than_or() {
    let e = cond_of("a or b and c");
    let ExprKind::Or(parts) = e.kind else { panic!("expected or") };
    assert!(matches!(parts[0].kind, ExprKind::Pred(_)));
    assert!(matches!(parts[1].kind, ExprKind::And(ref v) if v.len() == 2));
}

#[test]
fn not_in_and_prefix_not_are_told_apart() {
    let e = cond_of("not x in S");
    let ExprKind::Not(inner) = e.kind else { panic!("expected not") };
    let ExprKind::Pred(p) = inner.kind else { panic!("expected pred") };
    assert_eq!(p.test.unwrap().op, Op::In);
    let e = cond_of("x not in S");
    let ExprKind::Pred(p) = e.kind else { panic!("expected pred") };
    assert_eq!(p.test.unwrap().op, Op::NotIn);
}

#[test]
fn comments_and_dotted_paths_parse() {
    let e = cond_of("/* c */ pos.x > 1 // end\n and content.a.b");
    let ExprKind::And(parts) = e.kind else { panic!("expected and") };
    let ExprKind::Pred(p) = &parts[0].kind else { panic!("expected pred") };
    assert_eq!(p.path.text(), "pos.x");
}

#[test]
fn parse_errors_name_what_was_expected_in_words() {
    let msg = first_error("listener l { rule r when => drop }");
    assert!(msg.contains("a condition"), "{msg}");
    let msg = first_error("listener l { rule r when sync drop }");
    assert!(msg.contains("`=>`"), "{msg}");
    let msg = first_error("listener l { rule r when sync => }");
    assert!(msg.contains("an action"), "{msg}");
    let msg = first_error("listener l { rule drop when sync => drop }");
    assert!(msg.contains("a name") && msg.contains("`drop`"), "{msg}");
}

#[test]
fn parse_errors_name_expected_punctuation() {
    assert!(first_error("message Card { card int }").contains("`:`"));
    assert!(first_error("listener l rule").contains("expected `{`"));
    assert!(first_error("message A { x: [int }").contains("`]`"));
    assert!(first_error("listener l { rule a when (sync => drop }").contains("`)`"));
    assert!(first_error("listener l { rule a when sync => drop").contains("`}`"));
    assert!(first_error("const A = 1 /* open").contains("never closed"));
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!("{}sync{}", "(".repeat(200), ")".repeat(200));
    let msg = first_error(&format!("listener l {{ rule r when {deep} => drop }}"));
    assert!(msg.contains("nest"), "{msg}");
    let nots = "not ".repeat(5000);
    assert!(parse(&format!("listener l {{ rule r when {nots} sync => drop }}")).is_err());
}
