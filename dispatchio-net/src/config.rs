//! [`NetConfig`]: how links listen and dial, each setter with an example
//! over real sockets.

use std::time::Duration;

use crate::Tls;
use crate::wire::{DEFAULT_MAX_FRAME_LEN, Secret};
#[cfg(doc)]
use crate::{Link, LinkEvents};

/// The default of [`NetConfig::max_announcements`]: 65,536 announcements
/// in one frame (about 12 MiB of routes and claims once applied).
pub const DEFAULT_MAX_ANNOUNCEMENTS: usize = 65_536;

/// How a dispatcher listens and dials: its name, who may connect, limits.
///
/// Built with setters from [`NetConfig::new`]:
///
/// ```
/// use dispatchio_net::NetConfig;
/// let config = NetConfig::new("billing").secret("a long random string").queue_capacity(4096);
/// ```
#[derive(Debug, Clone)]
pub struct NetConfig {
    pub(crate) peer_name: String,
    pub(crate) secret: Option<Secret>,
    pub(crate) allow_unauthenticated: bool,
    pub(crate) allow_plaintext: bool,
    pub(crate) tls: Option<Tls>,
    pub(crate) max_frame_len: usize,
    pub(crate) queue_capacity: usize,
    pub(crate) reply_capacity: Option<usize>,
    pub(crate) max_announcements: usize,
    pub(crate) handshake_timeout: Duration,
    pub(crate) backoff_initial: Duration,
    pub(crate) backoff_max: Duration,
    pub(crate) keepalive: Option<Duration>,
}

impl NetConfig {
    /// A configuration with defaults: no secret, frames up to
    /// [`DEFAULT_MAX_FRAME_LEN`], 1024 queued frames per link, a 5 s
    /// handshake timeout, reconnect backoff from 50 ms doubling up to 5 s, and
    /// a keep-alive ping every 10 s (a peer silent for three intervals is
    /// considered lost).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use dispatchio_net::{self as net, Address, Link, LinkEvents, NetConfig, Payload};
    /// # struct Quiet; // hears nothing
    /// # impl LinkEvents for Quiet { async fn received(&self, _: &Link, _: Payload) {} }
    /// # fn socket(name: &str) -> Address {
    /// #     let path = std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id()));
    /// #     format!("unix:{}", path.display()).parse().unwrap()
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let addr = socket("new");
    /// let _listening = net::listen(&addr, &NetConfig::new("billing"), Arc::new(Quiet)).await?;
    /// let link = net::connect(&addr, &NetConfig::new("web"), Arc::new(Quiet)).await?;
    /// assert_eq!(link.peer_name(), "billing"); // the name each side gives the other
    /// # Ok(()) }
    /// ```
    pub fn new(peer_name: impl Into<String>) -> Self {
        NetConfig {
            peer_name: peer_name.into(),
            secret: None,
            allow_unauthenticated: false,
            allow_plaintext: false,
            tls: None,
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
            queue_capacity: 1024,
            reply_capacity: None,
            max_announcements: DEFAULT_MAX_ANNOUNCEMENTS,
            handshake_timeout: Duration::from_secs(5),
            backoff_initial: Duration::from_millis(50),
            backoff_max: Duration::from_secs(5),
            keepalive: Some(Duration::from_secs(10)),
        }
    }

    /// The shared secret: proven (never sent) when dialling, and required
    /// from peers when listening (on TCP and Unix sockets alike). A dialler
    /// that has one also requires the listener to prove that it knows it.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use dispatchio_net::{self as net, Address, Link, LinkEvents, NetConfig, Payload};
    /// # struct Quiet; // hears nothing
    /// # impl LinkEvents for Quiet { async fn received(&self, _: &Link, _: Payload) {} }
    /// # fn socket(name: &str) -> Address {
    /// #     let path = std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id()));
    /// #     format!("unix:{}", path.display()).parse().unwrap()
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_net::NetError;
    /// let addr = socket("secret");
    /// let listener = NetConfig::new("billing").secret("a long random string");
    /// let _listening = net::listen(&addr, &listener, Arc::new(Quiet)).await?;
    /// let wrong = net::connect(&addr, &NetConfig::new("web").secret("a guess"), Arc::new(Quiet)).await;
    /// assert!(matches!(wrong, Err(NetError::Handshake { .. })));
    /// let right = NetConfig::new("web").secret("a long random string");
    /// assert_eq!(net::connect(&addr, &right, Arc::new(Quiet)).await?.peer_name(), "billing");
    /// # Ok(()) }
    /// ```
    pub fn secret(mut self, secret: impl Into<String>) -> Self {
        self.secret = Some(Secret::new(secret));
        self
    }

