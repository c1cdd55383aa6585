//! [`RemoteConfig`]: how a dispatcher listens and dials.

use std::sync::Arc;
use std::time::Duration;

use crate::{DEFAULT_MAX_ANNOUNCEMENTS, NetConfig, Tls};
use dispatchio_core::ContentRegistry;

/// How a dispatcher listens and dials: the link settings of [`NetConfig`]
/// plus what the dispatcher's network side needs (the content registry, the announcement
/// interval).
///
/// ```
/// use dispatchio_net::RemoteConfig;
/// use dispatchio_core::{ContentRegistry, Text};
/// let mut registry = ContentRegistry::new();
/// registry.register::<Text>();
/// let config = RemoteConfig::new("billing").secret("a long random string").registry(registry);
/// ```
#[derive(Debug, Clone)]
pub struct RemoteConfig {
    pub(super) net: NetConfig,
    pub(super) registry: Arc<ContentRegistry>,
    pub(super) announce_interval: Duration,
    pub(super) max_announced: usize,
}

impl Default for RemoteConfig {
    fn default() -> RemoteConfig {
        RemoteConfig::new(default_peer_name())
    }
}

fn default_peer_name() -> String {
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "dispatchio".to_owned());
    format!("{exe}[{}]", std::process::id())
}

impl RemoteConfig {
    /// Defaults: those of [`NetConfig::new`] except a queue of 8192 frames per
    /// link; an empty registry (every content type arrives as
    /// [`DynContent`](dispatchio_core::DynContent)); changes announced within 100 ms;
    /// at most [`DEFAULT_MAX_ANNOUNCEMENTS`] destination IDs and groups
    /// announced by a peer, in one frame and in all.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::Dispatcher;
    /// use dispatchio_net::{NetExt, RemoteConfig};
    /// let path = std::env::temp_dir().join(format!("dispatchio-doc-{}-remote-new.sock", std::process::id()));
    /// let addr = format!("unix:{}", path.display());
    /// let _listening = Dispatcher::new().listen_with(&addr, &RemoteConfig::new("billing")).await?;
    /// let peer = Dispatcher::new().connect_with(&addr, &RemoteConfig::new("web")).await?;
    /// assert_eq!(peer.link().peer_name(), "billing"); // the name this side gives the other
    /// # Ok(()) }
    /// ```
    pub fn new(peer_name: impl Into<String>) -> RemoteConfig {
        RemoteConfig {
            net: NetConfig::new(peer_name).queue_capacity(8192),
            registry: Arc::new(ContentRegistry::new()),
            announce_interval: Duration::from_millis(100),
            max_announced: DEFAULT_MAX_ANNOUNCEMENTS,
        }
    }

    /// The shared secret: proven (never sent) when dialling, required from
    /// peers when listening (see [`NetConfig::secret`]).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::Dispatcher;
    /// use dispatchio_net::{NetExt, RemoteConfig};
    /// let config = RemoteConfig::new("billing").secret("a long random string");
    /// let listening = Dispatcher::new().listen_with("tcp:127.0.0.1:0", &config).await?;
    /// let addr = listening.local_addr().to_string();
    /// assert!(Dispatcher::new().connect_with(&addr, &RemoteConfig::new("web")).await.is_err());
    /// let knows = RemoteConfig::new("web").secret("a long random string");
    /// assert!(Dispatcher::new().connect_with(&addr, &knows).await.is_ok());
    /// # Ok(()) }
    /// ```
    pub fn secret(mut self, secret: impl Into<String>) -> Self {
        self.net = self.net.secret(secret);
        self
    }

    /// Lets a TCP listener accept peers without a shared secret (off by default).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::Dispatcher;
    /// use dispatchio_net::{NetError, NetExt, RemoteConfig};
    /// let dispatcher = Dispatcher::new();
    /// let refused = dispatcher.listen_with("tcp:127.0.0.1:0", &RemoteConfig::new("dev")).await;
    /// assert!(matches!(refused, Err(NetError::ListenerNeedsSecret { .. })));
    /// let trusted = RemoteConfig::new("dev").allow_unauthenticated(true).allow_plaintext(true);
    /// assert!(dispatcher.listen_with("tcp:127.0.0.1:0", &trusted).await.is_ok());
    /// # Ok(()) }
    /// ```
    pub fn allow_unauthenticated(mut self, allow: bool) -> Self {
        self.net = self.net.allow_unauthenticated(allow);
        self
    }

