//! `dispatchio check` as a library call: exit status, output shapes.

use std::path::Path;

use dispatchio_dsl::cli::{Exit, run_with};
use serde_json::Value;

/// Runs `dispatchio check ARGS…` and returns (exit, stdout, stderr).
fn check(args: &[&str]) -> (Exit, String, String) {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let argv = ["dispatchio", "check"].iter().chain(args).copied();
    let exit = run_with(argv, &mut out, &mut err);
    (exit, String::from_utf8(out).unwrap(), String::from_utf8(err).unwrap())
}

fn json(args: &[&str]) -> (Exit, Value) {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let (exit, out, err) = check(&all);
    assert_eq!(err, "");
    (exit, serde_json::from_str(&out).expect("one JSON document"))
}

#[test]
fn a_clean_file_exits_0() {
    // `imports.route` and the two files it imports: no findings at all.
    let (exit, out, err) = check(&["tests/fixtures/imports.route"]);
    assert_eq!(exit, Exit::Clean);
    assert_eq!(exit.code(), 0);
    assert!(out.ends_with("checked 3 files: 0 errors, 0 warnings\n"), "{out}");
    assert_eq!(err, "");
}

#[test]
fn warnings_exit_0_unless_denied() {
    assert_eq!(check(&["tests/fixtures/unused.route"]).0, Exit::Clean);
    let (exit, ..) = check(&["--deny", "warnings", "tests/fixtures/unused.route"]);
    assert_eq!(exit, Exit::Findings);
    assert_eq!(exit.code(), 1);
}

#[test]
fn errors_exit_1_and_are_rendered_with_snippets() {
    let (exit, out, _) = check(&["tests/fixtures/type_mismatch.route"]);
    assert_eq!(exit, Exit::Findings);
    assert!(out.contains("type-mismatch"), "{out}");
    assert!(out.contains("rule a when type == Card and card == \"ace\" => drop"), "{out}");
}

#[test]
fn a_missing_file_exits_2_with_one_line_on_stderr() {
    let (exit, out, err) = check(&["tests/fixtures/no-such-file.route"]);
    assert_eq!(exit, Exit::Failed);
    assert_eq!(exit.code(), 2);
    assert_eq!(out, "");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("no-such-file.route"), "{err}");
}

#[test]
fn a_directory_without_route_files_exits_2_naming_it() {
    let (exit, out, err) = check(&["src/codegen"]);
    assert_eq!(exit, Exit::Failed);
    assert_eq!(out, "");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("no .route files found under src/codegen"), "{err}");
}

#[test]
fn a_bad_flag_exits_2_with_one_line_on_stderr() {
    for args in
        [&["--bogus"][..], &["--format", "xml", "x.route"][..], &["--deny", "everything"][..]]
    {
        let (exit, out, err) = check(args);
        assert_eq!(exit, Exit::Failed, "{args:?}");
        assert_eq!(out, "");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("dispatchio: "), "{err}");
    }
}

#[test]
fn json_has_the_documented_shape() {
    let (exit, doc) = json(&["tests/fixtures/type_mismatch.route"]);
    assert_eq!(exit, Exit::Findings);
    assert_eq!(doc["files"], 1);
    let findings = doc["findings"].as_array().unwrap();
    assert_eq!(doc["errors"].as_u64().unwrap() as usize, findings.len());
    assert_eq!(doc["warnings"], 0);
    let first = &findings[0];
    let mut keys: Vec<&str> = first.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "code", "column", "exact", "file", "line", "listener", "message", "rules", "severity",
            "witness"
        ]
    );
    assert_eq!(first["code"], "type-mismatch");
    assert_eq!(first["severity"], "error");
    assert_eq!(first["file"], "tests/fixtures/type_mismatch.route");
    assert_eq!((first["line"].as_u64(), first["column"].as_u64()), (Some(6), Some(42)));
    assert_eq!(first["listener"], "player");
    assert_eq!(first["rules"], serde_json::json!(["a"]));
    assert_eq!(first["witness"], Value::Null);
    assert_eq!(first["exact"], true);
}

