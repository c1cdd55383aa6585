//! Compiled routes (`include_routes!`): the generated matchers agree with the
//! reference evaluator on random messages, the generated API plugs into the
//! dispatcher, and every language feature compiles warning-free (this file
//! is linted with clippy `-D warnings` in CI).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use dispatchio::dsl::program::{ActionKind, CondKind, FieldRef, Lit, Program, Test, Type};
use dispatchio::dsl::{Sample, Value};
use dispatchio::routing::{End, Fired, Matcher, Step};
use dispatchio::{
    ContentRef, ContentRegistry, DynContent, DynValue, Envelope, Id, Message, MessageId,
};
use dispatchio_oracle as eval;
use proptest::prelude::*;

mod game {
    dispatchio::include_routes!("dispatchio-dsl/tests/fixtures/game.route");
}

mod imports {
    dispatchio::include_routes!("dispatchio-dsl/tests/fixtures/imports.route");
}

mod narrowing {
    // Content fields read after negative facts about `type` (issue 11).
    dispatchio::include_routes!("dispatchio-dsl/tests/fixtures/narrowing_negative.route");
}

mod everything {
    dispatchio::include_routes!("dispatchio-dsl/tests/fixtures/everything.route");
}

mod language_tour {
    dispatchio::include_routes!("dispatchio-dsl/tests/fixtures/language_tour.route");
}

mod overlap_allow_and_continue {
    dispatchio::include_routes!("dispatchio-dsl/tests/fixtures/overlap_allow_and_continue.route");
}

mod overlap_unreached {
    dispatchio::include_routes!("dispatchio-dsl/tests/fixtures/overlap_unreached.route");
}

mod overlap_witness_reaches {
    dispatchio::include_routes!("dispatchio-dsl/tests/fixtures/overlap_witness_reaches.route");
}

mod unrouted_nan {
    dispatchio::include_routes!("dispatchio-dsl/tests/fixtures/unrouted_nan.route");
}

mod unused {
    dispatchio::include_routes!("dispatchio-dsl/tests/fixtures/unused.route");
}

mod every_test {
    dispatchio::include_routes!("dispatchio-dsl/tests/fixtures/every_test.route");
}

mod croupier {
    dispatchio::include_routes!("examples/routes/croupier.route");
}

mod bench_10000 {
    // The summary bench's biggest table: its matcher is the one timed as
    // `match_compiled_ns_10000`, its `Fields` fallback is cut into parts.
    dispatchio::include_routes!("benches/routes/rules_10000.route");
}

mod big_chains {
    dispatchio::include_routes!("dispatchio-dsl/tests/fixtures/big_chains.route");
}

mod bench_1000 {
    dispatchio::include_routes!("benches/routes/rules_1000.route");
    include!("../benches/support/handwritten_1000.rs");
}

// ---------------------------------------------------------------- random messages

/// Literals the program's conditions mention, and near misses of them, so
/// random messages hit the interesting boundaries.
#[derive(Default)]
struct Pools {
    ints: Vec<i64>,
    floats: Vec<f64>,
    strs: Vec<String>,
    dynamic: Vec<Vec<String>>,
    types: Vec<String>,
}