    /// Says that a `tcp:` listener is meant to be plaintext (see
    /// [`NetConfig::allow_plaintext`]).
    ///
    /// ```
    /// use dispatchio_net::RemoteConfig;
    /// let config = RemoteConfig::new("billing").allow_plaintext(true);
    /// assert!(format!("{:?}", config.net()).contains("allow_plaintext: true")); // the link setting underneath
    /// ```
    pub fn allow_plaintext(mut self, allow: bool) -> Self {
        self.net = self.net.allow_plaintext(allow);
        self
    }

    /// The TLS settings of `tls:` addresses (see [`NetConfig::tls`]).
    ///
    /// ```
    /// use dispatchio_net::{RemoteConfig, Tls};
    /// let rcgen::CertifiedKey { cert, .. } = rcgen::generate_simple_self_signed(["billing.internal".to_owned()])?;
    /// let config = RemoteConfig::new("web").tls(Tls::new().pin_pem(cert.pem().as_bytes())?);
    /// assert!(format!("{:?}", config.net()).contains("tls: Some(")); // for `tls:` addresses
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn tls(mut self, tls: Tls) -> Self {
        self.net = self.net.tls(tls);
        self
    }

    /// The largest frame accepted or sent, in bytes.
    ///
    /// ```
    /// use dispatchio_net::RemoteConfig;
    /// let config = RemoteConfig::new("billing").max_frame_len(1 << 20);
    /// assert!(format!("{:?}", config.net()).contains("max_frame_len: 1048576")); // the link setting underneath
    /// ```
    pub fn max_frame_len(mut self, bytes: usize) -> Self {
        self.net = self.net.max_frame_len(bytes);
        self
    }

    /// How many messages a link queues for sending (replies have room of
    /// their own: [`reply_capacity`](Self::reply_capacity)). A send that
    /// finds the queue full fails to its sender (the dispatcher's send
    /// never waits); while a link is down, sends queue up to this bound.
    /// Past it, room is kept for destinations with little queued (see
    /// [`NetConfig::queue_capacity`]), so one destination's flood does not
    /// refuse every other destination of the peer.
    ///
    /// ```
    /// use dispatchio_net::RemoteConfig;
    /// let config = RemoteConfig::new("billing").queue_capacity(0);
    /// assert!(format!("{:?}", config.net()).contains("queue_capacity: 1")); // the link setting underneath
    /// ```
    pub fn queue_capacity(mut self, frames: usize) -> Self {
        self.net = self.net.queue_capacity(frames);
        self
    }

    /// How many replies to a peer's requests a link queues, apart from the
    /// messages (by default as many as [`queue_capacity`](Self::queue_capacity)).
    /// A reply that finds them full is lost: counted
    /// ([`RemoteStats::replies_lost`](crate::RemoteStats::replies_lost)) and logged, in batches, and the
    /// requester waits until its timeout. Only a peer that does not read
    /// its replies while it goes on asking fills them.
    ///
    /// ```
    /// use dispatchio_net::RemoteConfig;
    /// let config = RemoteConfig::new("billing").reply_capacity(64);
    /// assert!(format!("{:?}", config.net()).contains("reply_capacity: Some(64)")); // the link setting underneath
    /// ```
    pub fn reply_capacity(mut self, frames: usize) -> Self {
        self.net = self.net.reply_capacity(frames);
        self
    }

