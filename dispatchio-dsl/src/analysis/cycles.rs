//! Forward cycles: loops of listeners one message can travel round.

use std::collections::{BTreeSet, HashMap};

use super::findings::RuleStatus;
use super::solver::{Answer, F, Space};
use super::table::Table;
use super::{graph, undecided};
use crate::concrete::Sample;
use crate::decide::route;
use crate::diagnostic::{Code, Diagnostic, Label};
use crate::program::ActionKind;

/// One way a message leaves a listener for another: a rule (or `otherwise`) that forwards.
struct Edge {
    from: usize,
    to: usize,
    /// The rule's index, `None` for `otherwise`.
    rule: Option<usize>,
}

pub(super) fn find(
    tables: &[Table<'_>],
    spaces: &[Space<'_>],
    status: &[Vec<RuleStatus>],
    out: &mut Vec<Diagnostic>,
) {
    let index: HashMap<&str, usize> =
        tables.iter().enumerate().map(|(i, t)| (t.listener.name.as_str(), i)).collect();
    let mut edges: Vec<Vec<Edge>> = (0..tables.len()).map(|_| Vec::new()).collect();
    for (a, t) in tables.iter().enumerate() {
        let l = t.listener;
        let targets = |acts: &[crate::program::Action]| -> Vec<usize> {
            acts.iter()
                .filter_map(|x| match &x.kind {
                    ActionKind::Forward(name) => index.get(name.as_str()).copied(),
                    _ => None,
                })
                .collect()
        };
        for (i, r) in l.rules.iter().enumerate() {
            if status[a][i].dead {
                continue;
            }
            for to in targets(&r.actions) {
                edges[a].push(Edge { from: a, to, rule: Some(i) });
            }
        }
        if let Some(o) = &l.otherwise {
            for to in targets(&o.actions) {
                edges[a].push(Edge { from: a, to, rule: None });
            }
        }
    }
    // A cycle stays in one component: only edges inside it are followed.
    let comp = graph::components(tables.len(), |v| edges[v].iter().map(|e| e.to).collect());
    for es in &mut edges {
        es.retain(|e| comp[e.from] == comp[e.to]);
    }
    let mut members: HashMap<usize, Vec<usize>> = HashMap::new();
    for (v, &c) in comp.iter().enumerate() {
        members.entry(c).or_default().push(v);
    }
    let mut gave_up = BTreeSet::new();
    // Each simple cycle is searched from its lowest listener, so it is
    // found once, and only through the listeners above it that are on a
    // cycle with it (Johnson's restriction): a ring of n listeners is
    // walked once, not n times.
    for start in 0..tables.len() {
        if edges[start].is_empty() {
            continue;
        }
        let above: Vec<usize> =
            members[&comp[start]].iter().copied().filter(|&v| v >= start).collect();
        let local: HashMap<usize, usize> = above.iter().enumerate().map(|(k, &v)| (v, k)).collect();
        let sub = graph::components(above.len(), |k| {
            edges[above[k]].iter().filter_map(|e| local.get(&e.to).copied()).collect()
        });
        let mut keep = vec![false; tables.len()];
        for (k, &v) in above.iter().enumerate() {
            keep[v] = sub[k] == sub[0];
        }
        walk(tables, spaces, &edges, start, &keep, out, &mut gave_up);
    }
    for (l, rules) in gave_up_by_listener(gave_up) {
        undecided::report(&tables[l], &rules, out);
    }
}

/// The rules given up on, grouped by listener.
fn gave_up_by_listener(
    about: BTreeSet<(usize, Option<usize>)>,
) -> Vec<(usize, BTreeSet<Option<usize>>)> {
    let mut out: Vec<(usize, BTreeSet<Option<usize>>)> = Vec::new();
    for (l, r) in about {
        match out.last_mut() {
            Some((last, rules)) if *last == l => {
                rules.insert(r);
            }
            _ => out.push((l, BTreeSet::from([r]))),
        }
    }
    out
}

/// The formula "this edge is taken", per class.
fn taken<'a>(t: &'a Table<'_>, c: usize, e: &Edge) -> Vec<&'a F> {
    match e.rule {
        Some(i) => t.fires(c, i),
        None => t.falls_through(c),
    }
}

/// Every simple cycle from `start` through listeners in `keep` that one
/// message can travel, depth first. The path's goals are kept per
/// class and grow one edge at a time; a class in which no message takes
/// the path so far is not asked again further down (the conjunction
/// only grows). An explicit stack, so a ring of thousands of listeners
/// does not recurse.
fn walk<'a, 'e>(
    tables: &'a [Table<'_>],
    spaces: &[Space<'_>],
    edges: &'e [Vec<Edge>],
    start: usize,
    keep: &[bool],
    out: &mut Vec<Diagnostic>,
    gave_up: &mut BTreeSet<(usize, Option<usize>)>,
) {
    let mut path: Vec<&'e Edge> = Vec::new();
    let mut on_path = vec![false; tables.len()];
    // Per class, the goals of the path's edges, and per edge of the
    // path, how many goals each class had before it.
    let mut goals: Vec<Vec<&'a F>> = vec![Vec::new(); spaces.len()];
    let mut marks: Vec<Vec<usize>> = Vec::new();
    // Per depth, the classes in which some message takes the path.
    let mut alive: Vec<Vec<usize>> = vec![(0..spaces.len()).collect()];
    // Per depth, the listener and the next of its edges to try.
    let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
    while let Some((at, next)) = stack.last_mut() {
        let Some(e) = edges[*at].get(*next) else {
            stack.pop();
            if let Some(e) = path.pop() {
                on_path[e.to] = false;
                alive.pop();
                for (g, m) in goals.iter_mut().zip(marks.pop().unwrap_or_default()) {
                    g.truncate(m);
                }
            }
            continue;
        };
        *next += 1;
        if !keep[e.to] || (e.to != start && on_path[e.to]) {
            continue;
        }
        // Can one message take every edge so far, this one included?
        let mark: Vec<usize> = goals.iter().map(Vec::len).collect();
        let mut sat = Vec::new();
        let mut witness = None;
        for &c in alive.last().map_or(&[][..], Vec::as_slice) {
            goals[c].extend(taken(&tables[e.from], c, e));
            match spaces[c].solve(&goals[c]) {
                Answer::Sat(w) => {
                    witness.get_or_insert(w);
                    sat.push(c);
                }
                Answer::Unknown => {
                    gave_up.insert((e.from, e.rule));
                }
                Answer::Unsat => {}
            }
        }
        match witness {
            Some(w) if e.to == start => {
                path.push(e);
                report(tables, &path, w, out);
                path.pop();
            }
            Some(_) if path.len() + 1 < tables.len() => {
                path.push(e);
                on_path[e.to] = true;
                marks.push(mark);
                alive.push(sat);
                stack.push((e.to, 0));
                continue;
            }
            _ => {}
        }
        for (g, m) in goals.iter_mut().zip(mark) {
            g.truncate(m);
        }
    }
}

fn report(tables: &[Table<'_>], path: &[&Edge], w: Sample, out: &mut Vec<Diagnostic>) {
    let first = tables[path[0].from].listener;
    let label = |e: &Edge| {
        let l = tables[e.from].listener;
        match e.rule {
            Some(i) => (l.rules[i].span, l.rules[i].name.clone()),
            None => (l.otherwise.as_ref().map_or(l.span, |o| o.span), "otherwise".to_owned()),
        }
    };
    let mut loop_names: Vec<&str> =
        path.iter().map(|e| tables[e.from].listener.name.as_str()).collect();
    loop_names.push(&first.name);
    let (span, name) = label(path[0]);
    let mut rules = vec![name];
    let mut d = Diagnostic::new(
        Code::ForwardCycle,
        format!("a message can be forwarded around a loop: {}", loop_names.join(" -> ")),
        Label::new(span, "forwards it on"),
    );
    for e in &path[1..] {
        let (span, name) = label(e);
        rules.push(format!("{}.{name}", tables[e.from].listener.name));
        d = d.with_related(Label::new(
            span,
            format!("and `{}` forwards it on", tables[e.from].listener.name),
        ));
    }
    // Check the witness really travels the loop, listener by listener.
    let verified = path.iter().all(|e| {
        let l = tables[e.from].listener;
        let dec = route(l, &w);
        match e.rule {
            Some(i) => dec.fired.contains(&i),
            None => dec.otherwise,
        }
    });
    let approx = path.iter().any(|e| {
        let t = &tables[e.from];
        (0..t.classes.len()).any(|c| match e.rule {
            Some(i) => t.approx(c, &[i]) || t.approx(c, &t.cands[c][i]),
            None => t.approx(c, &(0..t.listener.rules.len()).collect::<Vec<_>>()),
        })
    });
    let mut d = d
        .with_help("break the loop: narrow a forwarding rule's condition so the message stops")
        .in_listener(&first.name, rules)
        .with_witness(w);
    d.exact = verified && !approx;
    out.push(d);
}
