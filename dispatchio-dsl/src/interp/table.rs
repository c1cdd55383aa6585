//! Lowering one listener of a checked program to a routing table, and the
//! [`RouteMatcher`] that routes with the current table of a listener and
//! lets a reload swap it.
//!
//! The runtime's executor ([`RoutedListener`](dispatchio_core::RoutedListener))
//! sizes its queues, forward slots and hit counters from the matcher's
//! [`Layout`] once, when the listener is built. A reload must therefore not
//! move indices around: every listener gets a *stable* layout when it is
//! built (every handler the program provides, every queue it can push to,
//! every listener it forwards to) and each table,
//! the first and every reloaded one, is lowered against that layout.
//! Rule indices are the exception: rules come and go with the file, so a
//! table maps each rule to the layout's index of the rule of the same name
//! at build time, and numbers rules that are new since then after those
//! (the executor skips hit counters it has no slot for).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use dispatchio_core::SharedStr;
use dispatchio_core::routing::{Fired, IndexedRule, Layout, Matcher, RuleSet, Step};
use parking_lot::RwLock;

use crate::interp::cond::lower_cond;
use crate::interp::error::{Missing, MissingKind};
use crate::program::{Action, ActionKind, ListenerDef};

/// One listener's rules, lowered to core's [`RuleSet`], which indexes them
/// once (by message type, then by equality and range runs) so a message
/// tries only the rules that can match it.
#[derive(Debug)]
pub(crate) struct Table {
    rules: RuleSet,
}

impl Table {
    /// Lowers `def` against `layout`, or lists everything it names that the
    /// layout does not provide.
    pub(crate) fn lower(def: &ListenerDef, layout: &Layout) -> Result<Table, Vec<Missing>> {
        let mut missing = Vec::new();
        let mut extra = layout.rules.len();
        let mut rules = Vec::with_capacity(def.rules.len());
        // By name: a lookup per rule, not a scan (thousands of rules).
        let mut slots: HashMap<&str, usize> = HashMap::with_capacity(layout.rules.len());
        for (i, n) in layout.rules.iter().enumerate() {
            slots.entry(&**n).or_insert(i);
        }
        for rule in &def.rules {
            let slot = slots.get(rule.name.as_str()).copied().unwrap_or_else(|| {
                extra += 1;
                extra - 1
            });
            let steps = steps(&def.name, &rule.name, &rule.actions, layout, &mut missing);
            rules.push(IndexedRule {
                slot,
                cond: lower_cond(&rule.cond),
                steps,
                continues: rule.continues(),
            });
        }
        let otherwise = def
            .otherwise
            .as_ref()
            .map(|o| steps(&def.name, "otherwise", &o.actions, layout, &mut missing));
        if !missing.is_empty() {
            return Err(missing);
        }
        Ok(Table { rules: RuleSet::new(rules, otherwise) })
    }

    /// Routes `msg`: the language's rule semantics (see [`crate::program`]).
    pub(crate) fn route(&self, msg: &dispatchio_core::Message, fired: &mut Fired) {
        self.rules.route(msg, fired);
    }
}

/// Resolves one rule's actions (`continue` left out) to steps.
fn steps(
    listener: &str,
    rule: &str,
    actions: &[Action],
    layout: &Layout,
    missing: &mut Vec<Missing>,
) -> Box<[Step]> {
    let mut out = Vec::with_capacity(actions.len());
    let mut miss = |kind: MissingKind, name: &str| {
        missing.push(Missing {
            kind,
            name: name.to_owned(),
            listener: listener.to_owned(),
            rule: rule.to_owned(),
        });
    };
    for a in actions {
        match &a.kind {
            ActionKind::Call { handler, is_async } => {
                match layout.handlers.iter().position(|h| *h.name == **handler) {
                    Some(i) if layout.handlers[i].is_async == *is_async => {
                        out.push(if *is_async { Step::CallAsync(i) } else { Step::Call(i) });
                    }
                    Some(_) => miss(MissingKind::HandlerKind { is_async: *is_async }, handler),
                    None => miss(MissingKind::Handler { is_async: *is_async }, handler),
                }
            }
            ActionKind::Queue(q) => match layout.queue(q) {
                Some(i) => out.push(Step::Queue(i)),
                None => miss(MissingKind::Queue, q),
            },
            ActionKind::Forward(f) => match layout.forward(f) {
                Some(i) => out.push(Step::Forward(i)),
                None => miss(MissingKind::Listener, f),
            },
            ActionKind::Drop => out.push(Step::Drop),
            ActionKind::Continue => {}
        }
    }
    out.into()
}

