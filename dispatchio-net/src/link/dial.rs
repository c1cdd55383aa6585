//! The dialling side: [`connect`], and dialling again with backoff.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio_util::codec::Framed;
use tracing::{debug, info, warn};

use super::{Conn, Direction, Link, LinkCodec, LinkEvents, dial_handshake, supervise};
use crate::NetConfig;
use crate::address::Address;
use crate::error::{HandshakeError, NetError};
use crate::socket;
use crate::wire;

/// Dials `address` and performs the handshake; the returned link reconnects
/// with exponential backoff whenever the connection drops, until closed.
///
/// [`LinkEvents::link_up`] is called for the first connection before this
/// returns.
///
/// # Errors
/// [`NetError::Io`] if the first connection cannot be made,
/// [`NetError::Handshake`] if the peer refuses it (wrong version or secret)
/// or does not answer in time.
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
    let io = socket::dial(address).await?;
    let mut conn = Framed::new(io, LinkCodec(wire::codec(config.max_frame_len)));
    let handshake =
        tokio::time::timeout(config.handshake_timeout, dial_handshake(&mut conn, config));
    let result = match handshake.await {
        Ok(result) => result,
        Err(_) => Err(HandshakeError::Timeout { after: config.handshake_timeout }),
    };
    match result {
        Ok(name) => Ok((conn, name)),
        Err(source) => Err(NetError::Handshake { address: address.to_string(), source }),
    }
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
