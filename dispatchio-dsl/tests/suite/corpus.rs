//! The fixture corpus: each file's findings, snapshotted in the plain
//! rendering and (with the `cli` feature) in `dispatchio check --format json`.

use dispatchio_dsl::{Code, check, codegen};

use crate::fixtures;

/// Fixtures that must check without any error.
const CLEAN: [&str; 12] = [
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

fn stem(path: &std::path::Path) -> String {
    path.file_stem().unwrap().to_string_lossy().into_owned()
}

#[test]
fn every_fixture_renders_as_its_plain_snapshot() {
    for path in fixtures() {
        let report = check(&path).unwrap();
        let name = stem(&path);
        insta::assert_snapshot!(format!("plain__{name}"), report.render_plain());
    }
}

#[test]
fn clean_fixtures_have_no_errors_and_error_fixtures_show_their_code() {
    for path in fixtures() {
        let report = check(&path).unwrap();
        let name = stem(&path);
        if CLEAN.contains(&name.as_str()) {
            let errors: Vec<_> = report.errors().map(|d| d.render_plain(&report.sources)).collect();
            assert!(errors.is_empty(), "{name} should be clean:\n{}", errors.join("\n"));
            assert!(report.program.is_some(), "{name} should give a program");
            continue;
        }
        // An error fixture is named after the code it demonstrates (`type_mismatch`,
        // `syntax_missing_arrow`, …) and must report that code, as an error.
        let code = Code::ALL
            .into_iter()
            .find(|c| name.starts_with(&c.as_str().replace('-', "_")))
            .unwrap_or_else(|| panic!("fixture {name} is not named after a code"));
        assert!(
            report.errors().any(|d| d.code == code),
            "{name} should report {code}:\n{}",
            report.render_plain()
        );
        // The front end's errors leave no program; the analysis runs on a
        // program, so its errors (`shadowed`, …) come with one, which
        // `load` refuses.
        let analysis = matches!(code, Code::Unsatisfiable | Code::Shadowed | Code::ForwardCycle);
        assert_eq!(report.program.is_some(), analysis, "{name}: a program after {code}?");
        assert!(dispatchio_dsl::load(&path).is_err(), "{name} has errors: `load` refuses it");
    }
}

#[cfg(feature = "cli")]
#[test]
fn every_fixture_reports_as_its_json_snapshot() {
    for path in fixtures() {
        let mut out = Vec::new();
        let mut err = Vec::new();
        let arg = path.to_string_lossy().into_owned();
        dispatchio_dsl::cli::run_with(
            ["dispatchio", "check", "--format", "json", &arg],
            &mut out,
            &mut err,
        );
        assert!(err.is_empty(), "{}", String::from_utf8_lossy(&err));
        let json: serde_json::Value = serde_json::from_slice(&out).expect("valid JSON");
        insta::assert_json_snapshot!(format!("json__{}", stem(&path)), json);
    }
}

/// Every witness `--format json` prints reads back into the message it
/// was (issue 11: a NaN was written `null`), and replayed through the
/// reference evaluator still shows its finding.
#[cfg(feature = "cli")]
#[test]
fn every_json_witness_reads_back_and_shows_its_finding() {
    use dispatchio_oracle::route;
    let mut replayed = 0;
    for path in fixtures() {
        let Some(program) = check(&path).unwrap().program else { continue };
        let mut out = Vec::new();
        let arg = path.to_string_lossy().into_owned();
        dispatchio_dsl::cli::run_with(
            ["dispatchio", "check", "--format", "json", &arg],
            &mut out,
            &mut Vec::new(),
        );
        let doc: serde_json::Value = serde_json::from_slice(&out).expect("valid JSON");
        for f in doc["findings"].as_array().expect("findings") {
            if f["witness"].is_null() || f["code"] == "forward-cycle" {
                continue;
            }
            let w = dispatchio_dsl::cli::read_witness(&program, &f["witness"].to_string())
                .unwrap_or_else(|e| panic!("{}: {e}\n{f:#}", stem(&path)));
            let l = program.listener(f["listener"].as_str().expect("a listener")).unwrap();
            let rule = |k: usize| {
                let name = f["rules"][k].as_str().expect("a rule");
                l.rules.iter().position(|r| r.name == name).expect("the rule")
            };
            let d = route(l, &w);
            let shows = match f["code"].as_str() {
                Some("unrouted") => d.unrouted,
                Some("overlap") => d.fired.last() == Some(&rule(1)),
                Some("shadowed") => !d.fired.contains(&rule(0)),
                Some("redundant" | "sync-to-async") => d.fired.contains(&rule(0)),
                _ => true,
            };
            assert!(shows, "{}: the witness {w} does not show\n{f:#}", stem(&path));
            replayed += 1;
        }
    }
    assert!(replayed >= 10, "only {replayed} witnesses replayed");
}

#[test]
fn the_language_guide_explains_every_finding_code() {
    let guide = std::fs::read_to_string("../docs/language.md").expect("docs/language.md exists");
    for code in Code::ALL {
        let heading = format!("### `{}` ({})", code.as_str(), code.severity().as_str());
        assert!(guide.contains(&heading), "docs/language.md lacks the section {heading}");
    }
}

/// `dispatchio check` (the library call it makes) and `include_routes!`
/// (`codegen::expand`, everything the macro does) give every fixture the
/// same verdict: errors, or a program; the checker is the one place that
/// refuses.
#[test]
fn check_and_include_routes_give_every_fixture_the_same_verdict() {
    for path in fixtures() {
        let report = check(&path).unwrap();
        let expanded = codegen::expand(&path, &path, proc_macro2::Span::call_site()).to_string();
        let refused = expanded.contains("compile_error");
        assert_eq!(
            report.has_errors(),
            refused,
            "{}: check says errors = {}, include_routes! refused = {refused}",
            path.display(),
            report.has_errors()
        );
        if refused {
            // One `compile_error!` per error `dispatchio check` reports.
            assert_eq!(expanded.matches("compile_error").count(), report.errors().count());
        }
    }
}
