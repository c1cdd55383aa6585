//! The fixture corpus: each file's findings, snapshotted in the plain
//! rendering and (with the `cli` feature) in `dispatchio check --format json`.

use dispatchio_dsl::{Code, check};

use crate::fixtures;

/// Fixtures that must check without any error.
const CLEAN: [&str; 7] = [
    "game",
    "imports",
    "language_tour",
    "narrowing_negative",
    "overlap_unreached",
    "overlap_witness_reaches",
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
        assert!(report.program.is_none(), "{name} has errors, so no program");
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

#[test]
fn the_language_guide_explains_every_finding_code() {
    let guide = std::fs::read_to_string("../docs/language.md").expect("docs/language.md exists");
    for code in Code::ALL {
        let heading = format!("### `{}` ({})", code.as_str(), code.severity().as_str());
        assert!(guide.contains(&heading), "docs/language.md lacks the section {heading}");
    }
}
