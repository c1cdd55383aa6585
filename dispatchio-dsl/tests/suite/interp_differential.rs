//! One meaning: the interpreter routes every message exactly as the
//! reference evaluator (`eval::route`) says, and `Routes::explain`'s trace
//! (what `dispatchio explain` prints) says the same, for every fixture program that
//! checks without errors and random messages of its declared types (random
//! field values, absent optionals, NaN and signed zeros, random envelope
//! fields, `content.…` paths present or not, undeclared types too).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use dispatchio_core::routing::{End, Fired, Matcher, Step};
use dispatchio_core::{DynContent, DynValue, Envelope, Id, Message, MessageId, Reply};
use dispatchio_dsl::interp::{self, Routes};
use dispatchio_dsl::program::{ActionKind, Cond, CondKind, FieldRef, Lit, Program, Test, Type};
use dispatchio_dsl::{Sample, Value};
use dispatchio_oracle::{self as eval, Decision};
use proptest::prelude::*;

use crate::fixtures;

/// Loads `path` with every handler it calls registered with the right kind.
pub(crate) fn build_all(path: &std::path::Path) -> Result<(Program, Routes), interp::Error> {
    let builder = interp::load(path)?;
    let program = builder.program().clone();
    let mut builder = builder;
    for (name, is_async) in handlers_of(&program) {
        builder = if is_async {
            builder.async_handler(name, |_m: Message| async { Ok(Reply::Empty) })
        } else {
            builder.handler(name, |_m: &Message| Ok(Reply::Empty))
        };
    }
    Ok((program, builder.build().expect("every handler is registered")))
}

pub(crate) fn handlers_of(program: &Program) -> BTreeSet<(String, bool)> {
    let mut out = BTreeSet::new();
    for l in program.listeners() {
        let actions = l.rules.iter().flat_map(|r| &r.actions);
        for a in actions.chain(l.otherwise.iter().flat_map(|o| &o.actions)) {
            if let ActionKind::Call { handler, is_async } = &a.kind {
                out.insert((handler.clone(), *is_async));
            }
        }
    }
    out
}

/// The interpreter's decision, in the reference evaluator's terms.
pub(crate) fn interpreted(routes: &Routes, listener: &str, msg: &Message) -> Decision {
    let l = routes.listener(listener).expect("the listener was built");
    let matcher = l.matcher();
    let layout = matcher.layout();
    let mut fired = Fired::new();
    matcher.route(msg, &mut fired);
    let actions = fired
        .steps()
        .iter()
        .map(|s| match *s {
            Step::Call(i) | Step::CallAsync(i) => ActionKind::Call {
                handler: layout.handlers[i].name.to_string(),
                is_async: matches!(s, Step::CallAsync(_)),
            },
            Step::Queue(i) => ActionKind::Queue(layout.queues[i].to_string()),
            Step::Forward(i) => ActionKind::Forward(layout.forwards[i].to_string()),
            Step::Drop => ActionKind::Drop,
        })
        .collect();
    Decision {
        fired: fired.rules().to_vec(),
        actions,
        otherwise: fired.end() == End::Otherwise,
        unrouted: fired.end() == End::Unrouted,
    }
}

fn to_dyn(v: &Value) -> DynValue {
    match v {
        Value::Bool(b) => DynValue::Bool(*b),
        Value::Int(i) => DynValue::Int(*i),
        Value::Float(x) => DynValue::Float(*x),
        Value::Str(s) => DynValue::Str(s.clone()),
        Value::List(items) => DynValue::List(items.iter().map(to_dyn).collect()),
        Value::Record(fields) => {
            DynValue::Record(fields.iter().map(|(k, v)| (k.clone(), to_dyn(v))).collect())
        }
    }
}

fn to_id(v: &Value) -> Option<Id> {
    match v {
        Value::Int(i) => Some(Id::Int(*i)),
        Value::Str(s) => Some(Id::from(s.clone())),
        _ => None,
    }
}

/// The runtime message a sample describes, content as `DynContent`.
pub(crate) fn message(s: &Sample) -> Message {
    let mut env = Envelope::new(s.ty.clone());
    env.id = MessageId(s.id);
    env.source = s.source.as_ref().and_then(to_id);
    env.dest = s.dest.as_ref().and_then(to_id);
    env.group = s.group.as_ref().and_then(to_id);
    env.response_required = s.response_required;
    env.is_response = s.is_response;
    env.sync = s.sync;
    env.blocking = s.blocking;
    let content = DynValue::Record(s.content.iter().map(|(k, v)| (k.clone(), to_dyn(v))).collect());
    Message::from_parts(env, Arc::new(DynContent::new(s.ty.clone(), content)))
}

