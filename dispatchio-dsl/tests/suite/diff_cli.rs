//! `dispatchio diff` as a library call: exit status, output shapes, files
//! and directories paired, `--git`.

use std::path::{Path, PathBuf};
use std::process::Command;

use dispatchio_dsl::cli::{Exit, run_with};
use serde_json::Value;

/// Runs `dispatchio diff ARGS…` and returns (exit, stdout, stderr).
fn diff(args: &[&str]) -> (Exit, String, String) {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let argv = ["dispatchio", "diff"].iter().chain(args).copied();
    let exit = run_with(argv, &mut out, &mut err);
    (exit, String::from_utf8(out).unwrap(), String::from_utf8(err).unwrap())
}

fn json(args: &[&str]) -> (Exit, Value) {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let (exit, out, err) = diff(&all);
    assert_eq!(err, "");
    (exit, serde_json::from_str(&out).expect("one JSON document"))
}

const SCHEMA: &str = "message Card { card: int }\n";

/// Writes `files` (relative path, listener text) under a new temporary directory.
fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (rel, body) in files {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, format!("{SCHEMA}{body}\n")).unwrap();
    }
    dir
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Each listener of a JSON document, with its field `key`.
fn listed<'a>(doc: &'a Value, key: &str) -> Vec<(&'a str, &'a str)> {
    let listeners = doc["listeners"].as_array().unwrap();
    listeners.iter().map(|l| (l["listener"].as_str().unwrap(), l[key].as_str().unwrap())).collect()
}

const OLD: &str = "listener l {\n    rule deal when type == Card and card < 52 => queue hand\n    otherwise => drop\n}";
const NEW: &str = "listener l {\n    rule deal when type == Card and card < 50 => queue hand\n    otherwise => drop\n}";
const RENAMED: &str = "listener l {\n    rule cards when type == Card and card < 52 => queue hand\n    otherwise => drop\n}";

#[test]
fn no_change_prints_nothing_and_exits_0_even_with_exit_code() {
    let d = tree(&[("old.route", OLD), ("new.route", RENAMED)]);
    let (old, new) = (d.path().join("old.route"), d.path().join("new.route"));
    let (exit, out, err) = diff(&["--exit-code", s(&old), s(&new)]);
    assert_eq!((exit, out.as_str(), err.as_str()), (Exit::Clean, "", ""));
}

#[test]
fn a_change_is_drawn_on_both_files_and_exits_1_only_with_exit_code() {
    let d = tree(&[("old.route", OLD), ("new.route", NEW)]);
    let (old, new) = (d.path().join("old.route"), d.path().join("new.route"));
    let (exit, out, err) = diff(&[s(&old), s(&new)]);
    assert_eq!((exit, err.as_str()), (Exit::Clean, ""));
    assert!(out.contains("change[now-dropped]"), "{out}");
    assert!(out.contains("witness: type=Card card=5"), "{out}");
    assert!(out.contains("now: drop (`otherwise`)"), "{out}");
    assert!(out.contains("before: queue hand (rule `deal`)"), "{out}");
    assert!(out.ends_with("compared 1 file: 1 change in 1 listener\n"), "{out}");
    assert_eq!(diff(&["--exit-code", s(&old), s(&new)]).0, Exit::Findings);
}

#[test]
fn json_has_the_documented_shape() {
    let d = tree(&[("old.route", OLD), ("new.route", NEW)]);
    let (old, new) = (d.path().join("old.route"), d.path().join("new.route"));
    let (exit, doc) = json(&[s(&old), s(&new)]);
    assert_eq!(exit, Exit::Clean);
    assert_eq!((doc["files"].as_u64(), doc["changes"].as_u64()), (Some(1), Some(1)));
    let l = &doc["listeners"][0];
    assert_eq!((l["listener"].as_str(), l["status"].as_str()), (Some("l"), Some("changed")));
    assert_eq!(l["exact"], true);
    let c = &l["changes"][0];
    let mut keys: Vec<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["class", "exact", "kind", "message", "new", "old", "witness"]);
    assert_eq!(c["kind"], "now-dropped");
    assert!(matches!(c["witness"]["card"].as_i64(), Some(50 | 51)), "{c}");
    assert_eq!(c["old"]["actions"], serde_json::json!(["queue hand"]));
    assert_eq!(c["old"]["end"]["rule"], "deal");
    assert_eq!(
        (c["old"]["end"]["line"].as_u64(), c["old"]["end"]["column"].as_u64()),
        (Some(3), Some(5))
    );
    assert_eq!(c["new"]["end"]["otherwise"], true);
    assert_eq!(
        c["class"],
        serde_json::json!(["type == Card and card < 52", "not (type == Card and card < 50)"])
    );
}

