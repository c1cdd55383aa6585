//! A [`Graph`] as text: Graphviz DOT, or a Mermaid flowchart.
//!
//! Written by hand rather than through a crate: both are a few lines of
//! text per node and edge, and the only care is quoting, done here once per
//! format.

use std::fmt::Write as _;

use super::{EdgeKind, Graph, NodeKind};

/// Pen widths with counts: the busiest edge is drawn this wide (points),
/// an edge of no hits one point wide.
const MAX_WIDTH: f64 = 8.0;

/// How wide an edge of `hits` is drawn when the busiest has `max`.
fn width(hits: u64, max: u64) -> f64 {
    if max == 0 {
        return 1.0;
    }
    let w = 1.0 + (MAX_WIDTH - 1.0) * hits as f64 / max as f64;
    (w * 10.0).round() / 10.0
}

/// The graph in DOT: listeners as boxes, queues as cylinders, handlers as
/// components, one cluster per file; forwards bold, calls dashed when async.
pub(in crate::cli) fn dot(g: &Graph) -> String {
    let mut out = String::from("digraph routes {\n");
    out.push_str(
        "    rankdir=LR;\n    fontname=\"Helvetica\";\n    node [fontname=\"Helvetica\"];\n",
    );
    out.push_str("    edge [fontname=\"Helvetica\", fontsize=10];\n");
    for line in comments(g) {
        let _ = writeln!(out, "    // {line}");
    }
    for (c, (file, nodes)) in g.clusters.iter().enumerate() {
        let _ = writeln!(out, "    subgraph cluster_{c} {{");
        let _ = writeln!(out, "        label={};", dot_quote(file));
        out.push_str("        style=rounded;\n        color=grey;\n");
        for &n in nodes {
            let node = &g.nodes[n];
            let shape = match node.kind {
                NodeKind::Listener => "box, style=\"bold,rounded\"",
                NodeKind::Queue => "cylinder",
                NodeKind::Handler => "component",
            };
            let _ =
                writeln!(out, "        n{n} [label={}, shape={shape}];", dot_quote(&node.label));
        }
        out.push_str("    }\n");
    }
    let max = g.max_hits();
    for e in &g.edges {
        let mut attrs = Vec::new();
        if let Some(label) = e.label() {
            attrs.push(format!("label={}", dot_quote(&label)));
        }
        if e.kind == EdgeKind::Forward {
            attrs.push("color=\"#1f5fa8\"".to_owned());
        }
        if let (Some(h), Some(max)) = (e.hits, max) {
            attrs.push(format!("penwidth={}", width(h, max)));
        }
        let attrs =
            if attrs.is_empty() { String::new() } else { format!(" [{}]", attrs.join(", ")) };
        let _ = writeln!(out, "    n{} -> n{}{attrs};", e.from, e.to);
    }
    out.push_str("}\n");
    out
}

/// The graph as a Mermaid flowchart: listeners as rounded boxes, queues as
/// cylinders, handlers as subroutines, one subgraph per file.
pub(in crate::cli) fn mermaid(g: &Graph) -> String {
    let mut out = String::from("flowchart LR\n");
    for line in comments(g) {
        let _ = writeln!(out, "    %% {line}");
    }
    for (c, (file, nodes)) in g.clusters.iter().enumerate() {
        let _ = writeln!(out, "    subgraph f{c}[{}]", mermaid_quote(file));
        for &n in nodes {
            let node = &g.nodes[n];
            let label = mermaid_quote(&node.label);
            let shape = match node.kind {
                NodeKind::Listener => format!("({label})"),
                NodeKind::Queue => format!("[({label})]"),
                NodeKind::Handler => format!("[[{label}]]"),
            };
            let _ = writeln!(out, "        n{n}{shape}");
        }
        out.push_str("    end\n");
    }
    let max = g.max_hits();
    let mut styles = Vec::new();
    for (i, e) in g.edges.iter().enumerate() {
        let arrow = if e.kind == EdgeKind::Forward { "==>" } else { "-->" };
        match e.label() {
            Some(label) => {
                let _ =
                    writeln!(out, "    n{} {arrow}|{}| n{}", e.from, mermaid_quote(&label), e.to);
            }
            None => {
                let _ = writeln!(out, "    n{} {arrow} n{}", e.from, e.to);
            }
        }
        if let (Some(h), Some(max)) = (e.hits, max) {
            styles.push(format!("    linkStyle {i} stroke-width:{}px", width(h, max)));
        }
    }
    for s in styles {
        out.push_str(&s);
        out.push('\n');
    }
    out
}

/// What the output says besides the picture: files with errors, counts
/// that matched nothing.
fn comments(g: &Graph) -> Vec<String> {
    let mut out = Vec::new();
    if !g.refused.is_empty() {
        let files = g.refused.join(", ");
        out.push(format!("not drawn, with errors (see `dispatchio check`): {files}"));
    }
    if !g.unmatched.is_empty() {
        out.push(format!("counts not drawn (not in these routes): {}", g.unmatched.join(", ")));
    }
    out
}

/// A DOT string: double quotes, with `"` and `\` escaped and line breaks
/// as `\n`.
fn dot_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A Mermaid label: double quotes, a `"` as the entity `#quot;` (Mermaid
/// has no backslash escapes).
fn mermaid_quote(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "#quot;").replace('\n', " "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_survive_both_formats() {
        assert_eq!(dot_quote(r#"a "b" \c"#), r#""a \"b\" \\c""#);
        assert_eq!(mermaid_quote(r#"a "b""#), "\"a #quot;b#quot;\"");
    }

    #[test]
    fn the_busiest_edge_is_widest_and_an_idle_one_a_point_wide() {
        assert_eq!(width(10, 10), MAX_WIDTH);
        assert_eq!(width(0, 10), 1.0);
        assert_eq!(width(5, 10), 4.5);
        assert_eq!(width(0, 0), 1.0);
    }
}
