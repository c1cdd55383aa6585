//! [`NetExt`]: listening and dialling from a [`Dispatcher`], and the
//! handles that gives ([`RemoteAcceptor`], [`Peer`]).

use std::future::Future;
use std::sync::Arc;

use super::{Events, Peers, RemoteConfig, RemoteStats};
use crate::link::{self as netlink, LinkState};
use crate::{Address, NetError};
use dispatchio_core::Dispatcher;

/// A listening socket of a dispatcher; peers that connect become links.
///
/// ```
/// # fn echo() -> std::sync::Arc<dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>> {
/// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
/// #     use dispatchio_core::{Message, Reply};
/// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::call("echo")]).build().unwrap();
/// #     let echo = |m: &Message| Ok(Reply::Content(m.content().clone()));
/// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).handler("echo", echo).build().unwrap())
/// # }
/// # fn socket(name: &str) -> String {
/// #     format!("unix:{}", std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id())).display())
/// # }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use dispatchio_core::{Dispatcher, Message, Text};
/// use dispatchio_net::{NetExt, RemoteConfig};
/// let (server, client) = (Dispatcher::new(), Dispatcher::new());
/// server.register("echo", echo())?;
/// let listening = server.listen_with(&socket("acceptor"), &RemoteConfig::new("billing")).await?;
/// # let mut registry = dispatchio_core::ContentRegistry::new();
/// # registry.register::<Text>(); // replies decode into `Text`
/// # let web = RemoteConfig::new("web").registry(registry);
/// let peer = client.connect_with(&socket("acceptor"), &web).await?;
/// assert!(client.wait_for_destination("echo", std::time::Duration::from_secs(5)).await);
/// drop(listening); // stops accepting; the link made stays up
/// let reply = client.request_as::<Text>(Message::new(Text::from("hi")).to("echo"), None).await?;
/// assert_eq!(reply.0, "hi");
/// # drop(peer);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct RemoteAcceptor {
    inner: netlink::Acceptor,
}

impl RemoteAcceptor {
    /// The address it listens on (for `tcp:…:0`, with the chosen port).
    ///
    /// ```
    /// # fn echo() -> std::sync::Arc<dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>> {
    /// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// #     use dispatchio_core::{Message, Reply};
    /// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::call("echo")]).build().unwrap();
    /// #     let echo = |m: &Message| Ok(Reply::Content(m.content().clone()));
    /// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).handler("echo", echo).build().unwrap())
    /// # }
    /// # fn socket(name: &str) -> String {
    /// #     format!("unix:{}", std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id())).display())
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::{Dispatcher, Message, Text};
    /// use dispatchio_net::{NetExt, RemoteConfig};
    /// let server = Dispatcher::new();
    /// let config = RemoteConfig::new("billing").secret("a long random string");
    /// let listening = server.listen_with("tcp:127.0.0.1:0", &config).await?;
    /// let addr = listening.local_addr().to_string(); // `tcp:127.0.0.1:<the port chosen>`
    /// assert!(addr.starts_with("tcp:127.0.0.1:") && !addr.ends_with(":0"));
    /// let peer = Dispatcher::new().connect_with(&addr, &RemoteConfig::new("web").secret("a long random string")).await?;
    /// assert!(peer.name().starts_with("billing/"));
    /// # Ok(()) }
    /// ```
    pub fn local_addr(&self) -> &Address {
        self.inner.local_addr()
    }

    /// The names of the peers connected through it.
    ///
    /// ```
    /// # fn echo() -> std::sync::Arc<dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>> {
    /// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// #     use dispatchio_core::{Message, Reply};
    /// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::call("echo")]).build().unwrap();
    /// #     let echo = |m: &Message| Ok(Reply::Content(m.content().clone()));
    /// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).handler("echo", echo).build().unwrap())
    /// # }
    /// # fn socket(name: &str) -> String {
    /// #     format!("unix:{}", std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id())).display())
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::{Dispatcher, Message, Text};
    /// use dispatchio_net::{NetExt, RemoteConfig};
    /// let (server, client) = (Dispatcher::new(), Dispatcher::new());
    /// server.register("echo", echo())?;
    /// let listening = server.listen_with(&socket("peers"), &RemoteConfig::new("billing")).await?;
    /// # let mut registry = dispatchio_core::ContentRegistry::new();
    /// # registry.register::<Text>(); // replies decode into `Text`
    /// # let web = RemoteConfig::new("web").registry(registry);
    /// let peer = client.connect_with(&socket("peers"), &web).await?;
    /// let accepted = listening.peers();
    /// assert_eq!(accepted.len(), 1);
    /// assert!(accepted[0].starts_with("web/link#"), "{accepted:?}");
    /// # drop(peer);
    /// # Ok(()) }
    /// ```
    pub fn peers(&self) -> Vec<String> {
        self.inner.links().iter().map(|l| format!("{}/{}", l.peer_name(), l.id())).collect()
    }

