//! `dispatchio graph`: the routing of some `.route` files as a picture —
//! listeners, the `forward` edges between them, the queues and handlers
//! each feeds — in Graphviz's DOT or Mermaid ([`render`]).
//!
//! `--rules` draws one edge per rule (and per `otherwise`) that feeds a
//! node, labelled with the rule's name; without it, one edge per listener
//! and node it feeds. `--counts FILE` reads a dispatcher's
//! [`Snapshot`](https://docs.rs/dispatchio) as JSON (its `rule_hits`) and
//! draws each edge as wide as its rules' hits, labelled with them. Counts of
//! listeners or rules these files do not have are listed in a comment of
//! the output, not dropped unsaid, and so are files not drawn because they
//! have errors.
//!
//! Exit status: 0 when the graph was written, 2 when the command could not
//! run (no `.route` file, none without errors, a counts file that is not a
//! snapshot).

mod counts;
mod render;

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::PathBuf;

use super::canonical;
use super::programs::{self, Declared};
use crate::program::{ActionKind, ListenerDef, Program};
pub(super) use counts::Counts;

#[derive(clap::Args, Debug)]
pub(super) struct GraphArgs {
    /// Files, or directories searched recursively for `.route` files (default: `.`).
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Dot)]
    format: Format,
    /// One edge per rule, labelled with its name.
    #[arg(long)]
    rules: bool,
    /// A dispatcher's snapshot as JSON (`serde_json::to_string(&d.snapshot())`):
    /// edge widths from its per-rule hit counters.
    #[arg(long, value_name = "FILE")]
    counts: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    /// Graphviz DOT (`dot -Tsvg`).
    Dot,
    /// A Mermaid flowchart (renders in GitHub Markdown).
    Mermaid,
}

/// `dispatchio graph`; `Err` is the one-line reason it could not run.
pub(super) fn run(args: &GraphArgs, out: &mut dyn Write) -> Result<(), String> {
    let programs = programs::load(&args.paths)?;
    let counts = match &args.counts {
        Some(path) => Some(Counts::read(path)?),
        None => None,
    };
    let listeners = programs.listeners();
    if programs.programs.is_empty() {
        // Every file has errors: an empty picture would look like no routing.
        let files: Vec<String> = programs.refused.iter().map(|f| super::display_path(f)).collect();
        return Err(format!(
            "no file under {} checks without errors ({}): see `dispatchio check`",
            programs.roots,
            files.join(", ")
        ));
    }
    let mut graph = Graph::of(&listeners, args.rules, counts.as_ref());
    graph.refused = programs.refused.iter().map(|f| super::display_path(f)).collect();
    let text = match args.format {
        Format::Dot => render::dot(&graph),
        Format::Mermaid => render::mermaid(&graph),
    };
    super::wrote(out.write_all(text.as_bytes()))
}

/// What is drawn: nodes in clusters (one per file), and edges.
#[derive(Debug, Default)]
pub(super) struct Graph {
    /// Each file's name, with its nodes (indices into `nodes`).
    pub(super) clusters: Vec<(String, Vec<usize>)>,
    pub(super) nodes: Vec<Node>,
    pub(super) edges: Vec<Edge>,
    /// What of the counts matched no listener or rule, for a comment.
    pub(super) unmatched: Vec<String>,
    /// The files not drawn because they have errors, for a comment.
    pub(super) refused: Vec<String>,
}

