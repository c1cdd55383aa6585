//! The accepting side: [`listen`] and the [`Acceptor`] it returns.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::{
    Direction, Link, LinkEvents, accept_handshake, handshake_framing, message_framing, supervise,
};
use crate::NetConfig;
use crate::address::Address;
use crate::error::TlsError;
use crate::error::{HandshakeError, NetError};
use crate::socket::{self, BoundSocket, BoxIo, SocketFile};
use crate::tls::{self, Tls};

/// A `tls:` listener's rustls configuration (`None` for other addresses).
type ServerTls = Option<Arc<rustls::ServerConfig>>;

/// A listening socket that accepts peers, each becoming an accepted [`Link`].
///
/// Dropping it stops accepting (and removes its Unix socket file); links
/// already accepted carry on. [`close`](Self::close) also closes them.
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
/// let addr = socket("link-acceptor");
/// let listening = net::listen(&addr, &NetConfig::new("billing"), Arc::new(Quiet)).await?;
/// let link = net::connect(&addr, &NetConfig::new("web"), Arc::new(Quiet)).await?;
/// # let _ = &link;
/// drop(listening); // stops accepting; the link made carries on
/// assert!(net::connect(&addr, &NetConfig::new("late"), Arc::new(Quiet)).await.is_err());
/// assert_eq!(link.state(), dispatchio_net::LinkState::Up);
/// # Ok(()) }
/// ```
pub struct Acceptor {
    local: Address,
    stop: CancellationToken,
    links: Arc<Mutex<Vec<Link>>>,
    task: Option<tokio::task::JoinHandle<()>>,
    _socket_file: Option<SocketFile>,
}

impl fmt::Debug for Acceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acceptor").field("local", &self.local).finish()
    }
}

impl Acceptor {
    /// The address it listens on; for `tcp:…:0`, with the port the system chose.
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
    /// let config = NetConfig::new("billing").secret("a long random string");
    /// let listening = net::listen(&"tcp:127.0.0.1:0".parse()?, &config, Arc::new(Quiet)).await?;
    /// let Address::Tcp { port, .. } = listening.local_addr() else { panic!("tcp") };
    /// assert_ne!(*port, 0); // the port the system chose
    /// # Ok(()) }
    /// ```
    pub fn local_addr(&self) -> &Address {
        &self.local
    }

    /// The accepted links that are still open.
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
    /// let addr = socket("link-links");
    /// let listening = net::listen(&addr, &NetConfig::new("billing"), Arc::new(Quiet)).await?;
    /// let link = net::connect(&addr, &NetConfig::new("web"), Arc::new(Quiet)).await?;
    /// # let _ = &link;
    /// let accepted = listening.links();
    /// assert_eq!(accepted.len(), 1);
    /// assert_eq!(accepted[0].peer_name(), "web");
    /// # Ok(()) }
    /// ```
    pub fn links(&self) -> Vec<Link> {
        self.links.lock().clone()
    }

    /// Stops accepting, removes the socket file, and closes every accepted
    /// link (each peer gets a goodbye).
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
    /// let addr = socket("link-acceptor-close");
    /// let listening = net::listen(&addr, &NetConfig::new("billing"), Arc::new(Quiet)).await?;
    /// let link = net::connect(&addr, &NetConfig::new("web"), Arc::new(Quiet)).await?;
    /// use dispatchio_net::LinkState;
    /// let mut state = link.watch_state();
    /// listening.close().await; // every accepted link gets a goodbye
    /// state.wait_for(|s| *s == LinkState::Down).await?;
    /// assert!(!std::path::Path::new(&addr.to_string()["unix:".len()..]).exists()); // socket file gone
    /// # Ok(()) }
    /// ```
    pub async fn close(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        let links = self.links();
        futures::future::join_all(links.iter().map(|l| l.close("listener closed"))).await;
    }
}