    /// Stops listening, and closes every link accepted through it (their
    /// pending requests fail).
    ///
    /// ```
    /// # fn echo() -> std::sync::Arc<dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>> {
    /// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// #     use dispatchio_core::{Message, Reply};
    /// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::call("echo")]).build().unwrap();
    /// #     let echo = |m: &Message| Ok(Reply::Content(m.content().clone()));
    /// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).handler("echo", echo).build().unwrap())
    /// # }
    /// # fn socket(name: &str) -> String {
    /// #     format!("unix:{}", std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id())).display())
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::{Dispatcher, Message, Text};
    /// use dispatchio_net::{NetExt, RemoteConfig};
    /// let (server, client) = (Dispatcher::new(), Dispatcher::new());
    /// server.register("echo", echo())?;
    /// let listening = server.listen_with(&socket("close"), &RemoteConfig::new("billing")).await?;
    /// # let mut registry = dispatchio_core::ContentRegistry::new();
    /// # registry.register::<Text>(); // replies decode into `Text`
    /// # let web = RemoteConfig::new("web").registry(registry);
    /// let peer = client.connect_with(&socket("close"), &web).await?;
    /// use dispatchio_net::LinkState;
    /// let mut state = peer.link().watch_state();
    /// listening.close().await; // the peer is told goodbye
    /// state.wait_for(|s| *s == LinkState::Down).await?; // and redials, in vain
    /// # Ok(()) }
    /// ```
    pub async fn close(self) {
        self.inner.close().await;
    }
}

/// A dialled peer: the link reconnects with backoff until closed.
///
/// ```
/// # fn echo() -> std::sync::Arc<dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>> {
/// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
/// #     use dispatchio_core::{Message, Reply};
/// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::call("echo")]).build().unwrap();
/// #     let echo = |m: &Message| Ok(Reply::Content(m.content().clone()));
/// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).handler("echo", echo).build().unwrap())
/// # }
/// # fn socket(name: &str) -> String {
/// #     format!("unix:{}", std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id())).display())
/// # }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use dispatchio_core::{Dispatcher, Message, Text};
/// use dispatchio_net::{NetExt, RemoteConfig};
/// let (server, client) = (Dispatcher::new(), Dispatcher::new());
/// server.register("echo", echo())?;
/// let listening = server.listen_with(&socket("peer"), &RemoteConfig::new("billing")).await?;
/// # let mut registry = dispatchio_core::ContentRegistry::new();
/// # registry.register::<Text>(); // replies decode into `Text`
/// # let web = RemoteConfig::new("web").registry(registry);
/// let peer = client.connect_with(&socket("peer"), &web).await?;
/// assert!(client.wait_for_destination("echo", std::time::Duration::from_secs(5)).await);
/// let reply = client.request_as::<Text>(Message::new(Text::from("hi")).to("echo"), None).await?;
/// assert_eq!(reply.0, "hi"); // answered in `server`
/// peer.close().await;
/// # drop(listening);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Peer {
    link: netlink::Link,
    name: String,
}

