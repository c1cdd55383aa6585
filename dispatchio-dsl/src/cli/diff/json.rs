//! `diff --format json` and `--format sarif`.

use serde_json::{Value as Json, json};

use super::{Compared, Names};
use crate::analysis::{Change, ChangeKind, End, ListenerDiff, Outcome, Presence};
use crate::cli::{sarif_log, uri_of, witness};
use crate::diagnostic::{SourceMap, Span};
use crate::explain::action_text;

/// What an outcome does, in words: `queue hand (rule `deal`)`.
pub(super) fn outcome_text(o: &Outcome) -> String {
    let acts: Vec<String> = o.actions.iter().map(action_text).collect();
    let acts = if acts.is_empty() { "nothing".to_owned() } else { acts.join(", ") };
    match &o.end {
        End::Rule { name, .. } => format!("{acts} (rule `{name}`)"),
        End::Otherwise { .. } => format!("{acts} (`otherwise`)"),
        End::Unrouted if o.actions.is_empty() => "unrouted".to_owned(),
        End::Unrouted => format!("{acts}, then unrouted"),
    }
}

/// The one-line message of a change.
pub(super) fn change_message(l: &ListenerDiff, c: &Change) -> String {
    let (old, new) = (outcome_text(&c.old), outcome_text(&c.new));
    let what = match c.kind {
        ChangeKind::NowUnrouted => "now unrouted",
        ChangeKind::NowRouted => "now routed",
        ChangeKind::NowDropped => "now dropped",
        ChangeKind::Actions => "handled differently",
    };
    format!("listener `{}`: some messages are {what}: {new}, was {old}", l.name)
}

/// The one-line message of a listener added, removed or left undecided.
pub(super) fn listener_message(l: &ListenerDiff) -> Option<String> {
    match l.presence {
        Presence::Added => Some(format!("listener `{}` is new", l.name)),
        Presence::Removed => Some(format!("listener `{}` was removed", l.name)),
        Presence::Both if !l.undecided.is_empty() => Some(format!(
            "listener `{}`: the comparison gave up on {} (more work than the limit): changes \
             about them may be missing",
            l.name,
            l.undecided.join(", ")
        )),
        Presence::Both => None,
    }
}

fn place(sources: &SourceMap, names: &Names, span: Span) -> Json {
    let file = sources.get(span.file);
    let (line, column) = file.line_col(span.start as usize);
    json!({ "file": names.show(&file.path), "line": line, "column": column })
}

fn outcome_json(o: &Outcome, sources: &SourceMap, names: &Names) -> Json {
    let end = match &o.end {
        End::Rule { name, span } => {
            let mut p = place(sources, names, *span);
            p["rule"] = json!(name);
            p
        }
        End::Otherwise { span } => {
            let mut p = place(sources, names, *span);
            p["otherwise"] = json!(true);
            p
        }
        End::Unrouted => json!("unrouted"),
    };
    json!({
        "actions": o.actions.iter().map(action_text).collect::<Vec<_>>(),
        "fired": o.fired,
        "end": end,
    })
}

fn presence(p: Presence) -> &'static str {
    match p {
        Presence::Added => "added",
        Presence::Removed => "removed",
        Presence::Both => "changed",
    }
}

/// The side whose sources hold a listener's span (the old one for a removed listener).
fn listener_side(l: &ListenerDiff) -> bool {
    l.presence != Presence::Removed
}

/// A SARIF location, the file named as the output names it (`REV:path` for a commit's).
fn location(sources: &SourceMap, names: &Names, span: Span) -> Json {
    let file = sources.get(span.file);
    let (line, column) = file.line_col(span.start as usize);
    let (end_line, end_column) = file.line_col(span.end as usize);
    json!({
        "physicalLocation": {
            "artifactLocation": { "uri": uri_of(std::path::Path::new(&names.show(&file.path))) },
            "region": {
                "startLine": line,
                "startColumn": column,
                "endLine": end_line,
                "endColumn": end_column,
            }
        }
    })
}