fn pools(program: &Program) -> Pools {
    let mut p = Pools::default();
    fn lit(p: &mut Pools, l: &Lit) {
        match l {
            Lit::Int(i) => p.ints.extend([*i, i.saturating_sub(1), i.saturating_add(1)]),
            Lit::Float(x) => p.floats.extend([*x, x - 0.25, x + 0.25]),
            Lit::Str(s) => {
                p.strs.extend([s.to_string(), format!("{s}!"), format!("x{s}"), format!("{s}1")])
            }
            Lit::Bool(_) => {}
        }
    }
    fn walk(p: &mut Pools, c: &dispatchio::dsl::program::Cond) {
        match &c.kind {
            CondKind::Pred(pred) => {
                if let FieldRef::Dynamic { path } = &pred.field {
                    p.dynamic.push(path.clone());
                }
                match &pred.test {
                    Test::Eq(l)
                    | Test::Ne(l)
                    | Test::Lt(l)
                    | Test::Le(l)
                    | Test::Gt(l)
                    | Test::Ge(l)
                    | Test::Contains(l) => lit(p, l),
                    Test::In(s) | Test::NotIn(s) => s.iter().for_each(|l| lit(p, l)),
                    Test::Matches(_) | Test::StartsWith(_) | Test::EndsWith(_) => {
                        let g = match &pred.test {
                            Test::Matches(g) => g.as_str(),
                            Test::StartsWith(s) | Test::EndsWith(s) => s.as_str(),
                            _ => unreachable!("a string test"),
                        };
                        let plain: String =
                            g.chars().filter(|c| c.is_alphanumeric() || *c == '-').collect();
                        p.strs.extend([plain.clone(), format!("{plain}9"), format!("{plain}a!")]);
                    }
                    Test::Exists | Test::IsTrue => {}
                }
                if pred.field == FieldRef::Type {
                    if let Test::Eq(Lit::Str(s)) = &pred.test {
                        p.types.push(s.to_string());
                    }
                }
            }
            CondKind::And(cs) | CondKind::Or(cs) => cs.iter().for_each(|c| walk(p, c)),
            CondKind::Not(c) => walk(p, c),
        }
    }
    for l in program.listeners() {
        for r in &l.rules {
            walk(&mut p, &r.cond);
        }
    }
    p.ints.extend([0, 1, -1, 7, 100]);
    p.floats.extend([0.0, -0.0, 1.0, f64::NAN]);
    p.strs.extend(["".to_owned(), "p1".to_owned(), "me".to_owned()]);
    p.types.extend(program.messages().iter().map(|m| m.name.clone()));
    p.types.push("Other".to_owned());
    p
}

fn pick<T: Clone + std::fmt::Debug + 'static>(v: &[T]) -> BoxedStrategy<T> {
    proptest::sample::select(v.to_vec()).boxed()
}

fn int(p: &Pools) -> BoxedStrategy<i64> {
    prop_oneof![3 => pick(&p.ints), 1 => -150i64..150].boxed()
}

fn string(p: &Pools) -> BoxedStrategy<String> {
    prop_oneof![3 => pick(&p.strs), 1 => "[a-z0-9!-]{0,5}"].boxed()
}

fn id(p: &Pools) -> BoxedStrategy<Value> {
    prop_oneof![int(p).prop_map(Value::Int), string(p).prop_map(Value::Str)].boxed()
}

/// A random value of a declared type (`None`: an absent optional field).
fn value(program: &Program, p: &Pools, ty: &Type, depth: usize) -> BoxedStrategy<Option<Value>> {
    match ty {
        Type::Bool => any::<bool>().prop_map(|b| Some(Value::Bool(b))).boxed(),
        Type::Int => int(p).prop_map(|i| Some(Value::Int(i))).boxed(),
        Type::Float => {
            prop_oneof![pick(&p.floats), -5.0f64..5.0].prop_map(|x| Some(Value::Float(x))).boxed()
        }
        Type::Str => string(p).prop_map(|s| Some(Value::Str(s))).boxed(),
        Type::Id => id(p).prop_map(Some).boxed(),
        Type::List(t) => proptest::collection::vec(value(program, p, t, depth + 1), 0..4)
            .prop_map(|v| Some(Value::List(v.into_iter().flatten().collect())))
            .boxed(),
        Type::Message(n) => {
            record(program, p, n, depth + 1).prop_map(|r| Some(Value::Record(r))).boxed()
        }
        Type::Optional(t) if depth > 2 => Just(None).boxed(),
        Type::Optional(t) => prop_oneof![1 => Just(None), 2 => value(program, p, t, depth)].boxed(),
        Type::Any => Just(None).boxed(),
    }
}

fn record(
    program: &Program,
    p: &Pools,
    name: &str,
    depth: usize,
) -> BoxedStrategy<BTreeMap<String, Value>> {
    let Some(m) = program.message(name) else { return Just(BTreeMap::new()).boxed() };
    let fields: Vec<_> =
        m.fields.iter().map(|f| (f.name.clone(), value(program, p, &f.ty, depth))).collect();
    let (names, values): (Vec<String>, Vec<_>) = fields.into_iter().unzip();
    values
        .prop_map(move |vs| {
            names.iter().cloned().zip(vs).filter_map(|(n, v)| Some((n, v?))).collect()
        })
        .boxed()
}