#[test]
fn sarif_locates_each_change_at_the_new_rule_with_the_old_one_related() {
    let d = tree(&[("old.route", OLD), ("new.route", NEW)]);
    let (old, new) = (d.path().join("old.route"), d.path().join("new.route"));
    let (exit, out, _) = diff(&["--format", "sarif", s(&old), s(&new)]);
    assert_eq!(exit, Exit::Clean);
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["version"], "2.1.0");
    let result = &doc["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "now-dropped");
    let rules = &doc["runs"][0]["tool"]["driver"]["rules"];
    assert_eq!(rules[result["ruleIndex"].as_u64().unwrap() as usize]["id"], "now-dropped");
    let region = &result["locations"][0]["physicalLocation"]["region"];
    assert_eq!(region["startLine"], 4); // `otherwise` in the new file
    let related = &result["relatedLocations"][0]["physicalLocation"];
    assert!(related["artifactLocation"]["uri"].as_str().unwrap().ends_with("old.route"));
}

#[test]
fn directories_pair_files_by_path_and_one_sided_files_add_or_remove_listeners() {
    let old = tree(&[("a.route", OLD), ("gone.route", "listener g { otherwise => drop }")]);
    let new =
        tree(&[("a.route", RENAMED), ("sub/fresh.route", "listener f { otherwise => drop }")]);
    let (exit, doc) = json(&["--exit-code", s(old.path()), s(new.path())]);
    assert_eq!(exit, Exit::Findings);
    let got = listed(&doc, "status");
    assert_eq!(got, [("g", "removed"), ("f", "added")]);
    assert_eq!(doc["files"], 3);
}

#[test]
fn what_cannot_be_compared_exits_2_with_one_line_on_stderr() {
    let d = tree(&[
        ("old.route", OLD),
        ("bad.route", "listener l { rule a when type == Nope => drop }"),
    ]);
    let old = d.path().join("old.route");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec![s(&old).into()], "two paths"),
        (vec![s(&old).into(), s(d.path()).into()], "two files or two directories"),
        (vec![s(&old).into(), s(&d.path().join("bad.route")).into()], "has 1 error(s)"),
        (vec![s(&old).into(), s(&d.path().join("missing.route")).into()], "missing.route"),
        (vec!["--git".into(), "no-such-rev".into(), s(&old).into()], "not in a git repository"),
        (vec!["--git".into(), "--output=x".into(), s(&old).into()], "--output"),
    ];
    for (args, reason) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (exit, out, err) = diff(&args);
        assert_eq!(exit, Exit::Failed, "{args:?}");
        assert_eq!(out, "", "{args:?}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(reason), "{args:?}: {err}");
    }
}

/// A listener of an imported file is compared in every importer's program
/// too; it is reported once, at its own file, as `check` reports once.
#[test]
fn a_listener_of_an_imported_file_is_reported_once_at_its_own_file() {
    let sides = [OLD, NEW].map(|base| {
        let d = tree(&[("base.route", base)]);
        for (file, name) in [("top.route", "t"), ("also.route", "u")] {
            let top =
                format!("import \"base.route\"\nlistener {name} {{ otherwise => forward l }}\n");
            std::fs::write(d.path().join(file), top).unwrap();
        }
        d
    });
    let (exit, doc) = json(&[s(sides[0].path()), s(sides[1].path())]);
    assert_eq!(exit, Exit::Clean);
    let got = listed(&doc, "new_file");
    let base = sides[1].path().join("base.route");
    assert_eq!(got, [("l", s(&base))]);
    assert_eq!(doc["changes"], 1);
    // An imported file that is not itself compared: still reported once.
    let one = |d: &tempfile::TempDir| d.path().join("top.route");
    let (_, doc) = json(&[s(&one(&sides[0])), s(&one(&sides[1]))]);
    assert_eq!(doc["listeners"].as_array().unwrap().len(), 1, "{doc:#}");
}

