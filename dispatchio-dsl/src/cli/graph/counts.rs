//! `--counts FILE`: the per-rule hit counters of a dispatcher's snapshot,
//! read from its JSON (`serde_json::to_string(&dispatcher.snapshot())`:
//! `rule_hits`, one entry per listener with its rules' hits).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value as Json;

use super::super::display_path;
use super::Declared;

/// Hits by listener name, then rule name.
#[derive(Debug, Default)]
pub(in crate::cli) struct Counts {
    hits: BTreeMap<String, BTreeMap<String, u64>>,
}

impl Counts {
    /// Reads the snapshot at `path`.
    ///
    /// # Errors
    ///
    /// The reason, naming the file (and the entry at fault): unreadable,
    /// not JSON, not a snapshot (no `rule_hits`), or an entry of another shape.
    pub(in crate::cli) fn read(path: &Path) -> Result<Counts, String> {
        let shown = display_path(path);
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("cannot read `{shown}`: {e}"))?;
        let doc: Json =
            serde_json::from_str(&text).map_err(|e| format!("`{shown}`: not JSON: {e}"))?;
        Counts::of_json(&doc).map_err(|e| format!("`{shown}`: {e}"))
    }

    fn of_json(doc: &Json) -> Result<Counts, String> {
        let Some(entries) = doc.get("rule_hits") else {
            return Err("no `rule_hits`: not a dispatcher snapshot \
                        (`serde_json::to_string(&dispatcher.snapshot())`)"
                .into());
        };
        let entries = entries.as_array().ok_or("`rule_hits` is not an array")?;
        let mut counts = Counts::default();
        for (i, entry) in entries.iter().enumerate() {
            let at = |what: &str| format!("`rule_hits[{i}]`: {what}");
            let listener = match entry.get("listener") {
                Some(Json::String(s)) => s.clone(),
                Some(Json::Number(n)) => n.to_string(),
                _ => return Err(at("expected a `listener` ID (a string or an integer)")),
            };
            let rules = entry
                .get("rules")
                .and_then(Json::as_array)
                .ok_or_else(|| at("expected `rules`, an array"))?;
            let mut hits = BTreeMap::new();
            for (k, r) in rules.iter().enumerate() {
                let rule = r.get("rule").and_then(Json::as_str);
                let n = r.get("hits").and_then(Json::as_u64);
                let (Some(rule), Some(n)) = (rule, n) else {
                    return Err(at(&format!(
                        "`rules[{k}]`: expected `rule` (a name) and `hits` (a count)"
                    )));
                };
                hits.insert(rule.to_owned(), n);
            }
            counts.hits.insert(listener, hits);
        }
        Ok(counts)
    }

    /// The hits of the rules of the listener `name`, if counted.
    pub(in crate::cli) fn of(&self, name: &str) -> Option<&BTreeMap<String, u64>> {
        self.hits.get(name)
    }

    /// What of the counts matches no listener or rule of `listeners`:
    /// `listener `x``, `rule `player.foo``.
    pub(in crate::cli) fn unmatched(&self, listeners: &[Declared<'_>]) -> Vec<String> {
        let mut out = Vec::new();
        for (name, rules) in &self.hits {
            let defs: Vec<_> = listeners.iter().filter(|d| d.def.name == *name).collect();
            if defs.is_empty() {
                out.push(format!("listener `{name}`"));
                continue;
            }
            for rule in rules.keys() {
                if !defs.iter().any(|d| d.def.rules.iter().any(|r| r.name == *rule)) {
                    out.push(format!("rule `{name}.{rule}`"));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_that_is_not_one_is_refused_naming_the_entry() {
        let err = |doc: &str| Counts::of_json(&serde_json::from_str(doc).unwrap()).unwrap_err();
        assert!(err("{}").starts_with("no `rule_hits`: not a dispatcher snapshot"));
        assert_eq!(err(r#"{"rule_hits": 1}"#), "`rule_hits` is not an array");
        assert_eq!(
            err(r#"{"rule_hits": [{"listener": true}]}"#),
            "`rule_hits[0]`: expected a `listener` ID (a string or an integer)"
        );
        assert_eq!(
            err(r#"{"rule_hits": [{"listener": "p", "rules": [{"rule": "a", "hits": -1}]}]}"#),
            "`rule_hits[0]`: `rules[0]`: expected `rule` (a name) and `hits` (a count)"
        );
        let ok = r#"{"rule_hits": [{"listener": "p", "rules": [{"rule": "a", "hits": 3}]}]}"#;
        let c = Counts::of_json(&serde_json::from_str(ok).unwrap()).unwrap();
        assert_eq!(c.of("p").unwrap()["a"], 3);
    }
}
