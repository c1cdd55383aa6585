//! [`NatsConfig`]: where the cluster is, who this dispatcher is on it, and
//! how it proves who may connect.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use dispatchio_core::ContentRegistry;

/// How a dispatcher joins a NATS cluster ([`NatsExt::join_nats`](crate::NatsExt::join_nats)).
///
/// ```
/// use std::time::Duration;
/// use dispatchio_nats::NatsConfig;
///
/// let config = NatsConfig::new("nats://10.0.0.1:4222")
///     .url("nats://10.0.0.2:4222") // another server of the cluster
///     .namespace("game")
///     .name("dealer")
///     .user_and_password("dealer", "a long random string")
///     .connect_timeout(Duration::from_secs(2));
/// ```
#[derive(Clone)]
pub struct NatsConfig {
    pub(crate) urls: Vec<String>,
    pub(crate) namespace: String,
    pub(crate) name: Option<String>,
    pub(crate) auth: Auth,
    pub(crate) tls: Tls,
    pub(crate) connect_timeout: Duration,
    pub(crate) queue_capacity: usize,
    pub(crate) registry: Arc<ContentRegistry>,
    pub(crate) delivery: Delivery,
    pub(crate) ack_wait: Duration,
    pub(crate) stream_replicas: Option<usize>,
}

/// How messages to destination IDs travel between dispatchers: chosen per
/// dispatcher with [`NatsConfig::delivery`].
///
/// ```
/// use dispatchio_nats::{Delivery, NatsConfig};
///
/// let config = NatsConfig::new("nats://127.0.0.1:4222").delivery(Delivery::JetStream);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Delivery {
    /// Core NATS: at most once, the fastest. A message in flight to a
    /// dispatcher that dies is lost (a request waiting for it fails with
    /// `PeerLost`).
    #[default]
    Core,
    /// JetStream: at least once. Messages to destinations go through the
    /// namespace's stream and are acknowledged once the listener has
    /// handled them; a dispatcher killed without leaving gets what it had
    /// not acknowledged again when it joins again under the same name.
    /// Group messages go into the stream once for each dispatcher with
    /// members in JetStream mode, and are acknowledged there once every
    /// local member has handled them. Needs a server with JetStream.
    /// Claims still travel as in [`Core`](Delivery::Core), for now.
    JetStream,
}

/// How the client proves who it is.
#[derive(Clone, Default)]
pub(crate) enum Auth {
    #[default]
    None,
    Token(String),
    UserPassword(String, String),
    NKey(String),
    CredentialsFile(PathBuf),
}

/// TLS settings, passed through to async-nats.
#[derive(Clone, Default)]
pub(crate) struct Tls {
    pub(crate) required: bool,
    pub(crate) root_certificates: Vec<PathBuf>,
    pub(crate) client_certificate: Option<(PathBuf, PathBuf)>,
}

impl std::fmt::Debug for NatsConfig {
    // By hand: the token, password and seed never appear in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let auth = match &self.auth {
            Auth::None => "none",
            Auth::Token(_) => "token",
            Auth::UserPassword(..) => "user and password",
            Auth::NKey(_) => "nkey",
            Auth::CredentialsFile(_) => "credentials file",
        };
        f.debug_struct("NatsConfig")
            .field("urls", &self.urls)
            .field("namespace", &self.namespace)
            .field("name", &self.name)
            .field("auth", &auth)
            .field("tls_required", &self.tls.required)
            .field("connect_timeout", &self.connect_timeout)
            .field("queue_capacity", &self.queue_capacity)
            .field("delivery", &self.delivery)
            .field("ack_wait", &self.ack_wait)
            .field("stream_replicas", &self.stream_replicas)
            .finish_non_exhaustive()
    }
}