#[test]
fn directories_are_searched_recursively_and_each_file_reported_once() {
    let (exit, doc) = json(&["tests/fixtures"]);
    assert_eq!(exit, Exit::Findings);
    let findings = doc["findings"].as_array().unwrap();
    // lib/cycle_b.route is checked itself and through import_cycle.route: the
    // cycle is still reported once from each end, never twice from one.
    let mut keys: Vec<String> = findings.iter().map(|f| f.to_string()).collect();
    let before = keys.len();
    keys.dedup();
    assert_eq!(keys.len(), before);
    // Files imported by another checked file do not report `unused`.
    assert!(
        !findings
            .iter()
            .any(|f| f["code"] == "unused" && f["file"].as_str().unwrap().contains("lib/"))
    );
    assert!(doc["files"].as_u64().unwrap() >= 20);
}

#[test]
fn sarif_is_a_2_1_0_log_with_rules_and_located_results() {
    let (exit, out, err) = check(&["--format", "sarif", "tests/fixtures/unknown_names.route"]);
    assert_eq!(exit, Exit::Findings);
    assert_eq!(err, "");
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["version"], "2.1.0");
    assert!(doc["$schema"].as_str().unwrap().contains("sarif-2.1.0"));
    let runs = doc["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    let rules = runs[0]["tool"]["driver"]["rules"].as_array().unwrap();
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"unknown-name") && ids.contains(&"shadowed"));
    let results = runs[0]["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for r in results {
        let rule_id = r["ruleId"].as_str().unwrap();
        assert_eq!(ids[r["ruleIndex"].as_u64().unwrap() as usize], rule_id);
        assert!(["error", "warning"].contains(&r["level"].as_str().unwrap()));
        assert!(!r["message"]["text"].as_str().unwrap().is_empty());
        let loc = &r["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uri"], "tests/fixtures/unknown_names.route");
        assert!(loc["region"]["startLine"].as_u64().unwrap() >= 1);
        assert!(loc["region"]["startColumn"].as_u64().unwrap() >= 1);
    }
}

#[test]
fn sarif_names_an_absolute_path_by_a_file_uri() {
    let path = std::fs::canonicalize("tests/fixtures/unknown_names.route").unwrap();
    let (_, out, _) = check(&["--format", "sarif", path.to_str().unwrap()]);
    let doc: Value = serde_json::from_str(&out).unwrap();
    let uri = doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
        ["uri"]
        .as_str()
        .unwrap();
    assert!(uri.starts_with("file:///"), "{uri}");
    assert!(uri.ends_with("tests/fixtures/unknown_names.route"), "{uri}");
}

#[test]
fn human_findings_are_headed_by_severity_and_code_and_related_places_by_neither() {
    let (_, out, _) = check(&["tests/fixtures/import_cycle.route"]);
    assert!(out.contains("error[import-cycle]"), "{out}");
    // The other file of the cycle is drawn under the finding, not as a
    // finding of its own.
    assert_eq!(out.matches("import-cycle").count(), 1, "{out}");
    assert!(!out.contains("Error:"), "no second error for the related place: {out}");
    // Drawn after it, said by its own `☞` line: no stray `Advice:` heading.
    assert!(out.contains("\n\n  ☞ imported here\n"), "{out}");
    assert!(!out.contains("Advice:"), "{out}");
    let (_, out, _) = check(&["tests/fixtures/unused.route"]);
    assert!(out.contains("warning[unused]"), "{out}");
}

/// Output that fails to write with `kind`, as a pipe does once its reader is gone.
struct Failing(std::io::ErrorKind);