impl Peer {
    /// The link's name (`"<peer name>/link#<n>"`, from the first
    /// connection): the member ID it has in groups, and the name in
    /// [`Snapshot::remote`](dispatchio_core::Snapshot::remote).
    ///
    /// ```
    /// # fn echo() -> std::sync::Arc<dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>> {
    /// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// #     use dispatchio_core::{Message, Reply};
    /// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::call("echo")]).build().unwrap();
    /// #     let echo = |m: &Message| Ok(Reply::Content(m.content().clone()));
    /// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).handler("echo", echo).build().unwrap())
    /// # }
    /// # fn socket(name: &str) -> String {
    /// #     format!("unix:{}", std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id())).display())
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::{Dispatcher, Message, Text};
    /// use dispatchio_net::{NetExt, RemoteConfig};
    /// let (server, client) = (Dispatcher::new(), Dispatcher::new());
    /// server.register("echo", echo())?;
    /// let listening = server.listen_with(&socket("peer-name"), &RemoteConfig::new("billing")).await?;
    /// # let mut registry = dispatchio_core::ContentRegistry::new();
    /// # registry.register::<Text>(); // replies decode into `Text`
    /// # let web = RemoteConfig::new("web").registry(registry);
    /// let peer = client.connect_with(&socket("peer-name"), &web).await?;
    /// assert!(client.wait_for_destination("echo", std::time::Duration::from_secs(5)).await);
    /// assert!(peer.name().starts_with("billing/link#"));
    /// assert_eq!(client.snapshot().remote, [("echo".into(), peer.name().to_owned())]);
    /// # drop(listening);
    /// # Ok(()) }
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the connection is up, reconnecting, or closed.
    ///
    /// ```
    /// # fn echo() -> std::sync::Arc<dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>> {
    /// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// #     use dispatchio_core::{Message, Reply};
    /// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::call("echo")]).build().unwrap();
    /// #     let echo = |m: &Message| Ok(Reply::Content(m.content().clone()));
    /// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).handler("echo", echo).build().unwrap())
    /// # }
    /// # fn socket(name: &str) -> String {
    /// #     format!("unix:{}", std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id())).display())
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::{Dispatcher, Message, Text};
    /// use dispatchio_net::{NetExt, RemoteConfig};
    /// let (server, client) = (Dispatcher::new(), Dispatcher::new());
    /// server.register("echo", echo())?;
    /// let listening = server.listen_with(&socket("peer-state"), &RemoteConfig::new("billing")).await?;
    /// # let mut registry = dispatchio_core::ContentRegistry::new();
    /// # registry.register::<Text>(); // replies decode into `Text`
    /// # let web = RemoteConfig::new("web").registry(registry);
    /// let peer = client.connect_with(&socket("peer-state"), &web).await?;
    /// use dispatchio_net::LinkState;
    /// assert_eq!(peer.state(), LinkState::Up);
    /// peer.close().await;
    /// assert_eq!(peer.state(), LinkState::Closed);
    /// # drop(listening);
    /// # Ok(()) }
    /// ```
    pub fn state(&self) -> LinkState {
        self.link.state()
    }

    /// The network link underneath.
    ///
    /// ```
    /// # fn echo() -> std::sync::Arc<dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>> {
    /// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// #     use dispatchio_core::{Message, Reply};
    /// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::call("echo")]).build().unwrap();
    /// #     let echo = |m: &Message| Ok(Reply::Content(m.content().clone()));
    /// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).handler("echo", echo).build().unwrap())
    /// # }
    /// # fn socket(name: &str) -> String {
    /// #     format!("unix:{}", std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id())).display())
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::{Dispatcher, Message, Text};
    /// use dispatchio_net::{NetExt, RemoteConfig};
    /// let (server, client) = (Dispatcher::new(), Dispatcher::new());
    /// server.register("echo", echo())?;
    /// let listening = server.listen_with(&socket("peer-link"), &RemoteConfig::new("billing")).await?;
    /// # let mut registry = dispatchio_core::ContentRegistry::new();
    /// # registry.register::<Text>(); // replies decode into `Text`
    /// # let web = RemoteConfig::new("web").registry(registry);
    /// let peer = client.connect_with(&socket("peer-link"), &web).await?;
    /// use dispatchio_net::Direction;
    /// assert_eq!(peer.link().direction(), Direction::Dialled);
    /// assert_eq!(peer.link().peer_name(), "billing");
    /// # drop(listening);
    /// # Ok(()) }
    /// ```
    pub fn link(&self) -> &netlink::Link {
        &self.link
    }

    /// Closes the link for good: queued frames are written first; requests
    /// still waiting fail.
    ///
    /// ```
    /// # fn echo() -> std::sync::Arc<dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>> {
    /// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// #     use dispatchio_core::{Message, Reply};
    /// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::call("echo")]).build().unwrap();
    /// #     let echo = |m: &Message| Ok(Reply::Content(m.content().clone()));
    /// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).handler("echo", echo).build().unwrap())
    /// # }
    /// # fn socket(name: &str) -> String {
    /// #     format!("unix:{}", std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id())).display())
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::{Dispatcher, Message, Text};
    /// use dispatchio_net::{NetExt, RemoteConfig};
    /// let (server, client) = (Dispatcher::new(), Dispatcher::new());
    /// server.register("echo", echo())?;
    /// let listening = server.listen_with(&socket("peer-close"), &RemoteConfig::new("billing")).await?;
    /// # let mut registry = dispatchio_core::ContentRegistry::new();
    /// # registry.register::<Text>(); // replies decode into `Text`
    /// # let web = RemoteConfig::new("web").registry(registry);
    /// let peer = client.connect_with(&socket("peer-close"), &web).await?;
    /// assert!(client.wait_for_destination("echo", std::time::Duration::from_secs(5)).await);
    /// peer.close().await;
    /// // What the peer served is gone with it.
    /// assert!(client.send(Message::new(Text::from("hi")).to("echo")).is_err());
    /// # drop(listening);
    /// # Ok(()) }
    /// ```
    pub async fn close(&self) {
        self.link.close("closed by the application").await;
    }
}