/// Content of an undeclared type: values at the `content.…` paths the program reads.
fn dynamic_record(p: &Pools) -> BoxedStrategy<BTreeMap<String, Value>> {
    let paths = p.dynamic.clone();
    let leaf = prop_oneof![
        int(p).prop_map(Value::Int),
        string(p).prop_map(Value::Str),
        any::<bool>().prop_map(Value::Bool),
        (-5.0f64..5.0).prop_map(Value::Float),
    ];
    proptest::collection::vec((any::<bool>(), leaf), paths.len())
        .prop_map(move |vals| {
            let mut root = BTreeMap::new();
            for (path, (present, v)) in paths.iter().zip(vals) {
                if present {
                    insert(&mut root, path, v);
                }
            }
            root
        })
        .boxed()
}

fn insert(rec: &mut BTreeMap<String, Value>, path: &[String], v: Value) {
    match path {
        [] => {}
        [last] => {
            rec.insert(last.clone(), v);
        }
        [first, rest @ ..] => {
            let entry = rec.entry(first.clone()).or_insert_with(|| Value::Record(BTreeMap::new()));
            if let Value::Record(inner) = entry {
                insert(inner, rest, v);
            }
        }
    }
}

fn sample(program: &Program) -> BoxedStrategy<Sample> {
    let program = program.clone();
    let p = Arc::new(pools(&program));
    let types = p.types.clone();
    let envelope = (
        int(&p),
        proptest::option::of(id(&p)),
        proptest::option::of(id(&p)),
        proptest::option::of(id(&p)),
        proptest::array::uniform4(any::<bool>()),
    );
    (pick(&types), envelope)
        .prop_flat_map(move |(ty, (mid, source, dest, group, flags))| {
            let content = if program.message(&ty).is_some() {
                record(&program, &p, &ty, 0)
            } else {
                dynamic_record(&p)
            };
            content.prop_map(move |content| Sample {
                ty: ty.clone(),
                id: mid,
                source: source.clone(),
                dest: dest.clone(),
                group: group.clone(),
                response_required: flags[0],
                is_response: flags[1],
                sync: flags[2],
                blocking: flags[3],
                content,
            })
        })
        .boxed()
}

// ---------------------------------------------------------------- samples as messages

fn dyn_value(v: &Value) -> DynValue {
    match v {
        Value::Bool(b) => DynValue::Bool(*b),
        Value::Int(i) => DynValue::Int(*i),
        Value::Float(x) => DynValue::Float(*x),
        Value::Str(s) => DynValue::Str(s.clone()),
        Value::List(items) => DynValue::List(items.iter().map(dyn_value).collect()),
        Value::Record(r) => {
            DynValue::Record(r.iter().map(|(k, v)| (k.clone(), dyn_value(v))).collect())
        }
    }
}

fn id_of(v: &Value) -> Id {
    match v {
        Value::Int(i) => Id::Int(*i),
        Value::Str(s) => Id::from(s.clone()),
        other => Id::from(other.to_string()),
    }
}

/// The sample as a message whose content is decoded with `registry`: the
/// generated struct for registered types, `DynContent` otherwise.
fn message(s: &Sample, registry: &ContentRegistry) -> Message {
    let record =
        DynValue::Record(s.content.iter().map(|(k, v)| (k.clone(), dyn_value(v))).collect());
    let content: ContentRef = if registry.knows(&s.ty) {
        let bytes = rmp_bytes(&record);
        registry.decode(&s.ty, &bytes).expect("a sample of a declared type decodes into its struct")
    } else {
        Arc::new(DynContent::new(s.ty.clone(), record))
    };
    let mut env = Envelope::new(s.ty.clone());
    env.id = MessageId(s.id);
    env.source = s.source.as_ref().map(id_of);
    env.dest = s.dest.as_ref().map(id_of);
    env.group = s.group.as_ref().map(id_of);
    env.response_required = s.response_required;
    env.is_response = s.is_response;
    env.sync = s.sync;
    env.blocking = s.blocking;
    Message::from_parts(env, content)
}