impl Drop for Acceptor {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Listens on `address`, accepting peers that pass the handshake.
///
/// Each accepted peer becomes a [`Link`] announced through
/// [`LinkEvents::link_up`]; a peer that fails the handshake is refused with a
/// [`Refused`](crate::Refused) frame, disconnected, and reported through
/// [`LinkEvents::handshake_failed`] and a `tracing` warning. A Unix socket is
/// created owner-only (see the [crate docs](crate)).
///
/// A `tls:` listener runs TLS with every peer before the handshake, with
/// [`NetConfig::tls`]'s certificate. A plaintext `tcp:` listener warns
/// once, at start, that its traffic can be read (at `info` level with
/// [`NetConfig::allow_plaintext`]).
///
/// # Errors
/// [`NetError::ListenerNeedsSecret`] for TCP without a secret (unless
/// [`NetConfig::allow_unauthenticated`], or a `tls:` listener that requires
/// client certificates); [`NetError::Tls`] for a `tls:` address without
/// usable TLS settings; [`NetError::SocketPathInUse`] or
/// [`NetError::NotASocket`] if the Unix path is taken; [`NetError::Io`] if
/// binding fails.
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
/// let addr = socket("link-listen-fn");
/// let listening = net::listen(&addr, &NetConfig::new("billing"), Arc::new(Quiet)).await?;
/// assert_eq!(listening.local_addr(), &addr);
/// let link = net::connect(&addr, &NetConfig::new("web"), Arc::new(Quiet)).await?;
/// assert_eq!(link.peer_name(), "billing");
/// // A second listener on a live socket path is refused.
/// assert!(matches!(
///     net::listen(&addr, &NetConfig::new("other"), Arc::new(Quiet)).await,
///     Err(dispatchio_net::NetError::SocketPathInUse { .. })
/// ));
/// # Ok(()) }
/// ```
pub async fn listen<E: LinkEvents>(
    address: &Address,
    config: &NetConfig,
    events: Arc<E>,
) -> Result<Acceptor, NetError> {
    let by_certificate =
        address.is_tls() && config.tls.as_ref().is_some_and(Tls::authenticates_clients);
    if address.is_tcp()
        && config.secret.is_none()
        && !config.allow_unauthenticated
        && !by_certificate
    {
        return Err(NetError::ListenerNeedsSecret { address: address.to_string() });
    }
    let tls = if address.is_tls() {
        let tls_error = |source| NetError::Tls { address: address.to_string(), source };
        let settings = config.tls.as_ref().ok_or(TlsError::NoIdentity).map_err(tls_error)?;
        Some(settings.server_config().map_err(tls_error)?)
    } else {
        None
    };
    let (acceptor, local, socket_file) = socket::bind(address).await?;
    match &local {
        Address::Tcp { .. } if config.allow_plaintext => {
            info!(address = %local, "listening on plaintext TCP (allowed by allow_plaintext)");
        }
        Address::Tcp { .. } => warn!(
            address = %local,
            "listening on plaintext TCP: anyone who can see this traffic reads every message, \
             and one who can alter it can take over a connection after its handshake; \
             use a tls: address, or NetConfig::allow_plaintext(true) where the network is \
             trusted (loopback)"
        ),
        _ => info!(address = %local, "listening"),
    }
    let stop = CancellationToken::new();
    let links = Arc::new(Mutex::new(Vec::new()));
    let task = tokio::spawn(accept_loop(
        acceptor,
        local.clone(),
        tls,
        config.clone(),
        events,
        stop.clone(),
        links.clone(),
    ));
    Ok(Acceptor { local, stop, links, task: Some(task), _socket_file: socket_file })
}

async fn accept_loop<E: LinkEvents>(
    acceptor: BoundSocket,
    local: Address,
    tls: ServerTls,
    config: NetConfig,
    events: Arc<E>,
    stop: CancellationToken,
    links: Arc<Mutex<Vec<Link>>>,
) {
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => return,
            accepted = acceptor.accept() => accepted,
        };
        match accepted {
            Ok((io, remote)) => {
                tokio::spawn(serve_accepted(
                    io,
                    remote,
                    tls.clone(),
                    config.clone(),
                    events.clone(),
                    links.clone(),
                    stop.clone(),
                ));
            }
            Err(e) => {
                // Typically out of file descriptors: pause rather than spin,
                // and keep the listener (and every other link) alive.
                warn!(address = %local, error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn serve_accepted<E: LinkEvents>(
    io: BoxIo,
    remote: String,
    tls: ServerTls,
    config: NetConfig,
    events: Arc<E>,
    links: Arc<Mutex<Vec<Link>>>,
    listening: CancellationToken,
) {
    // TLS (when the address asks for it) and the handshake, under one
    // timeout: a peer that stalls in either is dropped.
    let handshake = async {
        let io = match tls {
            Some(tls) => tls::accept(tls, io).await?,
            None => io,
        };
        let mut conn = handshake_framing(io, config.max_frame_len);
        let name = accept_handshake(&mut conn, &config).await?;
        message_framing(&mut conn, config.max_frame_len);
        Ok::<_, HandshakeError>((conn, name))
    };
    let (conn, peer_name) = match tokio::time::timeout(config.handshake_timeout, handshake).await {
        Ok(Ok(accepted)) => accepted,
        Ok(Err(e)) => return refuse_log(&*events, &remote, e),
        Err(_) => {
            let e = HandshakeError::Timeout { after: config.handshake_timeout };
            return refuse_log(&*events, &remote, e);
        }
    };
    let link = Link::new(Direction::Accepted, remote, peer_name, &config);
    {
        // Checked under the lock that `Acceptor::close` takes after
        // cancelling: either close sees this link, or this sees the cancel.
        let mut registry = links.lock();
        if listening.is_cancelled() {
            debug!(remote = %link.remote(), "listener closed during the handshake; dropping the connection");
            return;
        }
        registry.push(link.clone());
    }
    info!(link = %link.id(), peer = %link.peer_name(), remote = %link.remote(), "peer connected");
    events.link_up(&link);
    supervise(link.clone(), conn, events, None, config.keepalive).await;
    links.lock().retain(|l| l.id() != link.id());
}

fn refuse_log<E: LinkEvents>(events: &E, remote: &str, e: HandshakeError) {
    warn!(remote, error = %e, "handshake failed; connection closed");
    events.handshake_failed(remote, &e);
}