/// Puts a [`Dispatcher`] on the network: listening on and dialling Unix
/// sockets and TCP addresses, and what the network side has seen.
///
/// An extension of the core's dispatcher (implemented for it alone), so
/// that the dispatcher knows nothing of sockets: bring it into scope with
/// `use dispatchio::net::NetExt;`.
///
/// ```
/// # fn echo() -> std::sync::Arc<dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>> {
/// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
/// #     use dispatchio_core::{Message, Reply};
/// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::call("echo")]).build().unwrap();
/// #     let echo = |m: &Message| Ok(Reply::Content(m.content().clone()));
/// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).handler("echo", echo).build().unwrap())
/// # }
/// # fn socket(name: &str) -> String {
/// #     format!("unix:{}", std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id())).display())
/// # }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use dispatchio_core::{Dispatcher, Message, Text};
/// use dispatchio_net::{NetExt, RemoteConfig};
/// let (server, client) = (Dispatcher::new(), Dispatcher::new());
/// server.register("echo", echo())?;
/// let listening = server.listen_with(&socket("net-ext"), &RemoteConfig::new("billing")).await?;
/// # let mut registry = dispatchio_core::ContentRegistry::new();
/// # registry.register::<Text>(); // replies decode into `Text`
/// # let web = RemoteConfig::new("web").registry(registry);
/// let peer = client.connect_with(&socket("net-ext"), &web).await?;
/// assert!(client.wait_for_destination("echo", std::time::Duration::from_secs(5)).await);
/// // The same call, the same results, as for a listener in this process.
/// let reply = client.request_as::<Text>(Message::new(Text::from("hi")).to("echo"), None).await?;
/// assert_eq!(reply.0, "hi");
/// # drop((listening, peer));
/// # Ok(()) }
/// ```
pub trait NetExt {
    /// Listens for peers at `addr` (`"unix:/run/app.sock"`,
    /// `"tcp:127.0.0.1:7400"`, `"tls:0.0.0.0:7400"`) with
    /// [`RemoteConfig::default`]. A TCP listener needs a secret and a `tls:`
    /// one a certificate: use [`listen_with`](Self::listen_with).
    ///
    /// # Errors
    ///
    /// [`NetError`]: a bad address, a socket path in use, a TCP listener
    /// without a secret, a `tls:` listener without usable TLS settings, a
    /// failed bind.
    ///
    /// ```
    /// # fn echo() -> std::sync::Arc<dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>> {
    /// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// #     use dispatchio_core::{Message, Reply};
    /// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::call("echo")]).build().unwrap();
    /// #     let echo = |m: &Message| Ok(Reply::Content(m.content().clone()));
    /// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).handler("echo", echo).build().unwrap())
    /// # }
    /// # fn socket(name: &str) -> String {
    /// #     format!("unix:{}", std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id())).display())
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::{Dispatcher, Message, Text};
    /// use dispatchio_net::{NetExt, RemoteConfig};
    /// let server = Dispatcher::new();
    /// server.register("echo", echo())?;
    /// let _listening = server.listen(&socket("listen")).await?; // an owner-only Unix socket
    /// let client = Dispatcher::new();
    /// let _peer = client.connect(&socket("listen")).await?;
    /// assert!(client.wait_for_destination("echo", std::time::Duration::from_secs(5)).await);
    /// // TCP without a secret is refused: see `listen_with`.
    /// assert!(server.listen("tcp:127.0.0.1:0").await.is_err());
    /// # Ok(()) }
    /// ```
    fn listen(&self, addr: &str) -> impl Future<Output = Result<RemoteAcceptor, NetError>> + Send;

