//! The code generator as a library call: snapshots of the generated code
//! (formatted with prettyplease) for the well-typed fixtures, file tracking,
//! and the error path.

use std::path::{Path, PathBuf};

use dispatchio_dsl::codegen;

/// The generated code for a fixture, formatted.
fn generated(path: &Path) -> String {
    let report = dispatchio_dsl::check(path).expect("the fixture is readable");
    assert!(!report.has_errors(), "{}", report.render_plain());
    let program = report.program.expect("a program without errors");
    let tokens = codegen::generate(&program, &[PathBuf::from("/routes/x.route")])
        .unwrap_or_else(|e| panic!("codegen refused {}: {e:?}", path.display()));
    let file = syn::parse2::<syn::File>(tokens).expect("generated code parses as a Rust file");
    prettyplease::unparse(&file)
}

#[test]
fn generated_code_snapshots() {
    for name in ["game", "language_tour", "imports"] {
        let path = PathBuf::from(format!("tests/fixtures/{name}.route"));
        insta::assert_snapshot!(name, generated(&path));
    }
    // The facade's every-feature program (its compiled form is tested there).
    insta::assert_snapshot!("everything", generated(Path::new("../tests/routes/everything.route")));
}
