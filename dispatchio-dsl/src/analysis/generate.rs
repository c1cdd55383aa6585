//! Programs built in Rust, without the front end: a small builder for tests,
//! and a generator of large, realistic routing tables for the benchmark.
//!
//! Not a stable API: it exists for this crate's tests and benchmarks.

use crate::diagnostic::{FileId, SourceFile, SourceMap, Span};
use crate::program::{
    Action, ActionKind, Cond, CondKind, FieldDef, FieldRef, ListenerDef, Lit, MessageDef,
    Otherwise, Pred, Program, RuleDef, Test, Type,
};

fn nospan() -> Span {
    Span::new(FileId(0), 0, 0)
}

/// `field test`.
pub fn pred(field: FieldRef, test: Test) -> Cond {
    Cond { kind: CondKind::Pred(Pred { field, test }), span: nospan() }
}

/// `type == name`.
pub fn ty(name: &str) -> Cond {
    pred(FieldRef::Type, Test::Eq(Lit::Str(name.to_owned().into())))
}

/// A declared content field.
pub fn field(name: &str, ty: Type) -> FieldRef {
    FieldRef::Content { path: name.split('.').map(str::to_owned).collect(), ty }
}

/// `content.a.b`.
pub fn dynamic(path: &str) -> FieldRef {
    FieldRef::Dynamic { path: path.split('.').map(str::to_owned).collect() }
}

/// `a and b and …`.
pub fn and(items: Vec<Cond>) -> Cond {
    Cond { kind: CondKind::And(items), span: nospan() }
}

/// `a or b or …`.
pub fn or(items: Vec<Cond>) -> Cond {
    Cond { kind: CondKind::Or(items), span: nospan() }
}

/// `not c`.
pub fn not(c: Cond) -> Cond {
    Cond { kind: CondKind::Not(Box::new(c)), span: nospan() }
}

/// `rule name when cond => actions`.
pub fn rule(name: &str, cond: Cond, actions: Vec<ActionKind>) -> RuleDef {
    RuleDef {
        name: name.to_owned(),
        span: nospan(),
        name_span: nospan(),
        allow: Vec::new(),
        cond,
        actions: actions.into_iter().map(|kind| Action { kind, span: nospan() }).collect(),
    }
}

/// `listener name { rules [otherwise => actions] }`.
pub fn listener(
    name: &str,
    rules: Vec<RuleDef>,
    otherwise: Option<Vec<ActionKind>>,
) -> ListenerDef {
    ListenerDef {
        name: name.to_owned(),
        span: nospan(),
        name_span: nospan(),
        rules,
        otherwise: otherwise.map(|acts| Otherwise {
            span: nospan(),
            actions: acts.into_iter().map(|kind| Action { kind, span: nospan() }).collect(),
        }),
    }
}

/// `message name { fields }`.
pub fn message(name: &str, fields: &[(&str, Type)]) -> MessageDef {
    MessageDef {
        name: name.to_owned(),
        span: nospan(),
        name_span: nospan(),
        fields: fields
            .iter()
            .map(|(n, t)| FieldDef { name: (*n).to_owned(), ty: t.clone(), span: nospan() })
            .collect(),
    }
}

/// `queue name`.
pub fn queue(name: &str) -> ActionKind {
    ActionKind::Queue(name.to_owned())
}

/// `call name` (`call async name` if `is_async`).
pub fn call(name: &str, is_async: bool) -> ActionKind {
    ActionKind::Call { handler: name.to_owned(), is_async }
}

/// `forward name`.
pub fn forward(name: &str) -> ActionKind {
    ActionKind::Forward(name.to_owned())
}

/// A program of these messages and listeners, with a pseudo source text
/// (one line per listener, rule and `otherwise`) that every span points into.
pub fn program(messages: Vec<MessageDef>, mut listeners: Vec<ListenerDef>) -> Program {
    let mut text = String::new();
    let file = FileId(0);
    let line = |text: &mut String, s: String| {
        let start = text.len();
        text.push_str(&s);
        let span = Span::new(file, start, text.len());
        text.push('\n');
        span
    };
    for l in &mut listeners {
        l.span = line(&mut text, format!("listener {} {{", l.name));
        l.name_span =
            Span::new(file, l.span.start as usize + 9, l.span.start as usize + 9 + l.name.len());
        for r in &mut l.rules {
            r.span = line(&mut text, format!("    rule {}", r.name));
            r.name_span = Span::new(file, r.span.start as usize + 9, r.span.end as usize);
            r.cond.span = r.span;
        }
        if let Some(o) = &mut l.otherwise {
            o.span = line(&mut text, "    otherwise".to_owned());
        }
        line(&mut text, "}".to_owned());
    }
    let mut sources = SourceMap::new();
    let root = sources.add(SourceFile::new("<generated>.route", text));
    let (program, errors) = crate::check::assemble(sources, root, messages, listeners);
    debug_assert!(errors.is_empty(), "a generated program is valid: {errors:?}");
    program
}

/// A small deterministic pseudo-random generator (no dependency needed).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 =
            self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// A realistic large table: a `main` listener with `rules` rules over eight