    /// Lets a TCP listener accept peers without a shared secret. Off by
    /// default; turn it on only where the network itself is trusted.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use dispatchio_net::{self as net, Address, Link, LinkEvents, NetConfig, Payload};
    /// # struct Quiet; // hears nothing
    /// # impl LinkEvents for Quiet { async fn received(&self, _: &Link, _: Payload) {} }
    /// # fn socket(name: &str) -> Address {
    /// #     let path = std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id()));
    /// #     format!("unix:{}", path.display()).parse().unwrap()
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_net::NetError;
    /// let any_port: Address = "tcp:127.0.0.1:0".parse()?;
    /// let refused = net::listen(&any_port, &NetConfig::new("dev"), Arc::new(Quiet)).await;
    /// assert!(matches!(refused, Err(NetError::ListenerNeedsSecret { .. })));
    /// let trusted = NetConfig::new("dev").allow_unauthenticated(true).allow_plaintext(true);
    /// let listening = net::listen(&any_port, &trusted, Arc::new(Quiet)).await?;
    /// let link = net::connect(listening.local_addr(), &NetConfig::new("web"), Arc::new(Quiet)).await?;
    /// assert_eq!(link.peer_name(), "dev");
    /// # Ok(()) }
    /// ```
    pub fn allow_unauthenticated(mut self, allow: bool) -> Self {
        self.allow_unauthenticated = allow;
        self
    }

    /// Says that a `tcp:` listener is meant to be plaintext (loopback, or
    /// a network protected otherwise): it then logs so at `info` level
    /// instead of warning, at start, that anyone who can see its traffic
    /// reads every message. Off by default.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use dispatchio_net::{self as net, Address, Link, LinkEvents, NetConfig, Payload};
    /// # struct Quiet; // hears nothing
    /// # impl LinkEvents for Quiet { async fn received(&self, _: &Link, _: Payload) {} }
    /// # fn socket(name: &str) -> Address {
    /// #     let path = std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id()));
    /// #     format!("unix:{}", path.display()).parse().unwrap()
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # #[derive(Clone, Default)]
    /// # struct Log(Arc<std::sync::Mutex<Vec<u8>>>);
    /// # impl std::io::Write for Log {
    /// #     fn write(&mut self, b: &[u8]) -> std::io::Result<usize> { self.0.lock().unwrap().extend_from_slice(b); Ok(b.len()) }
    /// #     fn flush(&mut self) -> std::io::Result<()> { Ok(()) }
    /// # }
    /// # let log = Log::default();
    /// # let writer = log.clone();
    /// # use tracing_subscriber::util::SubscriberInitExt as _;
    /// # let _logging = tracing_subscriber::fmt().with_writer(move || writer.clone()).with_ansi(false).set_default();
    /// # let logged = || String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    /// let loopback: Address = "tcp:127.0.0.1:0".parse()?;
    /// let dev = NetConfig::new("dev").allow_unauthenticated(true);
    /// let _warned = net::listen(&loopback, &dev, Arc::new(Quiet)).await?;
    /// assert!(logged().contains("WARN") && logged().contains("anyone who can see this traffic"));
    /// let _quiet = net::listen(&loopback, &dev.allow_plaintext(true), Arc::new(Quiet)).await?;
    /// assert_eq!(logged().matches("WARN").count(), 1); // the second said so at `info`
    /// # Ok(()) }
    /// ```
    pub fn allow_plaintext(mut self, allow: bool) -> Self {
        self.allow_plaintext = allow;
        self
    }