/// `--format json`: one document, whether or not anything changes.
pub(super) fn document(compared: &[Compared], names: &Names) -> Json {
    let mut listeners = Vec::new();
    for c in compared {
        for l in &c.diff.listeners {
            let (old, new) = (c.sources(false), c.sources(true));
            let at = place(c.sources(listener_side(l)), names, l.span);
            listeners.push(json!({
                "listener": l.name,
                "status": presence(l.presence),
                "old_file": c.names[0],
                "new_file": c.names[1],
                "line": at["line"],
                "column": at["column"],
                "exact": l.exact,
                "undecided": l.undecided,
                "changes": l.changes.iter().map(|ch| json!({
                    "kind": ch.kind.as_str(),
                    "message": change_message(l, ch),
                    "witness": witness::to_json(&ch.witness),
                    "class": ch.class,
                    "old": outcome_json(&ch.old, old, names),
                    "new": outcome_json(&ch.new, new, names),
                    "exact": ch.exact,
                })).collect::<Vec<_>>(),
            }));
        }
    }
    let changes: usize =
        compared.iter().flat_map(|c| &c.diff.listeners).map(|l| l.changes.len()).sum();
    json!({
        "files": compared.len(),
        "changed": listeners.len(),
        "changes": changes,
        "listeners": listeners,
    })
}

/// The SARIF rules: one per kind of change, and the listener-level results.
const RULES: [(&str, &str); 7] = [
    ("now-unrouted", "messages the old table routed are now unrouted"),
    ("now-routed", "messages the old table left unrouted are now routed"),
    ("now-dropped", "messages are now dropped"),
    ("actions", "messages run other actions"),
    ("listener-added", "a listener only the new files have"),
    ("listener-removed", "a listener only the old files have"),
    ("undecided", "the comparison gave up on some rules: changes may be missing"),
];

/// `--format sarif`: SARIF 2.1.0, one result per change, located at the
/// rule that decides it now (or the listener), the old rule related.
pub(super) fn sarif(compared: &[Compared], names: &Names) -> Json {
    let rules: Vec<Json> = RULES
        .iter()
        .map(|(id, text)| {
            json!({
                "id": id,
                "shortDescription": { "text": text },
                "defaultConfiguration": { "level": if *id == "undecided" { "warning" } else { "note" } },
            })
        })
        .collect();
    let mut results = Vec::new();
    let result = |id: &str, text: String, loc: Json, related: Vec<Json>, props: Json| {
        let index = RULES.iter().position(|(r, _)| *r == id).unwrap_or(0);
        let mut r = json!({
            "ruleId": id,
            "ruleIndex": index,
            "level": if id == "undecided" { "warning" } else { "note" },
            "message": { "text": text },
            "locations": [loc],
            "properties": props,
        });
        if !related.is_empty() {
            r["relatedLocations"] = Json::Array(related);
        }
        r
    };
    for c in compared {
        for l in &c.diff.listeners {
            let here = location(c.sources(listener_side(l)), names, l.span);
            if let Some(text) = listener_message(l) {
                let id = match l.presence {
                    Presence::Added => "listener-added",
                    Presence::Removed => "listener-removed",
                    Presence::Both => "undecided",
                };
                let props = json!({ "listener": l.name, "rules": l.undecided });
                results.push(result(id, text, here.clone(), Vec::new(), props));
            }
            for ch in &l.changes {
                let at = |o: &Outcome, new: bool| match &o.end {
                    End::Rule { span, .. } | End::Otherwise { span } => {
                        Some(location(c.sources(new), names, *span))
                    }
                    End::Unrouted => None,
                };
                let loc = at(&ch.new, true).unwrap_or_else(|| here.clone());
                let related: Vec<Json> = at(&ch.old, false)
                    .map(|mut loc| {
                        loc["id"] = json!(0);
                        loc["message"] = json!({ "text": "decided here before" });
                        loc
                    })
                    .into_iter()
                    .collect();
                let text = format!(
                    "{} (witness: {}; class: {})",
                    change_message(l, ch),
                    ch.witness,
                    ch.class.join("; ")
                );
                let props = json!({ "listener": l.name, "exact": ch.exact, "class": ch.class });
                results.push(result(ch.kind.as_str(), text, loc, related, props));
            }
        }
    }
    sarif_log("dispatchio diff", rules, results)
}