    /// [`listen`](Self::listen) with a configuration.
    ///
    /// ```
    /// # fn echo() -> std::sync::Arc<dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>> {
    /// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// #     use dispatchio_core::{Message, Reply};
    /// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::call("echo")]).build().unwrap();
    /// #     let echo = |m: &Message| Ok(Reply::Content(m.content().clone()));
    /// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).handler("echo", echo).build().unwrap())
    /// # }
    /// # fn socket(name: &str) -> String {
    /// #     format!("unix:{}", std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id())).display())
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::{Dispatcher, Message, Text};
    /// use dispatchio_net::{NetExt, RemoteConfig};
    /// let server = Dispatcher::new();
    /// let config = RemoteConfig::new("billing").secret("a long random string");
    /// let listening = server.listen_with("tcp:127.0.0.1:0", &config).await?;
    /// let wrong = RemoteConfig::new("web").secret("a guess");
    /// let refused = Dispatcher::new().connect_with(&listening.local_addr().to_string(), &wrong).await;
    /// assert!(refused.is_err()); // the handshake proves the secret
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`listen`](Self::listen).
    fn listen_with(
        &self,
        addr: &str,
        config: &RemoteConfig,
    ) -> impl Future<Output = Result<RemoteAcceptor, NetError>> + Send;

    /// Connects to a peer listening at `addr`; from then on the destinations
    /// and groups it announces are routed to it. Uses [`RemoteConfig::default`].
    ///
    /// ```
    /// # fn echo() -> std::sync::Arc<dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>> {
    /// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// #     use dispatchio_core::{Message, Reply};
    /// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::call("echo")]).build().unwrap();
    /// #     let echo = |m: &Message| Ok(Reply::Content(m.content().clone()));
    /// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).handler("echo", echo).build().unwrap())
    /// # }
    /// # fn socket(name: &str) -> String {
    /// #     format!("unix:{}", std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id())).display())
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::{Dispatcher, Message, Text};
    /// use dispatchio_net::{NetExt, RemoteConfig};
    /// let server = Dispatcher::new();
    /// server.register("echo", echo())?;
    /// let _listening = server.listen(&socket("connect")).await?;
    /// let client = Dispatcher::new();
    /// let _peer = client.connect(&socket("connect")).await?;
    /// assert!(client.wait_for_destination("echo", std::time::Duration::from_secs(5)).await);
    /// assert!(client.connect(&socket("nobody-listens-here")).await.is_err());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`NetError`]: a bad address, no listener there, a refused handshake
    /// (wrong protocol version or secret, a listener that cannot prove it
    /// knows our secret), a failed TLS handshake (a certificate not
    /// trusted, for another host, expired; no client certificate).
    fn connect(&self, addr: &str) -> impl Future<Output = Result<Peer, NetError>> + Send;

    /// [`connect`](Self::connect) with a configuration.
    ///
    /// ```
    /// # fn echo() -> std::sync::Arc<dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>> {
    /// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// #     use dispatchio_core::{Message, Reply};
    /// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::call("echo")]).build().unwrap();
    /// #     let echo = |m: &Message| Ok(Reply::Content(m.content().clone()));
    /// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).handler("echo", echo).build().unwrap())
    /// # }
    /// # fn socket(name: &str) -> String {
    /// #     format!("unix:{}", std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id())).display())
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::{Dispatcher, Message, Text};
    /// use dispatchio_net::{NetExt, RemoteConfig};
    /// use dispatchio_core::ContentRegistry;
    /// let server = Dispatcher::new();
    /// server.register("echo", echo())?;
    /// let _listening = server.listen_with(&socket("connect-with"), &RemoteConfig::new("billing")).await?;
    /// let mut registry = ContentRegistry::new();
    /// registry.register::<Text>(); // replies of type "Text" decode into `Text`
    /// let client = Dispatcher::new();
    /// let _peer = client.connect_with(&socket("connect-with"), &RemoteConfig::new("web").registry(registry)).await?;
    /// assert!(client.wait_for_destination("echo", std::time::Duration::from_secs(5)).await);
    /// let reply = client.request_as::<Text>(Message::new(Text::from("hi")).to("echo"), None).await?;
    /// assert_eq!(reply.0, "hi");
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect).
    fn connect_with(
        &self,
        addr: &str,
        config: &RemoteConfig,
    ) -> impl Future<Output = Result<Peer, NetError>> + Send;

    /// Announces local changes (listeners registered or gone, groups joined
    /// or left) to peers now, rather than at the next interval.
    ///
    /// ```
    /// # fn echo() -> std::sync::Arc<dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>> {
    /// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// #     use dispatchio_core::{Message, Reply};
    /// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::call("echo")]).build().unwrap();
    /// #     let echo = |m: &Message| Ok(Reply::Content(m.content().clone()));
    /// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).handler("echo", echo).build().unwrap())
    /// # }
    /// # fn socket(name: &str) -> String {
    /// #     format!("unix:{}", std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id())).display())
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::{Dispatcher, Message, Text};
    /// use dispatchio_net::{NetExt, RemoteConfig};
    /// let (server, client) = (Dispatcher::new(), Dispatcher::new());
    /// server.register("echo", echo())?;
    /// let listening = server.listen_with(&socket("announce"), &RemoteConfig::new("billing")).await?;
    /// # let mut registry = dispatchio_core::ContentRegistry::new();
    /// # registry.register::<Text>(); // replies decode into `Text`
    /// # let web = RemoteConfig::new("web").registry(registry);
    /// let peer = client.connect_with(&socket("announce"), &web).await?;
    /// use std::time::Duration;
    /// assert!(client.wait_for_destination("echo", Duration::from_secs(5)).await);
    /// server.register("echo-2", echo())?;
    /// server.announce_changes(); // the peer learns of "echo-2" now
    /// assert!(client.wait_for_destination("echo-2", Duration::from_secs(5)).await);
    /// # drop((listening, peer));
    /// # Ok(()) }
    /// ```
    fn announce_changes(&self);

    /// What the network side of this dispatcher has seen (all zero and empty
    /// before the first `listen` or `connect`).
    ///
    /// ```
    /// # fn echo() -> std::sync::Arc<dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>> {
    /// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// #     use dispatchio_core::{Message, Reply};
    /// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::call("echo")]).build().unwrap();
    /// #     let echo = |m: &Message| Ok(Reply::Content(m.content().clone()));
    /// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).handler("echo", echo).build().unwrap())
    /// # }
    /// # fn socket(name: &str) -> String {
    /// #     format!("unix:{}", std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id())).display())
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::{Dispatcher, Message, Text};
    /// use dispatchio_net::{NetExt, RemoteConfig};
    /// assert!(Dispatcher::new().remote_stats().links.is_empty()); // not on the network
    /// let (server, client) = (Dispatcher::new(), Dispatcher::new());
    /// server.register("echo", echo())?;
    /// let listening = server.listen_with(&socket("stats"), &RemoteConfig::new("billing")).await?;
    /// # let mut registry = dispatchio_core::ContentRegistry::new();
    /// # registry.register::<Text>(); // replies decode into `Text`
    /// # let web = RemoteConfig::new("web").registry(registry);
    /// let peer = client.connect_with(&socket("stats"), &web).await?;
    /// let stats = client.remote_stats();
    /// assert_eq!(stats.links, [peer.name()]);
    /// assert_eq!((stats.pending_requests, stats.peers_lost), (0, 0));
    /// # drop(listening);
    /// # Ok(()) }
    /// ```
    fn remote_stats(&self) -> RemoteStats;
}