impl NatsConfig {
    /// Joins the cluster at `url` (`nats://host:port`, `tls://…`; several
    /// separated by commas), in the namespace `dispatchio`, under a name
    /// made up at each join, without credentials, with a 5 s connect
    /// timeout, room for 8,192 messages waiting to be published, and
    /// [`Delivery::Core`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::Dispatcher;
    /// use dispatchio_nats::{NatsConfig, NatsErrorKind, NatsExt};
    /// use std::time::Duration;
    /// // Nobody listens on port 1: joining fails, saying where it tried.
    /// let config = NatsConfig::new("nats://127.0.0.1:1").connect_timeout(Duration::from_millis(200));
    /// let err = Dispatcher::new().join_nats(config).await.unwrap_err();
    /// assert!(matches!(err.kind(), NatsErrorKind::Unreachable | NatsErrorKind::Timeout), "{err}");
    /// assert!(err.to_string().starts_with("cannot connect to NATS at nats://127.0.0.1:1"));
    /// # Ok(()) }
    /// ```
    pub fn new(url: impl Into<String>) -> NatsConfig {
        NatsConfig {
            urls: Vec::new(),
            namespace: "dispatchio".to_owned(),
            name: None,
            auth: Auth::None,
            tls: Tls::default(),
            connect_timeout: Duration::from_secs(5),
            queue_capacity: 8192,
            registry: Arc::new(ContentRegistry::new()),
            delivery: Delivery::Core,
            ack_wait: Duration::from_secs(30),
            stream_replicas: None,
        }
        .url(url)
    }

    /// Another server of the cluster: the client connects to any of them,
    /// and reconnects to another when its server goes.
    ///
    /// ```
    /// use dispatchio_nats::NatsConfig;
    /// let config = NatsConfig::new("nats://10.0.0.1:4222").url("nats://10.0.0.2:4222, nats://10.0.0.3:4222");
    /// let shown = format!("{config:?}");
    /// assert!(shown.contains(r#"urls: ["nats://10.0.0.1:4222", "nats://10.0.0.2:4222", "nats://10.0.0.3:4222"]"#));
    /// ```
    pub fn url(mut self, url: impl Into<String>) -> NatsConfig {
        let url = url.into();
        self.urls
            .extend(url.split(',').map(str::trim).filter(|u| !u.is_empty()).map(str::to_owned));
        self
    }

    /// The namespace the dispatchers sharing the cluster agree on (see
    /// [`Namespace`](crate::Namespace)); checked by `join_nats`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::Dispatcher;
    /// use dispatchio_nats::{NatsConfig, NatsErrorKind, NatsExt};
    /// let config = NatsConfig::new("nats://127.0.0.1:4222").namespace("game room");
    /// // Refused before any connection is tried.
    /// let err = Dispatcher::new().join_nats(config).await.unwrap_err();
    /// assert_eq!(err.kind(), NatsErrorKind::Namespace);
    /// assert!(err.to_string().contains("invalid NATS namespace \"game room\""), "{err}");
    /// # Ok(()) }
    /// ```
    pub fn namespace(mut self, namespace: impl Into<String>) -> NatsConfig {
        self.namespace = namespace.into();
        self
    }

    /// This dispatcher's name on the cluster: in logs, in the conflicts
    /// other dispatchers report, and as the client's name on the server.
    /// Unique among the dispatchers of the namespace; by default made up
    /// from the process ID and a random part at each join.
    ///
    /// ```
    /// use dispatchio_nats::NatsConfig;
    /// let config = NatsConfig::new("nats://127.0.0.1:4222").namespace("game").name("dealer");
    /// assert!(format!("{config:?}").contains(r#"name: Some("dealer")"#));
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> NatsConfig {
        self.name = Some(name.into());
        self
    }

    /// Authenticates with a token.
    ///
    /// ```
    /// use dispatchio_nats::NatsConfig;
    /// let config = NatsConfig::new("nats://127.0.0.1:4222").token("s3cret-token");
    /// let logged = format!("{config:?}");
    /// assert!(logged.contains(r#"auth: "token""#) && !logged.contains("s3cret")); // never in logs
    /// ```
    pub fn token(mut self, token: impl Into<String>) -> NatsConfig {
        self.auth = Auth::Token(token.into());
        self
    }

    /// Authenticates with a user name and a password.
    ///
    /// ```
    /// use dispatchio_nats::NatsConfig;
    /// let config = NatsConfig::new("nats://127.0.0.1:4222").user_and_password("dealer", "s3cret");
    /// let logged = format!("{config:?}");
    /// assert!(logged.contains(r#"auth: "user and password""#) && !logged.contains("s3cret"));
    /// ```
    pub fn user_and_password(
        mut self,
        user: impl Into<String>,
        password: impl Into<String>,
    ) -> NatsConfig {
        self.auth = Auth::UserPassword(user.into(), password.into());
        self
    }