/// The stable layout of listener `def` when it is first built: its rules,
/// every provided handler, its own queues plus `extra_queues`, and the
/// listeners it forwards to plus `extra_forwards`.
///
/// Only those forward targets: a layout listing every listener of the
/// program (so that a reload could forward anywhere) made building
/// quadratic in the number of listeners (2,000 listeners: 4 million
/// bindings, 8.7 s and 725 MiB; 10,000: out of memory). A reload may
/// forward to the targets a listener was built with, as it may push to its
/// queues; [`RoutesBuilder::forward`](super::RoutesBuilder::forward)
/// declares more up front.
pub(crate) fn stable_layout(
    def: &ListenerDef,
    handlers: &[dispatchio_core::routing::HandlerSlot],
    extra_queues: &[String],
    extra_forwards: &[String],
) -> Layout {
    let (mut queues, mut forwards) = (Names::default(), Names::default());
    let actions = def
        .rules
        .iter()
        .flat_map(|r| &r.actions)
        .chain(def.otherwise.iter().flat_map(|o| &o.actions));
    for a in actions {
        match &a.kind {
            ActionKind::Queue(q) => queues.add(q),
            ActionKind::Forward(l) => forwards.add(l),
            _ => {}
        }
    }
    extra_queues.iter().for_each(|q| queues.add(q));
    extra_forwards.iter().for_each(|l| forwards.add(l));
    Layout {
        rules: def.rules.iter().map(|r| SharedStr::from(r.name.clone())).collect(),
        handlers: handlers.to_vec(),
        queues: queues.list,
        forwards: forwards.list,
    }
}

/// Names in first-seen order, each once.
#[derive(Default)]
struct Names {
    list: Vec<SharedStr>,
    seen: HashSet<String>,
}

impl Names {
    fn add(&mut self, name: &str) {
        if self.seen.insert(name.to_owned()) {
            self.list.push(SharedStr::from(name.to_owned()));
        }
    }
}

/// The matcher of an interpreted listener: a stable [`Layout`] and the
/// current table, swapped whole by a reload.
///
/// Each message reads the current table exactly once, and routes entirely
/// with it: a reload that happens meanwhile takes effect from the next
/// message on, and the steps of a message already routed keep their meaning
/// because every table indexes the same layout.
///
/// Why a `RwLock`: routing holds the read lock for the one decision (tens
/// of nanoseconds, pure, never blocking) and a reload takes the write lock
/// only to store the new table, so neither waits on the other for long; an
/// uncontended `parking_lot` read lock costs less than cloning an `Arc` per
/// message, and it keeps the dependency list short.
///
/// The table is shared: every instance of one listener of a program
/// ([`Routes::instance`](super::Routes::instance)) routes with the same
/// table, so a reload switches them all.
///
/// ```
/// use dispatchio_core::routing::Matcher as _;
///
/// let routes = dispatchio_dsl::interp::load("../examples/routes/card_dealer.route")?.build()?;
/// let player = routes.listener("player")?;
/// // What the table's steps index: the rules, queues, handlers and forwards it was built with.
/// let layout = player.matcher().layout();
/// let rules: Vec<&str> = layout.rules.iter().map(|r| &**r).collect();
/// assert_eq!(rules, ["greet", "deal"]);
/// assert!(layout.queue("hand").is_some() && layout.queue("greetings").is_some());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct RouteMatcher {
    layout: Layout,
    table: Arc<RwLock<Table>>,
}

impl RouteMatcher {
    pub(crate) fn new(layout: Layout, table: Table) -> RouteMatcher {
        RouteMatcher { layout, table: Arc::new(RwLock::new(table)) }
    }

    /// Another matcher over the same table (and so the same reloads).
    pub(crate) fn share(&self) -> RouteMatcher {
        RouteMatcher { layout: self.layout.clone(), table: Arc::clone(&self.table) }
    }

    /// Installs `table` for the messages routed from now on.
    pub(crate) fn swap(&self, table: Table) {
        // The old table is dropped after the lock is released: freeing a
        // large table must not hold up routing.
        let old = std::mem::replace(&mut *self.table.write(), table);
        drop(old);
    }
}

impl std::fmt::Debug for RouteMatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteMatcher").field("layout", &self.layout).finish_non_exhaustive()
    }
}

impl Matcher for RouteMatcher {
    fn layout(&self) -> &Layout {
        &self.layout
    }

    fn route(&self, msg: &dispatchio_core::Message, fired: &mut Fired) {
        self.table.read().route(msg, fired);
    }
}