    /// The TLS settings used by `tls:` addresses (a listener's certificate,
    /// the roots or pinned certificate a dialler trusts, client
    /// certificates); other addresses ignore them.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use dispatchio_net::{self as net, Address, Link, LinkEvents, NetConfig, Payload};
    /// # struct Quiet; // hears nothing
    /// # impl LinkEvents for Quiet { async fn received(&self, _: &Link, _: Payload) {} }
    /// # fn socket(name: &str) -> Address {
    /// #     let path = std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id()));
    /// #     format!("unix:{}", path.display()).parse().unwrap()
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_net::{NetError, Tls};
    /// let rcgen::CertifiedKey { cert, key_pair } = rcgen::generate_simple_self_signed(["localhost".to_owned()])?;
    /// let (cert, key) = (cert.pem(), key_pair.serialize_pem());
    /// let identity = Tls::new().identity_pem(cert.as_bytes(), key.as_bytes())?;
    /// let server = NetConfig::new("billing").secret("a long random string").tls(identity);
    /// let listening = net::listen(&"tls:localhost:0".parse()?, &server, Arc::new(Quiet)).await?;
    /// let addr = listening.local_addr();
    /// let client = NetConfig::new("web").secret("a long random string");
    /// // A `tls:` address needs TLS settings: whom to trust.
    /// let untrusting = net::connect(addr, &client, Arc::new(Quiet)).await;
    /// assert!(matches!(untrusting, Err(NetError::Tls { .. })));
    /// let pinned = client.tls(Tls::new().pin_pem(cert.as_bytes())?);
    /// assert_eq!(net::connect(addr, &pinned, Arc::new(Quiet)).await?.peer_name(), "billing");
    /// # Ok(()) }
    /// ```
    pub fn tls(mut self, tls: Tls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// The largest frame accepted or sent, in bytes (at least 64). The
    /// handshake's own frames (names, nonces, proofs) may take up to 4 KiB
    /// whatever this says, so that a small limit never stops a link from
    /// being made.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use dispatchio_net::{self as net, Address, Link, LinkEvents, NetConfig, Payload};
    /// # struct Quiet; // hears nothing
    /// # impl LinkEvents for Quiet { async fn received(&self, _: &Link, _: Payload) {} }
    /// # fn socket(name: &str) -> Address {
    /// #     let path = std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id()));
    /// #     format!("unix:{}", path.display()).parse().unwrap()
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_net::{SendError, WireContent, WireMessage};
    /// let addr = socket("max-frame");
    /// let _listening = net::listen(&addr, &NetConfig::new("billing"), Arc::new(Quiet)).await?;
    /// let small = NetConfig::new("web").max_frame_len(1024);
    /// let link = net::connect(&addr, &small, Arc::new(Quiet)).await?;
    /// let big = WireContent::encode("Text", &"x".repeat(2000))?;
    /// let message = WireMessage::new(1, "Text", Some(big));
    /// let refused = link.try_send(Payload::Message(message));
    /// assert!(matches!(refused, Err(SendError::TooLarge { max: 1024, .. })), "{refused:?}");
    /// # Ok(()) }
    /// ```
    pub fn max_frame_len(mut self, bytes: usize) -> Self {
        self.max_frame_len = bytes.max(64);
        self
    }

    /// How many messages (and announcements) a link queues for sending (at
    /// least 1). A full queue makes [`Link::send`] wait and
    /// [`Link::try_send`] fail; while the link is down, both fail once it
    /// is full.
    ///
    /// One destination cannot lock the others out: past this bound, a
    /// quarter as many frames again are kept for destinations that have
    /// few queued (at most an eighth of that room each), so a message to
    /// another destination finds room while one destination's flood fills
    /// the queue.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use dispatchio_net::{self as net, Address, Link, LinkEvents, NetConfig, Payload};
    /// # struct Quiet; // hears nothing
    /// # impl LinkEvents for Quiet { async fn received(&self, _: &Link, _: Payload) {} }
    /// # fn socket(name: &str) -> Address {
    /// #     let path = std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id()));
    /// #     format!("unix:{}", path.display()).parse().unwrap()
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_net::{Announcement, SendError, WireId};
    /// let addr = socket("queue");
    /// let _listening = net::listen(&addr, &NetConfig::new("billing"), Arc::new(Quiet)).await?;
    /// let link = net::connect(&addr, &NetConfig::new("web").queue_capacity(2), Arc::new(Quiet)).await?;
    /// let serve = |id| Payload::Announce(vec![Announcement::Serve(WireId::Int(id))]);
    /// // No `.await` in between, so the link's writer (a task of this one thread) takes nothing yet.
    /// link.try_send(serve(1))?;
    /// link.try_send(serve(2))?;
    /// assert!(matches!(link.try_send(serve(3)), Err(SendError::Full { capacity: 2 })));
    /// # Ok(()) }
    /// ```
    pub fn queue_capacity(mut self, frames: usize) -> Self {
        self.queue_capacity = frames.max(1);
        self
    }

    /// How many replies to the peer's requests a link queues (at least 1;
    /// by default as many as [`queue_capacity`](Self::queue_capacity)),
    /// apart from the messages, so that neither starves the other. A reply
    /// that finds this full is refused like a message.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use dispatchio_net::{self as net, Address, Link, LinkEvents, NetConfig, Payload};
    /// # struct Quiet; // hears nothing
    /// # impl LinkEvents for Quiet { async fn received(&self, _: &Link, _: Payload) {} }
    /// # fn socket(name: &str) -> Address {
    /// #     let path = std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id()));
    /// #     format!("unix:{}", path.display()).parse().unwrap()
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_net::{Announcement, ReplyResult, SendError, WireId, WireReply};
    /// let addr = socket("replies");
    /// let _listening = net::listen(&addr, &NetConfig::new("billing"), Arc::new(Quiet)).await?;
    /// let link = net::connect(&addr, &NetConfig::new("web").reply_capacity(1), Arc::new(Quiet)).await?;
    /// let reply = |to| Payload::Reply(WireReply { to, result: ReplyResult::Ok(None) });
    /// // No `.await` in between, so the link's writer (a task of this one thread) takes nothing yet.
    /// link.try_send(reply(1))?;
    /// assert!(matches!(link.try_send(reply(2)), Err(SendError::Full { capacity: 1 })));
    /// // The replies' queue is full; the messages' is not.
    /// link.try_send(Payload::Announce(vec![Announcement::Serve(WireId::Int(1))]))?;
    /// # Ok(()) }
    /// ```
    pub fn reply_capacity(mut self, frames: usize) -> Self {
        self.reply_capacity = Some(frames.max(1));
        self
    }

    /// The most announcements one frame from the peer may list (at least
    /// 1; default [`DEFAULT_MAX_ANNOUNCEMENTS`]). A frame listing more is
    /// refused whole, before it is decoded when its header says so: logged,
    /// reported through [`LinkEvents::announcement_refused`], and the link
    /// carries on. A peer's snapshot of what it serves is one frame, so this
    /// also bounds what a peer may serve when it connects.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use dispatchio_net::{self as net, Address, Link, LinkEvents, NetConfig, Payload};
    /// # struct Quiet; // hears nothing
    /// # impl LinkEvents for Quiet { async fn received(&self, _: &Link, _: Payload) {} }
    /// # fn socket(name: &str) -> Address {
    /// #     let path = std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id()));
    /// #     format!("unix:{}", path.display()).parse().unwrap()
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_net::{Announcement, WireId};
    /// /// Tells how many entries a refused announcement frame listed.
    /// struct Refusals(tokio::sync::mpsc::UnboundedSender<usize>);
    /// impl LinkEvents for Refusals {
    ///     async fn received(&self, _: &Link, _: Payload) {}
    ///     fn announcement_refused(&self, _: &Link, entries: usize) {
    ///         let _ = self.0.send(entries);
    ///     }
    /// }
    /// let (tx, mut refused) = tokio::sync::mpsc::unbounded_channel();
    /// let addr = socket("announcements");
    /// let listener = NetConfig::new("billing").max_announcements(2);
    /// let _listening = net::listen(&addr, &listener, Arc::new(Refusals(tx))).await?;
    /// let link = net::connect(&addr, &NetConfig::new("web"), Arc::new(Quiet)).await?;
    /// let serve = |ids: std::ops::Range<i64>| ids.map(|i| Announcement::Serve(WireId::Int(i))).collect();
    /// link.send(Payload::Announce(serve(0..2))).await?; // taken
    /// link.send(Payload::Announce(serve(0..3))).await?; // refused whole
    /// assert_eq!(refused.recv().await, Some(3));
    /// # Ok(()) }
    /// ```
    pub fn max_announcements(mut self, entries: usize) -> Self {
        self.max_announcements = entries.max(1);
        self
    }

    /// How long a handshake may take before the connection is dropped.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use dispatchio_net::{self as net, Address, Link, LinkEvents, NetConfig, Payload};
    /// # struct Quiet; // hears nothing
    /// # impl LinkEvents for Quiet { async fn received(&self, _: &Link, _: Payload) {} }
    /// # fn socket(name: &str) -> Address {
    /// #     let path = std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id()));
    /// #     format!("unix:{}", path.display()).parse().unwrap()
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// use dispatchio_net::{HandshakeError, NetError};
    /// // Something that accepts connections and never says a word.
    /// let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let addr: Address = format!("tcp:{}", silent.local_addr()?).parse()?;
    /// tokio::spawn(async move {
    ///     let mut open = Vec::new(); // held open, never answered
    ///     while let Ok((conn, _)) = silent.accept().await {
    ///         open.push(conn);
    ///     }
    /// });
    /// let impatient = NetConfig::new("web").handshake_timeout(Duration::from_millis(50));
    /// let err = net::connect(&addr, &impatient, Arc::new(Quiet)).await.unwrap_err();
    /// assert!(matches!(err, NetError::Handshake { source: HandshakeError::Timeout { .. }, .. }), "{err}");
    /// # Ok(()) }
    /// ```
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Reconnect delays of a dialled link: the first retry waits `initial`,
    /// each failure doubles the wait, up to `max`.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use dispatchio_net::{self as net, Address, Link, LinkEvents, NetConfig, Payload};
    /// # struct Quiet; // hears nothing
    /// # impl LinkEvents for Quiet { async fn received(&self, _: &Link, _: Payload) {} }
    /// # fn socket(name: &str) -> Address {
    /// #     let path = std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id()));
    /// #     format!("unix:{}", path.display()).parse().unwrap()
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// use dispatchio_net::LinkState;
    /// let addr = socket("backoff");
    /// let listening = net::listen(&addr, &NetConfig::new("billing"), Arc::new(Quiet)).await?;
    /// let eager = NetConfig::new("web").reconnect_backoff(Duration::from_millis(10), Duration::from_millis(100));
    /// let link = net::connect(&addr, &eager, Arc::new(Quiet)).await?;
    /// let mut state = link.watch_state();
    /// listening.close().await; // the listener goes away (a restart, say)
    /// state.wait_for(|s| *s == LinkState::Down).await?;
    /// let _back = net::listen(&addr, &NetConfig::new("billing"), Arc::new(Quiet)).await?;
    /// // The dialled link redials by itself, every 10 ms, then 20, 40, up to 100 ms.
    /// tokio::time::timeout(Duration::from_secs(10), state.wait_for(|s| *s == LinkState::Up)).await??;
    /// # Ok(()) }
    /// ```
    pub fn reconnect_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.backoff_initial = initial;
        self.backoff_max = max.max(initial);
        self
    }