    /// Authenticates with an NKey, by its seed (`SU…`).
    ///
    /// ```
    /// use dispatchio_nats::NatsConfig;
    /// let seed = "SUACSSL3UAHUDXKFSNVUZRF5UHPMWZ6BFDTJ7M6USDXIEDNPPQYYYCU3VY"; // a user seed, `SU…`
    /// let logged = format!("{:?}", NatsConfig::new("nats://127.0.0.1:4222").nkey(seed));
    /// assert!(logged.contains(r#"auth: "nkey""#) && !logged.contains(seed));
    /// ```
    pub fn nkey(mut self, seed: impl Into<String>) -> NatsConfig {
        self.auth = Auth::NKey(seed.into());
        self
    }

    /// Authenticates with a credentials file (a user JWT and its NKey seed,
    /// as `nsc` writes them); read by `join_nats`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::Dispatcher;
    /// use dispatchio_nats::{NatsConfig, NatsErrorKind, NatsExt};
    /// let config = NatsConfig::new("nats://127.0.0.1:4222").credentials_file("/no/such/dealer.creds");
    /// // Read before any connection is tried; the error names the file.
    /// let err = Dispatcher::new().join_nats(config).await.unwrap_err();
    /// assert_eq!(err.kind(), NatsErrorKind::Credentials);
    /// assert!(err.to_string().contains("/no/such/dealer.creds"), "{err}");
    /// # Ok(()) }
    /// ```
    pub fn credentials_file(mut self, path: impl Into<PathBuf>) -> NatsConfig {
        self.auth = Auth::CredentialsFile(path.into());
        self
    }

    /// Requires TLS (also implied by a `tls://` URL).
    ///
    /// ```
    /// use dispatchio_nats::NatsConfig;
    /// let config = NatsConfig::new("nats://nats.internal:4222").require_tls(true);
    /// assert!(format!("{config:?}").contains("tls_required: true"));
    /// ```
    pub fn require_tls(mut self, required: bool) -> NatsConfig {
        self.tls.required = required;
        self
    }

    /// A PEM file of root certificates to trust besides the system's.
    ///
    /// ```
    /// use dispatchio_core::Dispatcher;
    /// use dispatchio_nats::{NatsConfig, NatsExt};
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let config = NatsConfig::new("tls://nats.internal:4222").tls_root_certificates("/etc/dispatchio/ca.pem");
    /// let nats = Dispatcher::new().join_nats(config).await?; // trusts servers signed by that CA
    /// # drop(nats); Ok(()) }
    /// ```
    pub fn tls_root_certificates(mut self, path: impl Into<PathBuf>) -> NatsConfig {
        self.tls.root_certificates.push(path.into());
        self
    }

    /// A client certificate and its key (PEM files), for servers that
    /// verify clients.
    ///
    /// ```
    /// use dispatchio_core::Dispatcher;
    /// use dispatchio_nats::{NatsConfig, NatsExt};
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let config = NatsConfig::new("tls://nats.internal:4222")
    ///     .tls_root_certificates("/etc/dispatchio/ca.pem")
    ///     .tls_client_certificate("/etc/dispatchio/dealer.pem", "/etc/dispatchio/dealer.key");
    /// let nats = Dispatcher::new().join_nats(config).await?; // the server checks who we are
    /// # drop(nats); Ok(()) }
    /// ```
    pub fn tls_client_certificate(
        mut self,
        cert: impl Into<PathBuf>,
        key: impl Into<PathBuf>,
    ) -> NatsConfig {
        self.tls.client_certificate = Some((cert.into(), key.into()));
        self
    }