fn rmp_bytes(v: &DynValue) -> Vec<u8> {
    // The same encoding content uses across processes.
    let content = DynContent::new("x", v.clone());
    dispatchio::Content::encode(&content).expect("dynamic values encode")
}

/// What the reference evaluator decides, in the matcher's terms.
fn expected(
    listener: &dispatchio::dsl::program::ListenerDef,
    layout: &dispatchio::routing::Layout,
    s: &Sample,
) -> Fired {
    in_matcher_terms(listener, layout, &eval::route(listener, s))
}

/// What a trace of `dispatchio explain` says the listener did, in the
/// matcher's terms.
fn explained(
    listener: &dispatchio::dsl::program::ListenerDef,
    layout: &dispatchio::routing::Layout,
    trace: &dispatchio::dsl::explain::Trace,
) -> Fired {
    let d = trace.decision();
    let d = eval::Decision {
        fired: d.fired,
        actions: d.actions,
        otherwise: d.otherwise,
        unrouted: d.unrouted,
    };
    in_matcher_terms(listener, layout, &d)
}

/// A decision as the `Fired` a matcher with `layout` reports.
fn in_matcher_terms(
    listener: &dispatchio::dsl::program::ListenerDef,
    layout: &dispatchio::routing::Layout,
    d: &eval::Decision,
) -> Fired {
    let mut f = Fired::new();
    let steps: Vec<Step> = d
        .actions
        .iter()
        .map(|a| match a {
            ActionKind::Call { handler, is_async: false } => {
                Step::Call(layout.handler(handler).unwrap())
            }
            ActionKind::Call { handler, is_async: true } => {
                Step::CallAsync(layout.handler(handler).unwrap())
            }
            ActionKind::Queue(q) => Step::Queue(layout.queue(q).unwrap()),
            ActionKind::Forward(t) => Step::Forward(layout.forward(t).unwrap()),
            ActionKind::Drop => Step::Drop,
            ActionKind::Continue => unreachable!("continue is not an action that runs"),
        })
        .collect();
    // Rebuild through the public API: rules with their steps, then the end.
    let mut rest = &steps[..];
    for (k, &r) in d.fired.iter().enumerate() {
        let n = listener.rules[r].actions.iter().filter(|a| a.kind != ActionKind::Continue).count();
        let (mine, tail) = rest.split_at(n);
        rest = tail;
        if k + 1 == d.fired.len() && !d.otherwise && !d.unrouted {
            f.stop(r, mine);
        } else {
            f.rule(r, mine);
        }
    }
    if d.otherwise {
        f.otherwise(rest);
    } else if d.unrouted {
        f.unrouted();
    }
    f
}

/// The interpreter's routes of the program at `path`, every handler it
/// calls registered with the right kind.
fn interpreted(path: &str, program: &Program) -> dispatchio::routes::Routes {
    let mut builder = dispatchio::routes::load(path).expect("fixture loads");
    let listeners = program.listeners().iter();
    let rules = listeners.flat_map(|l| l.rules.iter().flat_map(|r| &r.actions));
    let otherwise = program.listeners().iter().flat_map(|l| l.otherwise.iter());
    let actions = rules.chain(otherwise.flat_map(|o| &o.actions));
    let calls: std::collections::BTreeSet<(String, bool)> = actions
        .filter_map(|a| match &a.kind {
            ActionKind::Call { handler, is_async } => Some((handler.clone(), *is_async)),
            _ => None,
        })
        .collect();
    for (name, is_async) in calls {
        builder = if is_async {
            builder.async_handler(name, |_m: Message| async { Ok(dispatchio::Reply::Empty) })
        } else {
            builder.handler(name, |_m: &Message| Ok(dispatchio::Reply::Empty))
        };
    }
    builder.build().expect("every handler is registered")
}