    /// Reconnect delays of a dialled link (see [`NetConfig::reconnect_backoff`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// use dispatchio_net::RemoteConfig;
    /// let config = RemoteConfig::new("web").reconnect_backoff(Duration::from_secs(1), Duration::from_millis(10));
    /// let net = format!("{:?}", config.net());
    /// assert!(net.contains("backoff_initial: 1s, backoff_max: 1s")); // the maximum is at least the first
    /// ```
    pub fn reconnect_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.net = self.net.reconnect_backoff(initial, max);
        self
    }

    /// The keep-alive interval (see [`NetConfig::keepalive`]).
    ///
    /// ```
    /// use dispatchio_net::RemoteConfig;
    /// let config = RemoteConfig::new("billing").keepalive(None);
    /// assert!(format!("{:?}", config.net()).contains("keepalive: None")); // the link setting underneath
    /// ```
    pub fn keepalive(mut self, interval: Option<Duration>) -> Self {
        self.net = self.net.keepalive(interval);
        self
    }

    /// How long a handshake may take.
    ///
    /// ```
    /// use std::time::Duration;
    /// use dispatchio_net::RemoteConfig;
    /// let config = RemoteConfig::new("web").handshake_timeout(Duration::from_millis(500));
    /// assert!(format!("{:?}", config.net()).contains("handshake_timeout: 500ms"));
    /// ```
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.net = self.net.handshake_timeout(timeout);
        self
    }

    /// The most announcements one frame from a peer may list (see
    /// [`NetConfig::max_announcements`]): a frame listing more is refused
    /// whole (logged, counted in [`RemoteStats::announcements_refused`](crate::RemoteStats::announcements_refused)),
    /// and the link carries on. A peer's snapshot of what it serves is one
    /// frame, so this bounds what a peer may serve when it connects.
    ///
    /// ```
    /// use dispatchio_net::RemoteConfig;
    /// let config = RemoteConfig::new("billing").max_announcements(1024);
    /// assert!(format!("{:?}", config.net()).contains("max_announcements: 1024")); // the link setting underneath
    /// ```
    pub fn max_announcements(mut self, entries: usize) -> Self {
        self.net = self.net.max_announcements(entries);
        self
    }

    /// The most destination IDs and groups a peer may have announced on
    /// one link at a time (at least 1; default
    /// [`DEFAULT_MAX_ANNOUNCEMENTS`]): what each costs here (a route, a
    /// claim) is bounded per peer. Claims past it are refused (logged once
    /// per frame with their number, counted in
    /// [`RemoteStats::announcements_refused`](crate::RemoteStats::announcements_refused)); withdrawing makes room.
    ///
    /// ```
    /// use dispatchio_net::RemoteConfig;
    /// let config = RemoteConfig::new("billing").max_announced(0); // at least 1
    /// assert!(format!("{config:?}").contains("max_announced: 1"));
    /// ```
    pub fn max_announced(mut self, entries: usize) -> Self {
        self.max_announced = entries.max(1);
        self
    }

    /// The types that incoming content is decoded into, by type name.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::{Dispatcher, Message, Text};
    /// use dispatchio_net::{NetExt, RemoteConfig};
    /// # fn echo() -> std::sync::Arc<dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>> {
    /// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// #     use dispatchio_core::Reply;
    /// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::call("echo")]).build().unwrap();
    /// #     let echo = |m: &Message| Ok(Reply::Content(m.content().clone()));
    /// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).handler("echo", echo).build().unwrap())
    /// # }
    /// let path = std::env::temp_dir().join(format!("dispatchio-doc-{}-registry.sock", std::process::id()));
    /// let addr = format!("unix:{}", path.display());
    /// let server = Dispatcher::new();
    /// server.register("echo", echo())?;
    /// let _listening = server.listen_with(&addr, &RemoteConfig::new("billing")).await?;
    /// let mut registry = dispatchio_core::ContentRegistry::new();
    /// registry.register::<Text>();
    /// let client = Dispatcher::new();
    /// let _peer = client.connect_with(&addr, &RemoteConfig::new("web").registry(registry)).await?;
    /// assert!(client.wait_for_destination("echo", std::time::Duration::from_secs(5)).await);
    /// let reply = client.request(Message::new(Text::from("hi")).to("echo"), None).await?;
    /// assert_eq!(reply.content_as::<Text>().map(|t| t.0.as_str()), Some("hi")); // a `Text`, not `DynContent`
    /// # Ok(()) }
    /// ```
    pub fn registry(mut self, registry: ContentRegistry) -> Self {
        self.registry = Arc::new(registry);
        self
    }

    /// How often local changes (listeners registered or gone, groups
    /// subscribed or left) are looked for and announced to peers. The first
    /// `listen`/`connect` of a dispatcher sets it for all its links.
    ///
    /// ```
    /// use std::time::Duration;
    /// use dispatchio_net::RemoteConfig;
    /// let config = RemoteConfig::new("billing").announce_interval(Duration::ZERO); // at least 1 ms
    /// assert!(format!("{config:?}").contains("announce_interval: 1ms"));
    /// ```
    pub fn announce_interval(mut self, interval: Duration) -> Self {
        self.announce_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// The link settings underneath.
    ///
    /// ```
    /// use dispatchio_net::RemoteConfig;
    /// let config = RemoteConfig::new("billing").secret("a long random string");
    /// assert!(format!("{:?}", config.net()).contains(r#"peer_name: "billing""#));
    /// assert!(!format!("{config:?}").contains("a long random string")); // never in logs
    /// ```
    pub fn net(&self) -> &NetConfig {
        &self.net
    }
}
