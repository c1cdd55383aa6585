//! Real `nats-server`s for the tests: installed when missing (by the
//! project's `scripts/install-test-deps`), started on free loopback ports
//! with JetStream, alone or as a three-server cluster, or without it in
//! operator mode (`operator`), and killed on drop.
//!
//! A test that needs a server and cannot have one fails, saying why: it is
//! never skipped.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use futures::{FutureExt, StreamExt};
use tempfile::TempDir;
use tokio::time::{Instant, sleep};

mod operator;
mod program;
pub(crate) use operator::{Account, Operator};
use program::find_nats_server;

/// How long a server may take to start, to accept a client, or a cluster to
/// route between its servers, on a loaded two-core machine.
const START_DEADLINE: Duration = Duration::from_secs(30);

/// The `nats-server` program, installed first if it is missing.
///
/// # Panics
///
/// When it is missing and `scripts/install-test-deps` cannot install it.
pub(crate) fn nats_server_program() -> &'static Path {
    static PROGRAM: OnceLock<PathBuf> = OnceLock::new();
    // A panic inside leaves it unset: every test that needs the program
    // fails with the reason, none waits for another.
    PROGRAM.get_or_init(|| find_nats_server().unwrap_or_else(install_locked))
}

fn install_locked() -> PathBuf {
    // Test binaries run in parallel (and nextest runs every test in a
    // process of its own); the lock makes one of them install while the
    // others wait, and apt-get never runs twice at once.
    let lock_path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("install-test-deps.lock");
    let lock = File::create(&lock_path)
        .unwrap_or_else(|e| panic!("cannot create the lock {}: {e}", lock_path.display()));
    // Named in full: `File::lock`, std's own, needs Rust 1.89.
    fs4::FileExt::lock(&lock)
        .unwrap_or_else(|e| panic!("cannot lock {}: {e}", lock_path.display()));
    if let Some(program) = find_nats_server() {
        return program; // installed by another test process meanwhile
    }
    let workspace =
        Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the crate is in the workspace");
    program::install_nats_server(workspace).unwrap_or_else(|why| panic!("the NATS tests: {why}"))
}

/// One running `nats-server`, with JetStream, listening on loopback only;
/// killed when dropped.
pub(crate) struct NatsServer {
    child: Child,
    name: String,
    url: String,
    dir: TempDir,
}

/// Whether a server keeps JetStream.
#[derive(Clone, Copy, PartialEq)]
enum JetStream {
    On,
    Off,
}

/// A server that exited while starting.
struct Exited {
    why: String,
    /// Whether it exited because a port was taken.
    port_taken: bool,
}

impl NatsServer {
    /// Starts a server on its own, on ports it picks itself.
    pub(crate) async fn start() -> NatsServer {
        match NatsServer::spawn("dispatchio-test", JetStream::On, &[]).await {
            Ok(server) => server,
            Err(exited) => panic!("{}", exited.why),
        }
    }

    /// Starts a server on its own with `extra` arguments (`--user`,
    /// `--pass`, `--auth`, …).
    pub(crate) async fn start_with(extra: &[&str]) -> NatsServer {
        let extra: Vec<String> = extra.iter().map(|a| (*a).to_owned()).collect();
        match NatsServer::spawn("dispatchio-test", JetStream::On, &extra).await {
            Ok(server) => server,
            Err(exited) => panic!("{}", exited.why),
        }
    }