    /// The keep-alive interval, or `None` to send no pings and rely on the
    /// operating system to report a dead peer.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use dispatchio_net::{self as net, Address, Link, LinkEvents, NetConfig, Payload};
    /// # struct Quiet; // hears nothing
    /// # impl LinkEvents for Quiet { async fn received(&self, _: &Link, _: Payload) {} }
    /// # fn socket(name: &str) -> Address {
    /// #     let path = std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id()));
    /// #     format!("unix:{}", path.display()).parse().unwrap()
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// use dispatchio_net::{DownReason, PeerLost};
    /// /// A listener that stops answering anything once a peer is up: it blocks its one thread.
    /// struct Frozen;
    /// impl LinkEvents for Frozen {
    ///     async fn received(&self, _: &Link, _: Payload) {}
    ///     fn link_up(&self, _: &Link) {
    ///         std::thread::sleep(Duration::from_secs(5));
    ///     }
    /// }
    /// /// Tells why a link went down.
    /// struct Downs(tokio::sync::mpsc::UnboundedSender<DownReason>);
    /// impl LinkEvents for Downs {
    ///     async fn received(&self, _: &Link, _: Payload) {}
    ///     fn link_down(&self, _: &Link, lost: &PeerLost) {
    ///         let _ = self.0.send(lost.reason.clone());
    ///     }
    /// }
    /// let addr = socket("keepalive");
    /// let (up, listening) = std::sync::mpsc::channel();
    /// let at = addr.clone();
    /// std::thread::spawn(move || {
    ///     let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    ///     rt.block_on(async move {
    ///         let _acceptor = net::listen(&at, &NetConfig::new("billing"), Arc::new(Frozen)).await.unwrap();
    ///         up.send(()).unwrap();
    ///         tokio::time::sleep(Duration::from_secs(6)).await;
    ///     });
    /// });
    /// listening.recv()?;
    /// let (tx, mut downs) = tokio::sync::mpsc::unbounded_channel();
    /// let watchful = NetConfig::new("web").keepalive(Some(Duration::from_millis(50)));
    /// let _link = net::connect(&addr, &watchful, Arc::new(Downs(tx))).await?;
    /// // Nothing heard for three intervals: the peer is lost (not at the OS's pace).
    /// let reason = downs.recv().await;
    /// assert!(matches!(reason, Some(DownReason::KeepaliveTimeout { .. })), "{reason:?}");
    /// # Ok(()) }
    /// ```
    pub fn keepalive(mut self, interval: Option<Duration>) -> Self {
        self.keepalive = interval;
        self
    }
}
