//! A `nats-server` of the program's own, for `examples/nats.rs` and the
//! benchmark summary's `nats` part: found where the NATS tests look for it
//! (PATH, then /usr/local/sbin and /usr/sbin, where Debian puts it),
//! installed by the project's `scripts/install-test-deps` when missing,
//! started on a free loopback port with JetStream (stored in a directory
//! of its own, removed with it) and killed on drop.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the server may take to accept a connection.
const START_DEADLINE: Duration = Duration::from_secs(30);

/// A running `nats-server`, killed when dropped.
pub(crate) struct NatsServerProcess {
    child: Child,
    url: String,
    /// JetStream's store.
    store: PathBuf,
}

impl NatsServerProcess {
    /// Starts one on loopback.
    ///
    /// # Errors
    ///
    /// When `nats-server` is missing and cannot be installed, or does not
    /// start: a sentence saying which.
    pub(crate) fn start() -> Result<NatsServerProcess, String> {
        let program = match find() {
            Some(p) => p,
            None => install()?,
        };
        // A free port, given back just before the server takes it (the
        // server's own `-p -1` would have to be read back from its log).
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("cannot find a free port: {e}"))?
            .port();
        let store =
            std::env::temp_dir().join(format!("dispatchio-nats-{}-{port}", std::process::id()));
        let child = Command::new(&program)
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
            .arg(&store)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", program.display()))?;
        let mut server =
            NatsServerProcess { child, url: format!("nats://127.0.0.1:{port}"), store };
        let deadline = Instant::now() + START_DEADLINE;
        while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!("nats-server exited at start ({status})"));
            }
            if Instant::now() > deadline {
                return Err(format!("nats-server did not listen within {START_DEADLINE:?}"));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(server)
    }

    /// Its URL, `nats://127.0.0.1:<port>`.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for NatsServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.store);
    }
}

/// Finding and installing it, as the NATS tests do.
#[path = "../../dispatchio-nats/tests/support/program.rs"]
mod program;

fn find() -> Option<PathBuf> {
    program::find_nats_server()
}

fn install() -> Result<PathBuf, String> {
    program::install_nats_server(Path::new(env!("CARGO_MANIFEST_DIR")))
}