impl NetExt for Dispatcher {
    async fn listen(&self, addr: &str) -> Result<RemoteAcceptor, NetError> {
        self.listen_with(addr, &RemoteConfig::default()).await
    }

    async fn listen_with(
        &self,
        addr: &str,
        config: &RemoteConfig,
    ) -> Result<RemoteAcceptor, NetError> {
        let address: Address = addr.parse()?;
        let peers = Peers::of(self, config);
        let events = Arc::new(Events {
            peers,
            registry: config.registry.clone(),
            max_announced: config.max_announced,
        });
        let inner = netlink::listen(&address, &config.net, events).await?;
        Ok(RemoteAcceptor { inner })
    }

    async fn connect(&self, addr: &str) -> Result<Peer, NetError> {
        self.connect_with(addr, &RemoteConfig::default()).await
    }

    async fn connect_with(&self, addr: &str, config: &RemoteConfig) -> Result<Peer, NetError> {
        let address: Address = addr.parse()?;
        let peers = Peers::of(self, config);
        let events = Arc::new(Events {
            peers,
            registry: config.registry.clone(),
            max_announced: config.max_announced,
        });
        let link = netlink::connect(&address, &config.net, events).await?;
        // Named once, at the first connection (the name stays across reconnects).
        let name = format!("{}/{}", link.peer_name(), link.id());
        Ok(Peer { link, name })
    }

    fn announce_changes(&self) {
        if let Some(b) = Peers::find(self) {
            b.announce_changes();
            b.wake.notify_one();
        }
    }

    fn remote_stats(&self) -> RemoteStats {
        Peers::find(self).map(|b| b.stats()).unwrap_or_default()
    }
}