/// Values worth trying for one program: its literals, their neighbours,
/// strings its globs and string tests accept, and the usual corner cases.
#[derive(Default)]
pub(crate) struct Pools {
    pub(crate) types: Vec<String>,
    pub(crate) ints: Vec<i64>,
    pub(crate) floats: Vec<f64>,
    pub(crate) strs: Vec<String>,
    pub(crate) dynamic: Vec<Vec<String>>,
}

impl Pools {
    pub(crate) fn of(program: &Program) -> Pools {
        let mut p = Pools {
            types: program.messages().iter().map(|m| m.name.clone()).collect(),
            ints: vec![0, 1, -1, 52, i64::MAX, i64::MIN],
            floats: vec![0.0, -0.0, 1.5, f64::NAN, f64::INFINITY, f64::NEG_INFINITY],
            strs: vec![String::new(), "x".into(), "enemy-1".into(), "root".into()],
            dynamic: Vec::new(),
        };
        p.types.push("Undeclared".into());
        for l in program.listeners() {
            for r in &l.rules {
                p.walk(&r.cond);
            }
        }
        for c in program.consts() {
            match &c.value {
                dispatchio_dsl::program::ConstValue::Lit(l) => p.lit(l),
                dispatchio_dsl::program::ConstValue::Set(ls) => ls.iter().for_each(|l| p.lit(l)),
            }
        }
        // Integer IDs and their decimal text: `source == 5` must not match "5".
        let texts: Vec<String> = p.ints.iter().map(i64::to_string).collect();
        p.strs.extend(texts);
        p
    }

    pub(crate) fn walk(&mut self, c: &Cond) {
        match &c.kind {
            CondKind::Pred(pred) => {
                if let FieldRef::Dynamic { path } = &pred.field {
                    self.dynamic.push(path.clone());
                }
                match &pred.test {
                    Test::Eq(l)
                    | Test::Ne(l)
                    | Test::Lt(l)
                    | Test::Le(l)
                    | Test::Gt(l)
                    | Test::Ge(l)
                    | Test::Contains(l) => self.lit(l),
                    Test::In(ls) | Test::NotIn(ls) => ls.iter().for_each(|l| self.lit(l)),
                    Test::Matches(g) => {
                        self.strs.push(instantiate(g.as_str()));
                        self.strs.push(format!("{}z", instantiate(g.as_str())));
                    }
                    Test::StartsWith(s) => self.strs.push(format!("{s}tail")),
                    Test::EndsWith(s) => self.strs.push(format!("head{s}")),
                    Test::Exists | Test::IsTrue => {}
                }
            }
            CondKind::And(cs) | CondKind::Or(cs) => cs.iter().for_each(|c| self.walk(c)),
            CondKind::Not(c) => self.walk(c),
        }
    }

    fn lit(&mut self, l: &Lit) {
        match l {
            Lit::Bool(_) => {}
            Lit::Int(i) => {
                self.ints.extend([i.saturating_sub(1), *i, i.saturating_add(1)]);
                self.floats.push(*i as f64);
            }
            Lit::Float(x) => self.floats.extend([*x, x - 0.5, x + 0.5]),
            Lit::Str(s) => {
                self.strs.push(s.to_string());
                self.strs.push(format!("a{s}b"));
                let half: String = s.chars().take(s.chars().count() / 2).collect();
                self.strs.push(half);
                self.types.push(s.to_string());
            }
        }
    }
}

/// A string a glob accepts: `*` as "x", `?` as "q", a class as its first member.
fn instantiate(glob: &str) -> String {
    let mut out = String::new();
    let mut chars = glob.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => out.push('x'),
            '?' => out.push('q'),
            '\\' => out.extend(chars.next()),
            '[' => {
                let negated = matches!(chars.peek(), Some('!' | '^'));
                if negated {
                    chars.next();
                }
                let first = chars.next().unwrap_or('a');
                for d in chars.by_ref() {
                    if d == ']' {
                        break;
                    }
                }
                out.push(if negated { '~' } else { first });
            }
            c => out.push(c),
        }
    }
    out
}

/// A tape of random choices: proptest shrinks it towards zeros, which picks
/// the first (simplest) option everywhere.
pub(crate) struct Tape<'a> {
    pub(crate) choices: &'a [u32],
    pub(crate) at: usize,
}

impl Tape<'_> {
    pub(crate) fn next(&mut self) -> u32 {
        let v = self.choices.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        v
    }

    pub(crate) fn chance(&mut self, percent: u32) -> bool {
        self.next() % 100 < percent
    }

    pub(crate) fn pick<T: Clone>(&mut self, xs: &[T]) -> T {
        xs[self.next() as usize % xs.len()].clone()
    }
}