    /// How long `join_nats` may take to connect (and each reconnect
    /// attempt) before it fails (at least 1 ms).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::Dispatcher;
    /// use dispatchio_nats::{NatsConfig, NatsErrorKind, NatsExt};
    /// use std::time::Duration;
    /// // 192.0.2.1 is reserved for documentation: nothing answers there.
    /// let config = NatsConfig::new("nats://192.0.2.1:4222").connect_timeout(Duration::from_millis(50));
    /// let started = std::time::Instant::now();
    /// let err = Dispatcher::new().join_nats(config).await.unwrap_err();
    /// assert!(matches!(err.kind(), NatsErrorKind::Timeout | NatsErrorKind::Unreachable), "{err}");
    /// assert!(started.elapsed() < Duration::from_secs(5)); // not the default 5 s per attempt, twice
    /// # Ok(()) }
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> NatsConfig {
        self.connect_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// How many messages (and replies) may wait to be published (at least
    /// 1). A send that finds it full fails to its sender with
    /// [`TransportErrorKind::Full`](dispatchio_core::TransportErrorKind::Full).
    ///
    /// ```
    /// use dispatchio_nats::NatsConfig;
    /// let config = NatsConfig::new("nats://127.0.0.1:4222").queue_capacity(0); // at least 1
    /// assert!(format!("{config:?}").contains("queue_capacity: 1"));
    /// ```
    pub fn queue_capacity(mut self, messages: usize) -> NatsConfig {
        self.queue_capacity = messages.max(1);
        self
    }

    /// The Rust types incoming content is decoded into, by type name
    /// (others arrive as [`DynContent`](dispatchio_core::DynContent)).
    ///
    /// ```
    /// use dispatchio_core::{ContentRegistry, Dispatcher, Message, Text};
    /// use dispatchio_nats::{NatsConfig, NatsExt};
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut registry = ContentRegistry::new();
    /// registry.register::<Text>(); // what other dispatchers send us as "Text" is a `Text` here
    /// let dispatcher = Dispatcher::new();
    /// let _nats = dispatcher.join_nats(NatsConfig::new("nats://127.0.0.1:4222").registry(registry)).await?;
    /// let reply = dispatcher.request(Message::new(Text::from("hi")).to("echo"), None).await?;
    /// assert!(reply.content_as::<Text>().is_some()); // not `DynContent`
    /// # Ok(()) }
    /// ```
    pub fn registry(mut self, registry: ContentRegistry) -> NatsConfig {
        self.registry = Arc::new(registry);
        self
    }

    /// How messages to destination IDs travel: [`Delivery::Core`] (the
    /// default) or [`Delivery::JetStream`].
    ///
    /// ```
    /// use dispatchio_nats::{Delivery, NatsConfig};
    /// let config = NatsConfig::new("nats://127.0.0.1:4222").delivery(Delivery::JetStream);
    /// assert!(format!("{config:?}").contains("delivery: JetStream"));
    /// assert_eq!(Delivery::default(), Delivery::Core);
    /// ```
    pub fn delivery(mut self, delivery: Delivery) -> NatsConfig {
        self.delivery = delivery;
        self
    }

    /// In JetStream mode, how long a message given to this dispatcher may
    /// stay unacknowledged before JetStream gives it again (at least 1 ms;
    /// 30 s by default). A message still being handled when it passes is
    /// not handled twice (it is marked as in progress). A restarted
    /// dispatcher does not wait for it: what its previous life was given
    /// and had not acknowledged comes at once.
    ///
    /// ```
    /// use std::time::Duration;
    /// use dispatchio_nats::{Delivery, NatsConfig};
    /// let config = NatsConfig::new("nats://127.0.0.1:4222")
    ///     .delivery(Delivery::JetStream)
    ///     .ack_wait(Duration::ZERO); // at least 1 ms
    /// assert!(format!("{config:?}").contains("ack_wait: 1ms"));
    /// ```
    pub fn ack_wait(mut self, wait: Duration) -> NatsConfig {
        self.ack_wait = wait.max(Duration::from_millis(1));
        self
    }

    /// In JetStream mode, on how many servers the namespace's stream (and
    /// so its consumers) is kept, when this dispatcher is the one that
    /// creates it (1 to 5). By default 3 when the server is part of a
    /// cluster, falling back to 1 (with a warning) when the cluster cannot
    /// hold 3, and 1 on a server alone. A stream that exists already keeps
    /// its own.
    ///
    /// ```
    /// use dispatchio_nats::{Delivery, NatsConfig};
    /// let config = NatsConfig::new("nats://10.0.0.1:4222,nats://10.0.0.2:4222")
    ///     .delivery(Delivery::JetStream)
    ///     .stream_replicas(9); // at most 5
    /// assert!(format!("{config:?}").contains("stream_replicas: Some(5)"));
    /// ```
    pub fn stream_replicas(mut self, replicas: usize) -> NatsConfig {
        self.stream_replicas = Some(replicas.clamp(1, 5));
        self
    }
}
