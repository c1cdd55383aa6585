//! What the fuzz targets share: a file to hand `.route` text to the tools
//! through, and a listening dispatcher to attack over a Unix socket.
//!
//! Everything here uses the public API only, as a peer program would: the
//! targets prove what a user of dispatchio gets from hostile input.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use dispatchio::net::{
    Handshake, Hello, NetExt, Nonce, PROTOCOL_VERSION, Proof, RemoteConfig, Secret,
};
use dispatchio::routing::{Action, Cond, RoutingTable};
use dispatchio::{Dispatcher, Message, Reply, RoutedListener};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::runtime::Runtime;

/// The secret the listener requires (the frames target proves it).
pub const SECRET: &str = "fuzz-secret";

/// How long anything may take before the target calls it a hang.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A directory of this process's own, for the files and sockets of a run.
pub fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("dispatchio-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        dir
    })
}

/// Writes `data` to a `.route` file of its own and returns its path.
pub fn route_file(data: &[u8]) -> PathBuf {
    let path = scratch().join("fuzzed.route");
    std::fs::write(&path, data).expect("the scratch file is writable");
    path
}

/// One thread, one runtime: every task of the listening dispatcher runs
/// inside the target's `block_on`, so libFuzzer sees the coverage of the
/// work an input causes.
pub fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        ignore_sigpipe();
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime")
    })
}

/// Writing to a socket its peer closed raises SIGPIPE, which kills the
/// process unless ignored. Every Rust program ignores it before `main`
/// (and gets `EPIPE` as an error instead), but libFuzzer's `main` is not
/// Rust's: do what Rust's start-up does, so the targets see the errors a
/// dispatchio program sees.
fn ignore_sigpipe() {
    // SAFETY: setting a signal's disposition to SIG_IGN installs no
    // handler and is done once, before any thread of ours runs.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
}

/// The dispatcher under attack: a listener `echo` (in group `players`)
/// that answers every message, listening on a Unix socket that requires
/// [`SECRET`].
pub struct Target {
    /// The listening dispatcher.
    pub dispatcher: Dispatcher,
    /// Its socket's address (`unix:…`).
    pub address: String,
}

impl Target {
    /// The process's one target, started on first use.
    pub fn get() -> &'static Target {
        static TARGET: OnceLock<Target> = OnceLock::new();
        TARGET.get_or_init(|| runtime().block_on(Target::start()))
    }

    async fn start() -> Target {
        let dispatcher = Dispatcher::new();
        let table = RoutingTable::builder()
            .rule("answer", Cond::Always, [Action::call("answer")])
            .build()
            .expect("a valid table");
        let echo = RoutedListener::builder(table)
            .handler("answer", |_m: &Message| Ok(Reply::Empty))
            .build()
            .expect("every handler given");
        dispatcher.register("echo", Arc::new(echo)).expect("a new dispatcher");
        dispatcher.subscribe("echo", "players").expect("echo is registered");
        let address = format!("unix:{}", scratch().join("target.sock").display());
        let config = RemoteConfig::new("fuzz").secret(SECRET).handshake_timeout(PATIENCE / 2);
        let listener = dispatcher.listen_with(&address, &config).await.expect("listening");
        // Lives as long as the process: the listener keeps accepting.
        std::mem::forget(listener);
        Target { dispatcher, address }
    }

    /// The socket's path.
    pub fn socket_path(&self) -> &str {
        self.address.strip_prefix("unix:").expect("a Unix address")
    }

    /// Connects to the listener as a raw peer.
    pub async fn connect(&self) -> UnixStream {
        UnixStream::connect(self.socket_path()).await.expect("the target listens")
    }

    /// Panics unless the dispatcher still answers a request of its own:
    /// whatever the input did, the listener and its dispatcher live on.
    pub async fn assert_serving(&self) {
        let request = Message::new(dispatchio::Empty).to("echo");
        let answer = tokio::time::timeout(PATIENCE, self.dispatcher.request(request, None)).await;
        match answer {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => panic!("the target's own request failed after the input: {e}"),
            Err(_) => panic!("the target's own request hung after the input"),
        }
    }
}

/// One frame as the link writes it: a 4-byte big-endian length, the body.
pub fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = u32::try_from(body.len()).expect("a small frame").to_be_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

/// The handshake of a legitimate peer: `Hello`, the target's `Challenge`
/// answered with the proof of [`SECRET`], and its `Welcome`. Panics when
/// the target does not welcome it.
pub async fn pass_handshake(stream: &mut UnixStream) {
    let hello = Hello {
        version: PROTOCOL_VERSION,
        peer_name: "fuzzer".into(),
        nonce: Nonce::fresh().expect("a nonce"),
    };
    write_handshake(stream, &Handshake::Hello(hello.clone())).await;
    let challenge = match read_handshake(stream).await {
        Some(Handshake::Challenge(c)) => c,
        other => panic!("a legitimate Hello was answered {other:?}"),
    };
    let proof = Proof::of_dialler(&Secret::new(SECRET), &hello, &challenge);
    write_handshake(stream, &Handshake::Proof(proof)).await;
    match read_handshake(stream).await {
        Some(Handshake::Welcome(_)) => {}
        other => panic!("a legitimate Proof was answered {other:?}"),
    }
}

async fn write_handshake(stream: &mut UnixStream, h: &Handshake) {
    let bytes = frame(&h.encode().expect("a handshake frame encodes"));
    stream.write_all(&bytes).await.expect("the target reads the handshake");
}

async fn read_handshake(stream: &mut UnixStream) -> Option<Handshake> {
    Handshake::decode(&read_frame(stream).await?).ok()
}

/// Reads one frame; `None` when the connection ends first.
pub async fn read_frame(stream: &mut UnixStream) -> Option<Vec<u8>> {
    let mut len = [0; 4];
    stream.read_exact(&mut len).await.ok()?;
    let mut body = vec![0; u32::from_be_bytes(len) as usize];
    stream.read_exact(&mut body).await.ok()?;
    Some(body)
}

/// Writes `input` (as far as the peer takes it), ends the write side, and
/// reads until the other side closes: a side that never closes after its
/// peer's input ended is a hang, and panics.
pub async fn send_and_drain(stream: &mut UnixStream, input: &[u8]) {
    // The other side may close early (a refused handshake, a bad frame):
    // a write error then is the expected end, not a failure.
    let _ = stream.write_all(input).await;
    let _ = stream.shutdown().await;
    let mut sink = [0; 64 * 1024];
    let drained = tokio::time::timeout(PATIENCE, async {
        while let Ok(n) = stream.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    });
    if drained.await.is_err() {
        panic!("the connection was still open {PATIENCE:?} after the input ended");
    }
}