fn gen_id(t: &mut Tape<'_>, p: &Pools) -> Value {
    if t.chance(50) { Value::Int(t.pick(&p.ints)) } else { Value::Str(t.pick(&p.strs)) }
}

fn gen_value(
    t: &mut Tape<'_>,
    p: &Pools,
    program: &Program,
    ty: &Type,
    depth: u32,
) -> Option<Value> {
    Some(match ty {
        Type::Optional(inner) => {
            if t.chance(30) {
                return None;
            }
            return gen_value(t, p, program, inner, depth);
        }
        Type::Bool => Value::Bool(t.chance(50)),
        Type::Int => Value::Int(t.pick(&p.ints)),
        Type::Float => Value::Float(t.pick(&p.floats)),
        Type::Str => Value::Str(t.pick(&p.strs)),
        Type::Id => gen_id(t, p),
        Type::List(inner) => {
            let n = t.next() % 4;
            Value::List((0..n).filter_map(|_| gen_value(t, p, program, inner, depth)).collect())
        }
        Type::Message(name) => {
            let def = program.message(name)?;
            if depth > 3 {
                return None;
            }
            let mut fields = BTreeMap::new();
            for f in &def.fields {
                if let Some(v) = gen_value(t, p, program, &f.ty, depth + 1) {
                    fields.insert(f.name.clone(), v);
                }
            }
            Value::Record(fields)
        }
        Type::Any => gen_any(t, p, 0),
    })
}

/// A value of any kind, for `content.…` paths.
fn gen_any(t: &mut Tape<'_>, p: &Pools, depth: u32) -> Value {
    match t.next() % if depth > 1 { 5 } else { 6 } {
        0 => Value::Bool(t.chance(50)),
        1 | 2 => Value::Int(t.pick(&p.ints)),
        3 => Value::Float(t.pick(&p.floats)),
        4 => Value::Str(t.pick(&p.strs)),
        _ => Value::List((0..t.next() % 3).map(|_| gen_any(t, p, depth + 1)).collect()),
    }
}

/// Puts `v` at `path`, creating records on the way (a non-record in the way
/// is left alone: the path is then absent, which is worth testing too).
fn put(content: &mut BTreeMap<String, Value>, path: &[String], v: Value) {
    let Some((first, rest)) = path.split_first() else { return };
    if rest.is_empty() {
        content.insert(first.clone(), v);
        return;
    }
    let slot = content.entry(first.clone()).or_insert_with(|| Value::Record(BTreeMap::new()));
    if let Value::Record(inner) = slot {
        put(inner, rest, v);
    }
}

pub(crate) fn gen_sample(t: &mut Tape<'_>, p: &Pools, program: &Program) -> Sample {
    let mut s = Sample::new(t.pick(&p.types));
    s.id = t.pick(&p.ints);
    for slot in [&mut s.source, &mut s.dest, &mut s.group] {
        if t.chance(60) {
            *slot = Some(gen_id(t, p));
        }
    }
    s.response_required = t.chance(30);
    s.is_response = t.chance(30);
    s.sync = t.chance(30);
    s.blocking = t.chance(30);
    if let Some(def) = program.message(&s.ty) {
        for f in &def.fields {
            if let Some(v) = gen_value(t, p, program, &f.ty, 0) {
                s.content.insert(f.name.clone(), v);
            }
        }
    }
    for path in &p.dynamic {
        if t.chance(50) {
            let v = if t.chance(20) { Value::Record(BTreeMap::new()) } else { gen_any(t, p, 0) };
            put(&mut s.content, path, v);
        }
    }
    s
}

/// Every fixture that loads without errors, built with all its handlers.
fn clean_fixtures() -> Vec<(String, Program, Routes, Pools)> {
    // The one corpus; `every_test.route` applies every test to every kind
    // of field with `continue` everywhere (so every rule is evaluated on
    // every message).
    let out: Vec<_> = fixtures()
        .into_iter()
        .filter_map(|path| {
            let (program, routes) = build_all(&path).ok()?;
            let pools = Pools::of(&program);
            Some((path.display().to_string(), program, routes, pools))
        })
        .collect();
    // The corpus's clean fixtures (see corpus.rs): the test must not pass
    // vacuously because loading broke.
    assert!(out.len() >= 5, "only {} programs loaded", out.len());
    out
}