/// message types, most of the form `type == T and field == literal` (with
/// some sets, ranges, flags, source tests and globs, and one general rule
/// per type at the end), an `otherwise`, and two small listeners it
/// forwards to.
pub fn table(rules: usize, seed: u64) -> Program {
    let mut rng = Lcg(seed);
    let int = || Type::Int;
    let messages = vec![
        message("Card", &[("card", int()), ("suit", Type::Optional(Box::new(Type::Str)))]),
        message(
            "Gunshot",
            &[
                ("x", Type::Float),
                ("y", Type::Float),
                ("loudness", int()),
                ("weapon", Type::Str),
                ("silenced", Type::Bool),
            ],
        ),
        message("Chat", &[("channel", Type::Str), ("user", Type::Id), ("text", Type::Str)]),
        message("Move", &[("unit", int()), ("dx", Type::Float), ("dy", Type::Float)]),
        message("Trade", &[("item", int()), ("price", Type::Float), ("buyer", Type::Id)]),
        message("Login", &[("user", Type::Str), ("admin", Type::Bool)]),
        message("Tick", &[("frame", int())]),
        message("Score", &[("team", Type::Str), ("points", int())]),
    ];
    // The discriminating field of each type, and whether it is an int.
    let keys: [(&str, &str, bool); 8] = [
        ("Card", "card", true),
        ("Gunshot", "weapon", false),
        ("Chat", "channel", false),
        ("Move", "unit", true),
        ("Trade", "item", true),
        ("Tick", "frame", true),
        ("Score", "team", false),
        // Login messages are routed by their source instead.
        ("Login", "user", false),
    ];
    let spread = (rules as u64).max(8);
    let lit = |rng: &mut Lcg, is_int: bool| {
        let k = rng.below(spread);
        if is_int { Lit::Int(k as i64) } else { Lit::Str(format!("k{k}").into()) }
    };
    let mut out = Vec::with_capacity(rules);
    // One general rule per keyed type closes the table.
    let general_from = rules.saturating_sub(7);
    for n in 0..rules {
        let (tname, fname, is_int) =
            if n >= general_from { keys[n - general_from] } else { keys[rng.below(7) as usize] };
        let fty = if is_int { Type::Int } else { Type::Str };
        let key = field(fname, fty.clone());
        let roll = rng.below(100);
        let cond = if n >= general_from {
            ty(tname)
        } else if roll < 60 {
            and(vec![ty(tname), pred(key, Test::Eq(lit(&mut rng, is_int)))])
        } else if roll < 75 {
            let set = (0..3).map(|_| lit(&mut rng, is_int)).collect();
            and(vec![ty(tname), pred(key, Test::In(set))])
        } else if roll < 85 {
            let l = rng.below(100) as i64;
            and(vec![
                ty("Gunshot"),
                pred(field("weapon", Type::Str), Test::Eq(lit(&mut rng, false))),
                pred(field("loudness", Type::Int), Test::Ge(Lit::Int(l))),
            ])
        } else if roll < 92 {
            and(vec![
                ty("Gunshot"),
                pred(field("weapon", Type::Str), Test::Eq(lit(&mut rng, false))),
                not(pred(field("silenced", Type::Bool), Test::IsTrue)),
            ])
        } else if roll < 96 {
            and(vec![
                ty("Login"),
                pred(FieldRef::Source, Test::Eq(Lit::Int(rng.below(spread) as i64))),
            ])
        } else {
            and(vec![
                ty(tname),
                pred(key, Test::Eq(lit(&mut rng, is_int))),
                pred(
                    FieldRef::Source,
                    Test::Matches(format!("enemy-{}*", rng.below(10)).as_str().into()),
                ),
            ])
        };
        let mut cond = cond;
        let mut actions = match rng.below(6) {
            0 => vec![call("on_msg", false)],
            1 => {
                // Async handlers are usually kept away from sync messages.
                if rng.below(10) != 0 {
                    cond = and(vec![cond, not(pred(FieldRef::Sync, Test::IsTrue))]);
                }
                vec![call("on_event", true)]
            }
            2 => vec![queue("inbox")],
            3 => vec![queue("audit"), forward("audit")],
            4 => vec![ActionKind::Drop],
            _ => vec![queue("hot")],
        };
        if rng.below(20) == 0 && actions != [ActionKind::Drop] {
            actions.push(ActionKind::Continue);
        }
        out.push(rule(&format!("r{n}"), cond, actions));
    }
    let main = listener("main", out, Some(vec![queue("inbox")]));
    let audit = listener(
        "audit",
        vec![
            rule("shots", ty("Gunshot"), vec![queue("shots")]),
            rule(
                "escalate",
                and(vec![
                    ty("Trade"),
                    pred(field("price", Type::Float), Test::Gt(Lit::Float(1e6))),
                ]),
                vec![forward("review")],
            ),
        ],
        Some(vec![ActionKind::Drop]),
    );
    let review =
        listener("review", vec![rule("all", ty("Trade"), vec![call("review", false)])], None);
    program(messages, vec![main, audit, review])
}

/// A table of `rules` range rules on one field (`type == Card and card >=
/// a and card < b`, windows of random width), a general rule and an
/// `otherwise`: the shape where literal indexing does not help and
/// intervals must.
pub fn range_table(rules: usize, seed: u64) -> Program {
    let mut rng = Lcg(seed);
    let card = || field("card", Type::Int);
    let mut out = Vec::with_capacity(rules);
    for n in 0..rules.saturating_sub(1) {
        let a = rng.below(rules as u64 * 50) as i64;
        let w = 65 + rng.below(400) as i64;
        let cond = and(vec![
            ty("Card"),
            pred(card(), Test::Ge(Lit::Int(a))),
            pred(card(), Test::Lt(Lit::Int(a + w))),
        ]);
        let actions = match rng.below(3) {
            0 => vec![queue("low")],
            1 => vec![queue("high")],
            _ => vec![ActionKind::Drop],
        };
        out.push(rule(&format!("r{n}"), cond, actions));
    }
    out.push(rule("cards", ty("Card"), vec![queue("hand")]));
    let main = listener("main", out, Some(vec![queue("inbox")]));
    program(vec![message("Card", &[("card", Type::Int)])], vec![main])
}