    /// Starts a server on its own in operator mode: it trusts `operator`
    /// and admits the users of `accounts` alone. Without JetStream: in
    /// operator mode an account has it only if its JWT grants it.
    pub(crate) async fn start_trusting(operator: &Operator, accounts: &[&Account]) -> NatsServer {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("cannot make a temp dir: {e}"));
        let conf = dir.path().join("operator.conf");
        std::fs::write(&conf, operator.server_config(accounts))
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", conf.display()));
        // Read once, while the server starts: `dir` may go once it serves.
        let extra = ["-c".to_owned(), conf.display().to_string()];
        match NatsServer::spawn("dispatchio-test", JetStream::Off, &extra).await {
            Ok(server) => server,
            Err(exited) => panic!("{}", exited.why),
        }
    }

    /// The client URL (`nats://127.0.0.1:<port>`).
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// Starts `nats-server` with `extra` arguments after the common ones:
    /// the client port chosen by the server (`-1`, no race with other
    /// processes for it), JetStream (when on) stored in a temp dir of its
    /// own, the log in that dir. Returns once the server accepts a client.
    async fn spawn(
        name: &str,
        jetstream: JetStream,
        extra: &[String],
    ) -> Result<NatsServer, Exited> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("{name}-"))
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot make a temp dir for {name}: {e}"));
        let log = dir.path().join("server.log");
        let stderr = File::create(dir.path().join("stderr"))
            .unwrap_or_else(|e| panic!("cannot create the stderr file of {name}: {e}"));
        let mut command = Command::new(nats_server_program());
        command.args(["-a", "127.0.0.1", "-p", "-1", "--server_name", name]);
        if jetstream == JetStream::On {
            command.arg("-js").arg("-sd").arg(dir.path().join("jetstream"));
        }
        let child = command
            .arg("--ports_file_dir")
            .arg(dir.path())
            .arg("-l")
            .arg(&log)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", nats_server_program().display()));
        let mut server = NatsServer { child, name: name.to_owned(), url: String::new(), dir };
        server.url = server.wait_for_ports().await?;
        // The ports file is written once the server listens; its greeting
        // proves it serves (read raw: a server that requires credentials
        // refuses a client without them).
        server.wait_for_greeting().await;
        Ok(server)
    }

    /// Waits until the server greets a connection with its `INFO` line.
    async fn wait_for_greeting(&self) {
        use tokio::io::AsyncReadExt;
        // `nats://` or, with `--tls`, `tls://`: the greeting is plain text either way.
        let addr = self.url.split_once("://").map_or(self.url.as_str(), |(_, a)| a).to_owned();
        let greeting = async {
            let mut stream = tokio::net::TcpStream::connect(&addr).await?;
            let mut buf = [0u8; 5];
            stream.read_exact(&mut buf).await?;
            Ok::<_, std::io::Error>(buf)
        };
        match tokio::time::timeout(START_DEADLINE, greeting).await {
            Ok(Ok(buf)) if &buf == b"INFO " => {}
            other => panic!(
                "nats-server {} at {} did not greet a client: {other:?}",
                self.name, self.url
            ),
        }
    }

    /// Waits for the ports file the server writes once it listens, and
    /// returns its client URL.
    async fn wait_for_ports(&mut self) -> Result<String, Exited> {
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = self.log();
                return Err(Exited {
                    port_taken: log.contains("address already in use"),
                    why: format!(
                        "nats-server {} exited while starting ({status}):\n{log}",
                        self.name
                    ),
                });
            }
            if let Some(url) = self.client_url_from_ports_file() {
                return Ok(url);
            }
            assert!(
                Instant::now() < deadline,
                "nats-server {} did not start listening within {START_DEADLINE:?}:\n{}",
                self.name,
                self.log()
            );
            sleep(Duration::from_millis(10)).await;
        }
    }

    /// The client URL in the ports file (`nats-server_<pid>.ports`, JSON),
    /// once it is there and whole.
    fn client_url_from_ports_file(&self) -> Option<String> {
        let file = self.dir.path().join(format!("nats-server_{}.ports", self.child.id()));
        let text = std::fs::read_to_string(file).ok()?;
        let ports: serde_json::Value = serde_json::from_str(&text).ok()?;
        ports["nats"][0].as_str().map(str::to_owned)
    }

    /// What the server logged, and wrote to stderr, so far.
    fn log(&self) -> String {
        let read = |file: &str| std::fs::read_to_string(self.dir.path().join(file));
        format!("{}{}", read("server.log").unwrap_or_default(), read("stderr").unwrap_or_default())
    }

    /// The server's name (`--server_name`).
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// A client connected to this server.
    ///
    /// # Panics
    ///
    /// When none connects within the start deadline.
    pub(crate) async fn client(&self) -> async_nats::Client {
        self.client_with(async_nats::ConnectOptions::new()).await
    }

    /// A client connected to this server with `options`.
    pub(crate) async fn client_with(
        &self,
        options: async_nats::ConnectOptions,
    ) -> async_nats::Client {
        match tokio::time::timeout(START_DEADLINE, options.connect(&self.url)).await {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => {
                panic!("cannot connect to nats-server {} at {}: {e}", self.name, self.url)
            }
            Err(_) => panic!(
                "nats-server {} at {} accepted no client within {START_DEADLINE:?}",
                self.name, self.url
            ),
        }
    }

    /// Waits until JetStream answers on this server: at once for a server on
    /// its own, once the cluster has elected its JetStream leader otherwise.
    pub(crate) async fn wait_for_jetstream(&self) {
        // Until it has a leader, a clustered JetStream may leave a request
        // unanswered: ask again soon rather than wait the default 10 s.
        let client = self
            .client_with(
                async_nats::ConnectOptions::new().request_timeout(Some(Duration::from_millis(250))),
            )
            .await;
        let deadline = Instant::now() + START_DEADLINE;
        let mut last = String::new();
        while Instant::now() < deadline {
            // The JetStream API over core NATS: no JetStream client needed.
            match client.request("$JS.API.INFO", "".into()).await {
                Ok(reply) => {
                    let info: serde_json::Value = serde_json::from_slice(&reply.payload)
                        .unwrap_or_else(|e| panic!("$JS.API.INFO answered no JSON: {e}"));
                    if info.get("error").is_none() {
                        return;
                    }
                    last = info["error"].to_string();
                }
                Err(e) => last = e.to_string(),
            }
            sleep(Duration::from_millis(50)).await;
        }
        panic!("JetStream did not answer on {} within {START_DEADLINE:?}: {last}", self.name);
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        // Killed before its temp dir (a field) is removed.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Three `nats-server`s on loopback, routed to each other as one cluster,
/// each with its own JetStream store.
pub(crate) struct Cluster {
    servers: Vec<NatsServer>,
}

impl Cluster {
    /// Starts the cluster and returns once a message published on any of its
    /// servers reaches a subscriber on any other.
    pub(crate) async fn start() -> Cluster {
        // The route ports must be known before the servers start (each one's
        // routes name all three: a JetStream cluster needs routes on every
        // server), so they are picked here, and another process may take one
        // first: then the cluster starts again on other ports.
        for _ in 0..3 {
            let route_ports: Vec<u16> = (0..3).map(|_| free_loopback_port()).collect();
            let routes = route_ports
                .iter()
                .map(|port| format!("nats://127.0.0.1:{port}"))
                .collect::<Vec<_>>()
                .join(",");
            let mut servers = Vec::new();
            for (i, port) in route_ports.iter().enumerate() {
                let args = [
                    "--cluster".to_owned(),
                    format!("nats://127.0.0.1:{port}"),
                    "--routes".to_owned(),
                    routes.clone(),
                    "--cluster_name".to_owned(),
                    "dispatchio-test".to_owned(),
                ];
                match NatsServer::spawn(&format!("node{i}"), JetStream::On, &args).await {
                    Ok(server) => servers.push(server),
                    Err(Exited { port_taken: true, .. }) => break,
                    Err(exited) => panic!("{}", exited.why),
                }
            }
            if servers.len() == route_ports.len() {
                let cluster = Cluster { servers };
                cluster.wait_for_routes().await;
                return cluster;
            }
        }
        panic!("three attempts to start a cluster each found a route port taken");
    }

    /// The servers.
    pub(crate) fn servers(&self) -> &[NatsServer] {
        &self.servers
    }

    /// Waits until JetStream answers on every server and the cluster can
    /// keep a stream on all three (its servers have all joined the
    /// JetStream cluster: until then a stream of three replicas is refused
    /// for want of peers).
    pub(crate) async fn wait_for_jetstream_on_all(&self) {
        for server in &self.servers {
            server.wait_for_jetstream().await;
        }
        let js = async_nats::jetstream::new(self.servers[0].client().await);
        let probe = async_nats::jetstream::stream::Config {
            name: "harness-probe".to_owned(),
            subjects: vec!["harness.probe-js".to_owned()],
            num_replicas: self.servers.len(),
            storage: async_nats::jetstream::stream::StorageType::Memory,
            ..Default::default()
        };
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            match js.create_stream(probe.clone()).await {
                Ok(_) => break,
                Err(e) => assert!(
                    Instant::now() < deadline,
                    "the cluster could not keep a stream on all its servers within \
                     {START_DEADLINE:?}: {e}"
                ),
            }
            sleep(Duration::from_millis(100)).await;
        }
        js.delete_stream("harness-probe").await.unwrap();
    }

    /// Kills server `i` (SIGKILL), as a node of a cluster dies.
    pub(crate) fn kill(&mut self, i: usize) {
        let server = &mut self.servers[i];
        let _ = server.child.kill();
        let _ = server.child.wait();
    }

    /// Waits until a message published on each server reaches a subscriber
    /// on each other one: the routes are up and carry interest both ways.
    async fn wait_for_routes(&self) {
        let mut clients = Vec::new();
        let mut probes = Vec::new();
        for (i, server) in self.servers.iter().enumerate() {
            let client = server.client().await;
            probes.push(client.subscribe(format!("harness.probe.{i}")).await.unwrap());
            client.flush().await.unwrap();
            clients.push(client);
        }
        let n = self.servers.len();
        // heard[to][from]: a probe published on `from` reached `to`.
        let mut heard = vec![vec![false; n]; n];
        for (i, row) in heard.iter_mut().enumerate() {
            row[i] = true;
        }
        let deadline = Instant::now() + START_DEADLINE;
        while heard.iter().flatten().any(|&h| !h) {
            assert!(
                Instant::now() < deadline,
                "the cluster's routes did not carry messages within {START_DEADLINE:?} \
                 (heard[to][from]: {heard:?})"
            );
            // Core NATS drops what is published before the interest has
            // crossed the route, so the probes are published until heard.
            for (from, client) in clients.iter().enumerate() {
                for to in (0..n).filter(|&to| !heard[to][from]) {
                    client
                        .publish(format!("harness.probe.{to}"), from.to_string().into())
                        .await
                        .unwrap();
                }
                client.flush().await.unwrap();
            }
            sleep(Duration::from_millis(20)).await;
            for (to, probe) in probes.iter_mut().enumerate() {
                while let Some(Some(msg)) = probe.next().now_or_never() {
                    let from: usize = std::str::from_utf8(&msg.payload).unwrap().parse().unwrap();
                    heard[to][from] = true;
                }
            }
        }
    }
}

/// Returns once the server has processed everything `client` sent before,
/// subscriptions included.
///
/// async-nats's `flush` only writes the socket out: a subscription another
/// client publishes to right after it may not be in place yet. A request
/// that nobody serves is answered (no responders) by the server after what
/// came before it on the connection, so its answer is the round trip.
pub(crate) async fn round_trip(client: &async_nats::Client) {
    match client.request("harness.round-trip", "".into()).await {
        Err(e) if e.kind() == async_nats::RequestErrorKind::NoResponders => {}
        other => panic!("a request to nobody should find no responders: {other:?}"),
    }
}

/// A loopback port nobody listened on a moment ago.
fn free_loopback_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap_or_else(|e| panic!("cannot bind a loopback port: {e}"));
    listener.local_addr().unwrap().port()
}
