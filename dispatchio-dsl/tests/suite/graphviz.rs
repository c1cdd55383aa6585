//! Graphviz's `dot`, for the tests that render `dispatchio graph`:
//! installed when missing by the project's `scripts/install-test-deps`
//! (as the NATS tests install `nats-server`). A test that needs it and
//! cannot have it fails, saying why: it is never skipped.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The `dot` program, installed first if it is missing.
///
/// # Panics
///
/// When it is missing and `scripts/install-test-deps` cannot install it.
pub(crate) fn dot_program() -> &'static Path {
    static PROGRAM: OnceLock<PathBuf> = OnceLock::new();
    PROGRAM.get_or_init(|| find_dot().unwrap_or_else(install_locked))
}

fn find_dot() -> Option<PathBuf> {
    ["dot", "/usr/bin/dot", "/usr/local/bin/dot"].into_iter().map(PathBuf::from).find(|program| {
        Command::new(program)
            .arg("-V")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

fn install_locked() -> PathBuf {
    // Test binaries may run at once: one installs while the others wait.
    let lock_path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("install-test-deps.lock");
    let lock = File::create(&lock_path)
        .unwrap_or_else(|e| panic!("cannot create the lock {}: {e}", lock_path.display()));
    fs4::FileExt::lock(&lock)
        .unwrap_or_else(|e| panic!("cannot lock {}: {e}", lock_path.display()));
    if let Some(program) = find_dot() {
        return program;
    }
    let workspace =
        Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the crate is in the workspace");
    let script = workspace.join("scripts/install-test-deps");
    eprintln!("Graphviz's dot is missing: running {}", script.display());
    let output = Command::new("bash")
        .arg(&script)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(
        output.status.success(),
        "Graphviz's dot is needed, and {} could not install it ({}):\n{}{}",
        script.display(),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    find_dot()
        .unwrap_or_else(|| panic!("{} succeeded but dot is still not on PATH", script.display()))
}

/// `dot -T{format}` of `text`: its output, or the panic says what dot said.
pub(crate) fn render(text: &str, format: &str) -> String {
    let mut child = Command::new(dot_program())
        .arg(format!("-T{format}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dot starts");
    child.stdin.take().expect("a pipe").write_all(text.as_bytes()).expect("dot reads its input");
    let out = child.wait_with_output().expect("dot finishes");
    let stderr = String::from_utf8_lossy(&out.stderr);
    // dot reports a syntax error on stderr, and may still exit 0 for a warning.
    assert!(out.status.success() && stderr.is_empty(), "dot refused the graph: {stderr}\n{text}");
    String::from_utf8(out.stdout).expect("dot writes UTF-8")
}
