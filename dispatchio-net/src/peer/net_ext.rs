//! [`NetExt`]: listening and dialling from a [`Dispatcher`], and the
//! handles that gives ([`RemoteAcceptor`], [`Peer`]).

use std::future::Future;
use std::sync::Arc;

use super::{Events, Peers, RemoteConfig, RemoteStats};
use crate::link::{self as netlink, LinkState};
use crate::{Address, NetError};
use dispatchio_core::Dispatcher;

/// A listening socket of a dispatcher; peers that connect become links.
#[derive(Debug)]
pub struct RemoteAcceptor {
    inner: netlink::Acceptor,
}

impl RemoteAcceptor {
    /// The address it listens on (for `tcp:…:0`, with the chosen port).
    pub fn local_addr(&self) -> &Address {
        self.inner.local_addr()
    }

    /// The names of the peers connected through it.
    pub fn peers(&self) -> Vec<String> {
        self.inner.links().iter().map(|l| format!("{}/{}", l.peer_name(), l.id())).collect()
    }

    /// Stops listening, and closes every link accepted through it (their
    /// pending requests fail).
    pub async fn close(self) {
        self.inner.close().await;
    }
}

/// A dialled peer: the link reconnects with backoff until closed.
#[derive(Debug, Clone)]
pub struct Peer {
    link: netlink::Link,
    name: String,
}

impl Peer {
    /// The link's name (`"<peer name>/link#<n>"`, from the first
    /// connection): the member ID it has in groups, and the name in
    /// [`Snapshot::remote`](dispatchio_core::Snapshot::remote).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the connection is up, reconnecting, or closed.
    pub fn state(&self) -> LinkState {
        self.link.state()
    }

    /// The network link underneath.
    pub fn link(&self) -> &netlink::Link {
        &self.link
    }

    /// Closes the link for good: queued frames are written first; requests
    /// still waiting fail.
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
    fn listen(&self, addr: &str) -> impl Future<Output = Result<RemoteAcceptor, NetError>> + Send;

    /// [`listen`](Self::listen) with a configuration.
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
    /// # Errors
    ///
    /// [`NetError`]: a bad address, no listener there, a refused handshake
    /// (wrong protocol version or secret, a listener that cannot prove it
    /// knows our secret), a failed TLS handshake (a certificate not
    /// trusted, for another host, expired; no client certificate).
    fn connect(&self, addr: &str) -> impl Future<Output = Result<Peer, NetError>> + Send;

    /// [`connect`](Self::connect) with a configuration.
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
    fn announce_changes(&self);

    /// What the network side of this dispatcher has seen (all zero and empty
    /// before the first `listen` or `connect`).
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