#[test]
fn the_summary_counts_added_and_removed_listeners_apart_from_changes() {
    let old = tree(&[("a.route", OLD), ("gone.route", "listener g { otherwise => drop }")]);
    let new = tree(&[("a.route", NEW), ("fresh.route", "listener f { otherwise => drop }")]);
    let (_, out, _) = diff(&[s(old.path()), s(new.path())]);
    let summary =
        "compared 3 files: 1 change in 1 listener, 1 listener added, 1 listener removed\n";
    assert!(out.ends_with(summary), "{out}");
    let (_, out, _) = diff(&[s(&old.path().join("a.route")), s(&new.path().join("fresh.route"))]);
    assert!(out.ends_with("compared 1 file: 1 listener added, 1 listener removed\n"), "{out}");
}

fn git(dir: &Path, args: &[&str]) {
    let done = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"])
        .args(args)
        .output()
        .expect("git runs");
    assert!(done.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&done.stderr));
}

#[test]
fn git_compares_the_working_tree_with_a_commit_and_leaves_the_index_alone() {
    let d = tree(&[
        ("routes/table.route", OLD),
        ("routes/other.route", "listener o { otherwise => drop }"),
    ]);
    git(d.path(), &["init", "-q"]);
    git(d.path(), &["add", "."]);
    git(d.path(), &["commit", "-q", "-m", "one"]);
    std::fs::write(d.path().join("routes/table.route"), format!("{SCHEMA}{NEW}\n")).unwrap();
    let routes: PathBuf = d.path().join("routes");
    let (exit, out, err) = diff(&["--git", "HEAD", "--exit-code", s(&routes)]);
    assert_eq!((exit, err.as_str()), (Exit::Findings, ""));
    // The old side is named by the commit, not by a temporary path.
    assert!(out.contains("[HEAD:routes/table.route:3:5]"), "{out}");
    assert!(out.contains("change[now-dropped]"), "{out}");
    assert!(out.ends_with("compared 2 files: 1 change in 1 listener\n"), "{out}");
    // One file, and the commit itself: no change.
    let (exit, out, _) = diff(&["--git", "HEAD", s(&routes.join("other.route"))]);
    assert_eq!((exit, out.as_str()), (Exit::Clean, ""));
    git(d.path(), &["diff", "--quiet", "--cached"]);
    let (exit, _, err) = diff(&["--git", "nope", s(&routes)]);
    assert_eq!(exit, Exit::Failed);
    assert!(err.contains("`nope` names no commit"), "{err}");
    // A path on neither side is named, not taken for "no files".
    let typo = d.path().join("rotues");
    let (exit, _, err) = diff(&["--git", "HEAD", s(&typo)]);
    assert_eq!(exit, Exit::Failed);
    assert!(err.contains("rotues` is neither in the working tree nor in `HEAD`"), "{err}");
}

/// The guide's `dispatchio diff` example is what the command prints.
#[test]
fn the_guides_diff_example_is_real_output() {
    let old = "../examples/routes/card_dealer.route";
    let new = "../examples/changes/card_dealer.route";
    let mut out = Vec::new();
    let argv = ["dispatchio", "diff", old, new];
    run_with(argv, &mut out, &mut Vec::new());
    let out = String::from_utf8(out).unwrap().replace("../examples/", "examples/");
    let guide = std::fs::read_to_string("../docs/language.md").unwrap();
    let start =
        guide.find("<!-- diff-example -->\n```text\n").expect("the guide marks its diff example");
    let block = &guide[start..].split("```").nth(1).unwrap()["text\n".len()..];
    assert_eq!(block.trim_end(), out.trim_end(), "docs/language.md's diff example is stale");
}