impl std::io::Write for Failing {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        Err(self.0.into())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_closed_pipe_is_no_failure_but_another_write_error_exits_2() {
    let commands: [&[&str]; 4] = [
        &["check", "../examples/routes"],
        &["explain", "../examples/routes", "--listener", "player", "--message", "type=Card"],
        &["diff", "../examples/routes", "../examples/changes"],
        &["graph", "../examples/routes"],
    ];
    for args in commands {
        let argv = || std::iter::once("dispatchio").chain(args.iter().copied());
        let mut err = Vec::new();
        let exit = run_with(argv(), &mut Failing(std::io::ErrorKind::BrokenPipe), &mut err);
        assert_eq!(
            (exit, String::from_utf8(err).unwrap()),
            (Exit::Clean, String::new()),
            "{args:?}"
        );
        let mut err = Vec::new();
        let exit = run_with(argv(), &mut Failing(std::io::ErrorKind::StorageFull), &mut err);
        assert_eq!(exit, Exit::Failed, "{args:?}");
        let err = String::from_utf8(err).unwrap();
        assert!(err.starts_with("dispatchio: cannot write the output: "), "{args:?}: {err}");
    }
}

#[test]
fn help_is_not_a_failure() {
    let mut out = Vec::new();
    let mut err = Vec::new();
    assert_eq!(run_with(["dispatchio", "--help"], &mut out, &mut err), Exit::Clean);
    assert!(String::from_utf8(out).unwrap().contains("check"));
}

#[test]
fn human_output_matches_its_snapshot() {
    let (exit, out, _) = check(&["tests/fixtures/field_not_narrowed.route"]);
    assert_eq!(exit, Exit::Findings);
    insta::assert_snapshot!("human__field_not_narrowed", out);
}

#[cfg(unix)]
#[test]
fn an_unreadable_file_is_a_finding_and_the_other_files_are_still_checked() {
    let dir = crate::TempDir::new("cli-unreadable");
    dir.write("typed.route", "message Card { card: int }\nlistener l { rule a when type == Card and card == \"x\" => drop\n otherwise => drop }\n");
    std::fs::write(dir.0.join("latin1.route"), b"// caf\xe9\nlistener m { otherwise => drop }\n")
        .unwrap();
    std::os::unix::fs::symlink("gone.route", dir.0.join("dangling.route")).unwrap();
    std::fs::create_dir(dir.0.join("sub")).unwrap();
    std::os::unix::fs::symlink("sub", dir.0.join("linked-dir.route")).unwrap();
    crate::files::mkfifo(&dir.0.join("pipe.route"));
    let arg = dir.0.to_string_lossy().into_owned();
    let (exit, doc) = crate::files::within_30s(move || json(&[&arg]));
    assert_eq!(exit, Exit::Findings);
    let found: Vec<(String, String, u64, u64)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let file = f["file"].as_str().unwrap();
            let name = Path::new(file).file_name().unwrap().to_string_lossy().into_owned();
            (
                f["code"].as_str().unwrap().to_owned(),
                name,
                f["line"].as_u64().unwrap(),
                f["column"].as_u64().unwrap(),
            )
        })
        .collect();
    let want = [
        ("unreadable", "dangling.route", 1, 1),
        ("unreadable", "latin1.route", 1, 7),
        ("unreadable", "linked-dir.route", 1, 1),
        ("unreadable", "pipe.route", 1, 1),
        ("type-mismatch", "typed.route", 2, 51),
    ];
    let want: Vec<(String, String, u64, u64)> =
        want.iter().map(|(c, f, l, col)| (c.to_string(), f.to_string(), *l, *col)).collect();
    assert_eq!(found, want);
    let messages: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert!(messages[0].ends_with("it is a symlink to a file that does not exist"), "{messages:?}");
    assert!(
        messages[1].ends_with("not UTF-8 text (the first invalid byte is at offset 6)"),
        "{messages:?}"
    );
    assert!(
        messages[2]
            .ends_with("it is a directory, not a regular file (only regular files are read)"),
        "{messages:?}"
    );
    assert!(messages[3].contains("it is a FIFO"), "{messages:?}");
    // The human output shows them all too, the bad byte's line included.
    let arg = dir.0.to_string_lossy().into_owned();
    let (_, out, _) = crate::files::within_30s(move || check(&[&arg]));
    assert!(out.contains("checked 5 files: 5 errors, 0 warnings"), "{out}");
    assert!(out.contains("// caf\u{fffd}"), "{out}");
}

#[test]
fn a_finding_past_column_65536_is_drawn_without_a_panic() {
    let dir = crate::TempDir::new("cli-wide");
    let path = dir.write("wide.route", &format!("{}x\n", " ".repeat(65_536)));
    let arg = path.to_string_lossy().into_owned();
    let (exit, out, err) = check(&[&arg]);
    assert_eq!((exit, err.as_str()), (Exit::Findings, ""));
    // The true place, and the line cut to a window around it.
    assert!(out.contains("wide.route:1:65537]"), "{out}");
    assert!(out.contains("│ …") && out.contains("x"), "{out}");
    assert!(out.len() < 2_000, "the snippet is a window, not the whole line: {} bytes", out.len());
}
