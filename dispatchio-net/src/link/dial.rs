//! The dialling side: [`connect`], and dialling again with backoff.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use tracing::{debug, info, warn};

use super::{
    Conn, Direction, Link, LinkEvents, dial_handshake, handshake_framing, message_framing,
    supervise,
};
use crate::NetConfig;
use crate::address::Address;
use crate::error::TlsError;
use crate::error::{HandshakeError, NetError};
use crate::socket;
use crate::tls;

/// Dials `address` and performs the handshake; the returned link reconnects
/// with exponential backoff whenever the connection drops, until closed.
///
/// [`LinkEvents::link_up`] is called for the first connection before this
/// returns.
///
/// A `tls:` address runs TLS first, checking the listener's certificate
/// with [`NetConfig::tls`].
///
/// # Errors
/// [`NetError::Io`] if the first connection cannot be made,
/// [`NetError::Tls`] for a `tls:` address without usable TLS settings,
/// [`NetError::Handshake`] if TLS fails ([`HandshakeError::Tls`]), the peer
/// refuses us (wrong version or secret), the listener cannot prove it
/// knows our secret, or it does not answer in time.
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
/// let addr = socket("link-connect-fn");
/// let _listening = net::listen(&addr, &NetConfig::new("billing"), Arc::new(Quiet)).await?;
/// let link = net::connect(&addr, &NetConfig::new("web"), Arc::new(Quiet)).await?;
/// assert_eq!(link.state(), dispatchio_net::LinkState::Up); // handshake done
/// let nobody = net::connect(&socket("link-connect-nobody"), &NetConfig::new("web"), Arc::new(Quiet)).await;
/// assert!(nobody.is_err()); // the first dial's failure is returned, not retried
/// # Ok(()) }
/// ```
pub async fn connect<E: LinkEvents>(
    address: &Address,
    config: &NetConfig,
    events: Arc<E>,
) -> Result<Link, NetError> {
    let (conn, peer_name) = dial(address, config).await?;
    let link = Link::new(Direction::Dialled, address.to_string(), peer_name, config);
    info!(link = %link.id(), peer = %link.peer_name(), address = %address, "connected");
    events.link_up(&link);
    tokio::spawn(supervise(
        link.clone(),
        conn,
        events,
        Some((address.clone(), config.clone())),
        config.keepalive,
    ));
    Ok(link)
}

pub(super) async fn dial(
    address: &Address,
    config: &NetConfig,
) -> Result<(Conn, String), NetError> {
    let tls = match address {
        Address::Tls { host, .. } => {
            let tls_error = |source| NetError::Tls { address: address.to_string(), source };
            let settings = config.tls.as_ref().ok_or(TlsError::NoTrust).map_err(tls_error)?;
            Some((
                settings.client_config().map_err(tls_error)?,
                tls::server_name(host).map_err(tls_error)?,
            ))
        }
        _ => None,
    };
    let io = socket::dial(address).await?;
    // TLS (for a `tls:` address) and the handshake, under one timeout.
    let handshake = async {
        let io = match tls {
            Some((tls, name)) => tls::connect(tls, name, io).await?,
            None => io,
        };
        let mut conn = handshake_framing(io, config.max_frame_len);
        let name = dial_handshake(&mut conn, config).await?;
        message_framing(&mut conn, config.max_frame_len);
        Ok::<_, HandshakeError>((conn, name))
    };
    let result = match tokio::time::timeout(config.handshake_timeout, handshake).await {
        Ok(result) => result,
        Err(_) => Err(HandshakeError::Timeout { after: config.handshake_timeout }),
    };
    result.map_err(|source| NetError::Handshake { address: address.to_string(), source })
}

/// Dials again with exponential backoff until it succeeds or the link is
/// closed (`None`).
pub(super) async fn redial<E: LinkEvents>(
    link: &Link,
    address: &Address,
    config: &NetConfig,
    events: &E,
) -> Option<(Conn, String)> {
    let mut delay = config.backoff_initial;
    loop {
        tokio::select! {
            _ = link.shared.stop.cancelled() => return None,
            _ = tokio::time::sleep(delay) => {}
        }
        if link.shared.closing.load(Ordering::SeqCst) {
            return None;
        }
        let attempt = tokio::select! {
            _ = link.shared.stop.cancelled() => return None,
            attempt = dial(address, config) => attempt,
        };
        match attempt {
            Ok(c) => return Some(c),
            Err(NetError::Handshake { source, .. }) => {
                warn!(link = %link.id(), address = %address, error = %source, "reconnect refused");
                events.handshake_failed(&address.to_string(), &source);
            }
            Err(e) => debug!(link = %link.id(), error = %e, retry_in = ?delay, "reconnect failed"),
        }
        delay = (delay * 2).min(config.backoff_max);
    }
}