proptest! {
    // 512 cases (each routes 4 messages through every listener of every
    // program) by default; `PROPTEST_CASES=100000` for a deeper run.
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(512)
    ))]

    #[test]
    fn the_interpreter_routes_every_message_as_the_reference_evaluator(
        choices in proptest::collection::vec(any::<u32>(), 256),
    ) {
        thread_local! {
            static FIXTURES: Vec<(String, Program, Routes, Pools)> = clean_fixtures();
        }
        FIXTURES.with(|fixtures| {
            for (name, program, routes, pools) in fixtures {
                // Several messages per fixture from one tape: each program
                // sees its own slice of choices.
                let mut tape = Tape { choices: &choices, at: 0 };
                for _ in 0..4 {
                    let sample = gen_sample(&mut tape, pools, program);
                    let msg = message(&sample);
                    for l in program.listeners() {
                        let want = eval::route(l, &sample);
                        let got = interpreted(routes, &l.name, &msg);
                        prop_assert_eq!(
                            &got, &want,
                            "{} listener {} on message {}", name, l.name, sample
                        );
                        // `dispatchio explain`'s trace, of the runtime message.
                        let trace = routes.explain(&l.name, &msg).expect("a listener of it");
                        let d = trace.decision();
                        let traced = Decision {
                            fired: d.fired, actions: d.actions,
                            otherwise: d.otherwise, unrouted: d.unrouted,
                        };
                        prop_assert_eq!(
                            traced, want,
                            "explain: {} listener {} on message {}", name, l.name, sample
                        );
                    }
                }
            }
            Ok(())
        })?;
    }
}

/// Corner cases named once, so a regression says what broke.
#[test]
fn nan_is_unequal_to_everything_and_id_ints_match_as_text() {
    let dir = crate::TempDir::new("nan");
    let path = dir.write(
        "nan.route",
        r#"
        message Pos { x: float, who: id }
        listener l {
            rule ne   when type == Pos and x != 1.0 => queue ne, continue
            rule nin  when content.x not in {1, 2} => queue nin, continue
            rule text when type == Pos and who matches "1?" => queue text, continue
            rule esc  when type == Pos and who matches "a\\*" => queue esc
            otherwise => drop
        }
        "#,
    );
    let (program, routes) = build_all(&path).unwrap_or_else(|e| panic!("{e}"));
    let mut s = Sample::new("Pos");
    s.content.insert("x".into(), Value::Float(f64::NAN));
    s.content.insert("who".into(), Value::Int(12));
    let want = eval::route(&program.listeners()[0], &s);
    assert_eq!(want.fired, vec![0, 1, 2], "the reference's own reading");
    assert_eq!(interpreted(&routes, "l", &message(&s)), want);
    s.content.insert("who".into(), Value::Str("a*".into()));
    let want = eval::route(&program.listeners()[0], &s);
    assert_eq!(want.fired, vec![0, 1, 3], "`\\*` is a literal star");
    assert_eq!(interpreted(&routes, "l", &message(&s)), want);
}

/// Issue 11, case 3: content fields read after negative facts about `type`
/// (`!=`, `not in`, a failed `==` / `in` before an `or`) load and route as
/// the reference evaluator says.
#[test]
fn content_read_after_a_negative_type_fact_routes_as_the_reference() {
    let (program, routes) =
        build_all(std::path::Path::new("tests/fixtures/narrowing_negative.route"))
            .unwrap_or_else(|e| panic!("{e}"));
    let forms = program.listener("forms").expect("listener `forms`");
    let queues = |s: &Sample| -> Vec<String> {
        eval::route(forms, s)
            .actions
            .iter()
            .filter_map(|a| match a {
                ActionKind::Queue(q) => Some(q.clone()),
                _ => None,
            })
            .collect()
    };
    let mut card = Sample::new("Card");
    card.content.insert("k".into(), Value::Int(5));
    assert_eq!(queues(&card), ["ne", "nin", "or_eq", "or_in"], "the reference's own reading");
    let mut shot = Sample::new("Shot");
    shot.content.insert("j".into(), Value::Bool(true));
    assert_eq!(queues(&shot), ["or_eq", "or_in", "not_eq"], "the reference's own reading");
    let mut samples = vec![card, shot];
    for k in 0..=4 {
        let mut c = Sample::new("Card");
        c.content.insert("k".into(), Value::Int(k));
        samples.push(c);
    }
    let mut quiet = Sample::new("Shot");
    quiet.content.insert("j".into(), Value::Bool(false));
    samples.push(quiet);
    samples.push(Sample::new("Other"));
    for s in &samples {
        for l in program.listeners() {
            let want = eval::route(l, s);
            assert_eq!(interpreted(&routes, &l.name, &message(s)), want, "{} on {s}", l.name);
        }
    }
}