/// Every listener of the program at `path`: the compiled matcher, on typed
/// and on dynamic content, decides exactly what the reference evaluator
/// does, and so do the interpreter and `dispatchio explain`'s trace (of the
/// sample, and of the runtime message through `Routes::explain`): the
/// same rules fired, the same steps, the same end.
fn differential(path: &str, matchers: &[(&str, &dyn Matcher)], register: fn(&mut ContentRegistry)) {
    let program = dispatchio::dsl::load(Path::new(path)).expect("fixture loads").program;
    let routes = interpreted(path, &program);
    let mut typed = ContentRegistry::new();
    register(&mut typed);
    let untyped = ContentRegistry::new();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 512,
        ..ProptestConfig::default()
    });
    runner
        .run(&sample(&program), |s| {
            for (name, matcher) in matchers {
                let listener = program.listener(name).expect("listener exists");
                let want = expected(listener, matcher.layout(), &s);
                let trace = dispatchio::dsl::explain::explain(&program, name, &s)
                    .expect("the listener is in the program");
                let traced = explained(listener, matcher.layout(), &trace);
                prop_assert_eq!(&traced, &want, "explain: listener {} on {}", name, s);
                // The interpreter numbers handlers program-wide, the
                // compiled matcher per listener: each in its own layout.
                let interpreter = routes.listener(name).expect("the listener was built");
                let layout = interpreter.matcher().layout();
                let want_interpreted = expected(listener, layout, &s);
                for registry in [&typed, &untyped] {
                    let msg = message(&s, registry);
                    let typed = registry.knows(&s.ty);
                    let mut got = Fired::new();
                    matcher.route(&msg, &mut got);
                    prop_assert_eq!(&got, &want, "listener {} on {} (typed: {})", name, s, typed);
                    let mut got = Fired::new();
                    interpreter.matcher().route(&msg, &mut got);
                    let why = "interpreter";
                    prop_assert_eq!(
                        &got,
                        &want_interpreted,
                        "{}: {} on {} ({})",
                        why,
                        name,
                        s,
                        typed
                    );
                    let trace = routes.explain(name, &msg).expect("the listener is in the program");
                    let traced = explained(listener, layout, &trace);
                    let why = "Routes::explain";
                    prop_assert_eq!(
                        &traced,
                        &want_interpreted,
                        "{}: {} on {} ({})",
                        why,
                        name,
                        s,
                        typed
                    );
                }
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn compiled_game_matches_the_reference_evaluator() {
    differential(
        "dispatchio-dsl/tests/fixtures/game.route",
        &[("player", &game::player::Matcher::new()), ("squad", &game::squad::Matcher::new())],
        game::register_content_types,
    );
}

#[test]
fn compiled_imports_match_the_reference_evaluator() {
    differential(
        "dispatchio-dsl/tests/fixtures/imports.route",
        &[("player", &imports::player::Matcher::new())],
        imports::register_content_types,
    );
}

#[test]
fn compiled_narrowing_by_negative_facts_matches_the_reference_evaluator() {
    differential(
        "dispatchio-dsl/tests/fixtures/narrowing_negative.route",
        &[("l", &narrowing::l::Matcher::new()), ("forms", &narrowing::forms::Matcher::new())],
        narrowing::register_content_types,
    );
}

#[test]
fn compiled_everything_matches_the_reference_evaluator() {
    differential(
        "dispatchio-dsl/tests/fixtures/everything.route",
        &[
            ("router", &everything::router::Matcher::new()),
            ("audit", &everything::audit::Matcher::new()),
            ("levels", &everything::levels::Matcher::new()),
        ],
        everything::register_content_types,
    );
}

/// The fixtures of the one corpus compiled by `include_routes!` above, each
/// held to the reference evaluator below.
const COMPILED_FIXTURES: [&str; 12] = [
    "big_chains",
    "every_test",
    "everything",
    "game",
    "imports",
    "language_tour",
    "narrowing_negative",
    "overlap_allow_and_continue",
    "overlap_unreached",
    "overlap_witness_reaches",
    "unrouted_nan",
    "unused",
];

#[test]
fn every_fixture_that_checks_is_compiled_and_held_to_the_reference_evaluator() {
    let dir = std::path::Path::new("dispatchio-dsl/tests/fixtures");
    let mut clean: Vec<String> = std::fs::read_dir(dir)
        .expect("the fixture directory exists")
        .map(|e| e.expect("a readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "route"))
        .filter(|p| !dispatchio::dsl::check(p).expect("a readable fixture").has_errors())
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    clean.sort();
    assert_eq!(clean, COMPILED_FIXTURES, "a fixture that checks is compiled here");
}

#[test]
fn compiled_fixtures_match_the_reference_evaluator() {
    let f = |name: &str| format!("dispatchio-dsl/tests/fixtures/{name}.route");
    differential(
        &f("language_tour"),
        &[
            ("router", &language_tour::router::Matcher::new()),
            ("audit", &language_tour::audit::Matcher::new()),
        ],
        language_tour::register_content_types,
    );
    differential(
        &f("overlap_allow_and_continue"),
        &[("l", &overlap_allow_and_continue::l::Matcher::new())],
        overlap_allow_and_continue::register_content_types,
    );
    differential(
        &f("overlap_unreached"),
        &[("l", &overlap_unreached::l::Matcher::new())],
        overlap_unreached::register_content_types,
    );
    differential(
        &f("overlap_witness_reaches"),
        &[("l", &overlap_witness_reaches::l::Matcher::new())],
        overlap_witness_reaches::register_content_types,
    );
    differential(
        &f("unrouted_nan"),
        &[("l", &unrouted_nan::l::Matcher::new())],
        unrouted_nan::register_content_types,
    );
    differential(
        &f("unused"),
        &[("player", &unused::player::Matcher::new())],
        unused::register_content_types,
    );
    differential(
        &f("every_test"),
        &[("all", &every_test::all::Matcher::new())],
        every_test::register_content_types,
    );
}

#[test]
fn compiled_example_routes_match_the_reference_evaluator() {
    differential(
        "examples/routes/croupier.route",
        &[
            ("player", &croupier::player::Matcher::new()),
            ("croupier", &croupier::croupier::Matcher::new()),
        ],
        croupier::register_content_types,
    );
}

#[test]
fn compiled_bench_table_matches_the_reference_evaluator() {
    differential(
        "benches/routes/rules_1000.route",
        &[("bench", &bench_1000::bench::Matcher::new())],
        bench_1000::register_content_types,
    );
}

#[test]
fn compiled_10000_rule_bench_table_matches_the_reference_evaluator() {
    differential(
        "benches/routes/rules_10000.route",
        &[("bench", &bench_10000::bench::Matcher::new())],
        bench_10000::register_content_types,
    );
}

#[test]
fn chains_cut_into_parts_match_the_reference_evaluator() {
    // Long typed chains, a decision arm and an undeclared type's chain cut
    // into parts, arms that are data, and the `Fields` fallback in parts
    // (untyped registry): see the fixture's header.
    differential(
        "dispatchio-dsl/tests/fixtures/big_chains.route",
        &[("big", &big_chains::big::Matcher::new())],
        big_chains::register_content_types,
    );
}

#[test]
fn the_handwritten_bench_baseline_decides_like_the_compiled_matcher() {
    let program =
        dispatchio::dsl::load(Path::new("benches/routes/rules_1000.route")).unwrap().program;
    let mut registry = ContentRegistry::new();
    bench_1000::register_content_types(&mut registry);
    let matcher = bench_1000::bench::Matcher::new();
    let mut runner = proptest::test_runner::TestRunner::default();
    runner
        .run(&sample(&program), |s| {
            let msg = message(&s, &registry);
            let (mut compiled, mut hand) = (Fired::new(), Fired::new());
            matcher.route(&msg, &mut compiled);
            bench_1000::route_handwritten(&msg, &mut hand);
            prop_assert_eq!(compiled, hand, "{}", s);
            Ok(())
        })
        .unwrap();
}

#[test]
fn end_is_reported_for_a_typed_card() {
    let m = game::player::Matcher::new();
    let mut f = Fired::new();
    m.route(&Message::new(game::Card { card: 3, suit: None }).to("p"), &mut f);
    assert_eq!(f.end(), End::Stopped(1));
    assert_eq!(f.steps(), &[Step::Queue(m.layout().queue("hand").unwrap())]);
}

// ---------------------------------------------------------------- end to end

mod e2e {
    use std::sync::Mutex;
    use std::time::Duration;

    use dispatchio::{Dispatcher, Envelope, HandlerResult, Message, Reply, Text};

    use super::game::{self, Card, Greeting, Gunshot};

    /// Records every call with the typed content it received.
    #[derive(Default)]
    struct Player {
        calls: Mutex<Vec<String>>,
    }

    impl game::player::Handler for Player {
        fn on_greeting(&self, _: &Envelope, content: &Greeting) -> HandlerResult {
            self.calls.lock().unwrap().push(format!("greeting dealer={}", content.dealer));
            Ok(Reply::with(Text("welcome".into())))
        }

        fn take_cover(&self, _: &Envelope, content: &Gunshot) -> HandlerResult {
            self.calls.lock().unwrap().push(format!("cover {}", content.loudness));
            Ok(Reply::Empty)
        }

        fn duck(&self, envelope: &Envelope, content: &Gunshot) -> HandlerResult {
            let from = envelope.source.as_ref().map(ToString::to_string).unwrap_or_default();
            self.calls.lock().unwrap().push(format!("duck {} from {from}", content.weapon));
            Ok(Reply::Empty)
        }
    }

    /// `alert` is reached by two declared types: it gets the generated enum.
    #[derive(Default)]
    struct Squad {
        alerts: Mutex<Vec<String>>,
    }

    impl game::squad::Handler for Squad {
        fn alert(&self, _: &Envelope, content: game::squad::AlertContent<'_>) -> HandlerResult {
            let what = match content {
                game::squad::AlertContent::Gunshot(g) => format!("gunshot {}", g.weapon),
                game::squad::AlertContent::Greeting(g) => format!("greeting {}", g.dealer),
            };
            self.alerts.lock().unwrap().push(what);
            Ok(Reply::Empty)
        }
    }

    fn shot(loudness: i64, silenced: bool) -> Gunshot {
        Gunshot { x: 1.0, y: 2.0, loudness, weapon: "rifle".into(), silenced }
    }

    #[tokio::test]
    async fn a_compiled_listener_routes_through_the_dispatcher_to_typed_handlers_queues_and_forwards()
     {
        let d = Dispatcher::new();
        let player = std::sync::Arc::new(game::player::Listener::new(Player::default()));
        let squad = std::sync::Arc::new(game::squad::Listener::new(Squad::default()));
        player.bind_forward("squad", squad.clone()).unwrap();
        d.register("p1", player.clone()).unwrap();
        let me = d.register_source("enemy-7").unwrap();

        // A call's return value is the reply.
        let reply = me
            .request(Message::new(Greeting { dealer: true }).to("p1"), Some(Duration::from_secs(5)))
            .await
            .unwrap();
        assert_eq!(reply.content_as::<Text>().unwrap().0, "welcome");

        // `deal` queues the card on `hand`; `bad` drops the others.
        me.send(Message::new(Card { card: 7, suit: None }).to("p1")).unwrap();
        let got = player.queue_hand().recv_timeout(Duration::from_secs(5)).await.unwrap();
        assert_eq!(got.content_as::<Card>().unwrap().card, 7);
        let dropped = me
            .request(
                Message::new(Card { card: 60, suit: None }).to("p1"),
                Some(Duration::from_secs(5)),
            )
            .await;
        assert!(matches!(dropped, Err(dispatchio::Error::Dropped { .. })), "{dropped:?}");

        // `cover` calls take_cover and forwards to the squad (typed enum content).
        me.send(Message::new(shot(90, false)).to("p1")).unwrap();
        // `enemy` ducks and continues to `otherwise`, which queues on `inbox`.
        me.send(Message::new(shot(10, true)).to("p1")).unwrap();
        let inbox = player.queue_inbox().recv_timeout(Duration::from_secs(5)).await.unwrap();
        assert_eq!(inbox.content_as::<Gunshot>().unwrap().loudness, 10);

        assert_eq!(
            *player.handlers().calls.lock().unwrap(),
            ["greeting dealer=true", "cover 90", "duck rifle from \"enemy-7\""]
        );
        assert_eq!(*squad.handlers().alerts.lock().unwrap(), ["gunshot rifle"]);
        let hits: Vec<u64> = player.rule_hits().into_iter().map(|(_, n)| n).collect();
        assert_eq!(hits, [1, 1, 1, 1, 1, 0]);
        d.shutdown().await;
    }

    #[tokio::test]
    async fn typed_handlers_refuse_content_that_is_not_their_struct() {
        // A Greeting whose content is dynamic (an unregistered remote type):
        // the matcher still routes it, the typed handler reports the mismatch.
        let d = Dispatcher::new();
        let player = std::sync::Arc::new(game::player::Listener::new(Player::default()));
        d.register("p1", player.clone()).unwrap();
        let me = d.new_source();
        let content = dispatchio::DynContent::new(
            "Greeting",
            dispatchio::DynValue::Record(Default::default()),
        );
        let msg = Message::from_shared(std::sync::Arc::new(content)).to("p1");
        assert_eq!(msg.content().type_name(), "Greeting");
        let err = me.request(msg, Some(Duration::from_secs(5))).await.unwrap_err();
        assert!(
            err.to_string().contains("register_content_types")
                || format!("{err:?}").contains("register_content_types"),
            "{err:?}"
        );
        d.shutdown().await;
    }
}

mod every_handler {
    use std::time::Duration;

    use dispatchio::{Content, Dispatcher, Envelope, HandlerResult, Message, Reply, Text};

    use super::everything::{self, Chat, Move, Ping};

    /// Every kind of handler signature the generator produces, implemented.
    struct Router;

    impl everything::router::Handler for Router {
        fn on_move(&self, _: &Envelope, content: &Move) -> HandlerResult {
            Ok(Reply::with(Text(content.name.clone())))
        }

        fn log_move(
            &self,
            _: &Envelope,
            content: &Move,
        ) -> impl Future<Output = HandlerResult> + Send + 'static {
            let name = content.name.clone();
            async move { Ok(Reply::with(Text(name))) }
        }

        fn on_chat(&self, _: &Envelope, content: &Chat) -> HandlerResult {
            Ok(Reply::with(Text(content.text.clone())))
        }

        fn on_kind(
            &self,
            _: &Envelope,
            content: everything::router::OnKindContent<'_>,
        ) -> HandlerResult {
            let name = match content {
                everything::router::OnKindContent::Move(m) => m.name.clone(),
                everything::router::OnKindContent::Chat(c) => c.text.clone(),
            };
            Ok(Reply::with(Text(name)))
        }

        fn on_any(&self, _: &Envelope, content: &dyn Content) -> HandlerResult {
            Ok(Reply::with(Text(format!("any {}", content.type_name()))))
        }

        fn on_ping(
            &self,
            _: &Envelope,
            content: &Ping,
        ) -> impl Future<Output = HandlerResult> + Send + 'static {
            let n = content.n;
            async move { Ok(Reply::with(Text(format!("pong {n}")))) }
        }

        fn ack(&self, _: &Envelope, _: &dyn Content) -> HandlerResult {
            Ok(Reply::Empty)
        }
    }

    fn text(m: &Message) -> &str {
        m.content_as::<Text>().map_or("", |t| t.0.as_str())
    }

    #[tokio::test]
    async fn dynamic_and_async_handlers_get_their_content() {
        let d = Dispatcher::new();
        d.register("router", std::sync::Arc::new(everything::router::Listener::new(Router)))
            .unwrap();
        let me = d.new_source();
        let t = Some(Duration::from_secs(5));
        // `texts`: an undeclared type read through `content.text`, handled as `&dyn Content`.
        let reply = me
            .request(Message::new(Text("hello".into())).to("router").with_id(1_000), t)
            .await
            .unwrap();
        assert_eq!(text(&reply), "any Text");
        // `pings`: an async handler's future gives the reply.
        let reply =
            me.request(Message::new(Ping { n: 2 }).to("router").with_id(1_000), t).await.unwrap();
        assert_eq!(text(&reply), "pong 2");
        d.shutdown().await;
    }
}
