//! Compile-fail tests of `include_routes!` (trybuild): each error in a
//! `.route` file fails the build with the same code, message,
//! ` --> file.route:line:col` and snippet that `dispatchio check` prints.

use std::process::Command;

/// Where the macro resolves relative paths under trybuild (trybuild#202:
/// trybuild builds the tests in a generated crate elsewhere).
const OVERRIDE: &str = "DISPATCHIO_MANIFEST_DIR";

#[test]
fn ui() {
    // Setting an environment variable in-process is `unsafe` in edition
    // 2024 (and this crate forbids unsafe code): run this test again in a
    // child process that has it.
    if std::env::var_os(OVERRIDE).is_none() {
        let exe = std::env::current_exe().expect("the test binary's path");
        let status = Command::new(exe)
            .args(["ui", "--exact", "--nocapture", "--test-threads=1"])
            .env(OVERRIDE, env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("the test binary runs");
        assert!(status.success(), "the compile-fail tests failed (output above)");
        return;
    }
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
