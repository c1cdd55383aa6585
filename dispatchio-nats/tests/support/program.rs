//! Where `nats-server` is, and how it is installed when it is not: shared
//! by the tests' servers (`support`), `examples/nats.rs` and the benchmark
//! summary (through `examples/support/nats_server.rs`), so that all look
//! in the same places and install the same way.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The `nats-server` program: on PATH, or where Debian puts it
/// (/usr/sbin, not on every user's PATH), or in /usr/local/sbin.
pub(crate) fn find_nats_server() -> Option<PathBuf> {
    ["nats-server", "/usr/local/sbin/nats-server", "/usr/sbin/nats-server"]
        .into_iter()
        .map(PathBuf::from)
        .find(|program| {
            Command::new(program)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|status| status.success())
        })
}

/// Runs the project's `scripts/install-test-deps` under `workspace`, then
/// finds the program.
///
/// # Errors
///
/// A sentence saying why there is still no `nats-server`: the script could
/// not run or failed (its output included), or the program is still
/// missing.
pub(crate) fn install_nats_server(workspace: &Path) -> Result<PathBuf, String> {
    let script = workspace.join("scripts/install-test-deps");
    eprintln!("nats-server is missing: running {}", script.display());
    let output = Command::new("bash")
        .arg(&script)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !output.status.success() {
        return Err(format!(
            "nats-server is needed, and {} could not install it ({}):\n{}{}",
            script.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
        ));
    }
    find_nats_server().ok_or_else(|| {
        format!(
            "{} succeeded but nats-server is still not on PATH, in /usr/local/sbin or in /usr/sbin",
            script.display()
        )
    })
}