#[derive(Debug)]
pub(super) struct Node {
    pub(super) label: String,
    pub(super) kind: NodeKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum NodeKind {
    Listener,
    Queue,
    Handler,
}

#[derive(Debug)]
pub(super) struct Edge {
    pub(super) from: usize,
    pub(super) to: usize,
    /// The rules drawn by this edge (`otherwise` by that word), in order.
    pub(super) rules: Vec<String>,
    /// Whether the edge is labelled with its rules (`--rules`).
    pub(super) labelled: bool,
    pub(super) kind: EdgeKind,
    /// The rules' hits, when counts were given and count them.
    pub(super) hits: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum EdgeKind {
    Forward,
    Queue,
    Call,
}

impl Edge {
    /// The label: the rules' names (`--rules`), their hits (`--counts`).
    pub(super) fn label(&self) -> Option<String> {
        let names = self.labelled.then(|| self.rules.join(", "));
        match (names, self.hits) {
            (Some(n), Some(h)) => Some(format!("{n} ({h})")),
            (Some(n), None) => Some(n),
            (None, Some(h)) => Some(h.to_string()),
            (None, None) => None,
        }
    }
}

impl Graph {
    fn of(listeners: &[Declared<'_>], per_rule: bool, counts: Option<&Counts>) -> Graph {
        let mut g = Graph::default();
        // Listener nodes first (forward targets need them), clustered by file.
        let mut node_of: HashMap<(PathBuf, u32), usize> = HashMap::new();
        let mut cluster_of: BTreeMap<PathBuf, usize> = BTreeMap::new();
        for d in listeners {
            let file = canonical(&d.program.sources().get(d.def.span.file).path);
            let c = *cluster_of.entry(file.clone()).or_insert_with(|| {
                g.clusters.push((d.file(), Vec::new()));
                g.clusters.len() - 1
            });
            let n = g.node(c, d.def.name.clone(), NodeKind::Listener);
            node_of.insert((file, d.def.span.start), n);
        }
        for d in listeners {
            let from = node_of[&key(d.program, d.def)];
            let cluster = g.clusters.iter().position(|(_, ns)| ns.contains(&from)).unwrap_or(0);
            let hits = counts.and_then(|c| c.of(&d.def.name));
            let mut targets: HashMap<(EdgeKind, String), usize> = HashMap::new();
            let mut feeds = Vec::new();
            for rule in &d.def.rules {
                feeds.extend(rule.actions.iter().map(|a| (&a.kind, rule.name.as_str())));
            }
            if let Some(o) = &d.def.otherwise {
                feeds.extend(o.actions.iter().map(|a| (&a.kind, "otherwise")));
            }
            for (kind, rule) in feeds {
                let (edge_kind, name) = match kind {
                    ActionKind::Forward(t) => (EdgeKind::Forward, t.clone()),
                    ActionKind::Queue(q) => (EdgeKind::Queue, q.clone()),
                    ActionKind::Call { handler, is_async } => {
                        let shown =
                            if *is_async { format!("{handler} (async)") } else { handler.clone() };
                        (EdgeKind::Call, shown)
                    }
                    ActionKind::Drop | ActionKind::Continue => continue,
                };
                let to = match edge_kind {
                    EdgeKind::Forward => {
                        match d
                            .program
                            .listener(&name)
                            .and_then(|t| node_of.get(&key(d.program, t)))
                        {
                            Some(&n) => n,
                            // Bound at run time to a listener of the builder's choosing.
                            None => {
                                *targets.entry((edge_kind, name.clone())).or_insert_with(|| {
                                    g.node(cluster, name.clone(), NodeKind::Listener)
                                })
                            }
                        }
                    }
                    EdgeKind::Queue | EdgeKind::Call => {
                        let node = if edge_kind == EdgeKind::Queue {
                            NodeKind::Queue
                        } else {
                            NodeKind::Handler
                        };
                        *targets
                            .entry((edge_kind, name.clone()))
                            .or_insert_with(|| g.node(cluster, name.clone(), node))
                    }
                };
                let hit = hits.and_then(|h| h.get(rule).copied());
                let same = g
                    .edges
                    .iter_mut()
                    .rev()
                    .find(|e| e.from == from && e.to == to && e.kind == edge_kind && !per_rule);
                match same {
                    Some(e) => {
                        e.rules.push(rule.to_owned());
                        e.hits = sum(e.hits, hit);
                    }
                    None => g.edges.push(Edge {
                        from,
                        to,
                        rules: vec![rule.to_owned()],
                        labelled: per_rule,
                        kind: edge_kind,
                        hits: hit,
                    }),
                }
            }
        }
        if let Some(c) = counts {
            g.unmatched = c.unmatched(listeners);
        }
        g
    }

    fn node(&mut self, cluster: usize, label: String, kind: NodeKind) -> usize {
        self.nodes.push(Node { label, kind });
        let n = self.nodes.len() - 1;
        self.clusters[cluster].1.push(n);
        n
    }

    /// The most hits of any edge, when counts were given.
    pub(super) fn max_hits(&self) -> Option<u64> {
        self.edges.iter().filter_map(|e| e.hits).max()
    }
}

/// Hits of two sets of rules together; unknown when neither is counted.
fn sum(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0).saturating_add(b.unwrap_or(0))),
    }
}

/// A listener declaration's identity across programs.
fn key(program: &Program, def: &ListenerDef) -> (PathBuf, u32) {
    (canonical(&program.sources().get(def.span.file).path), def.span.start)
}
