//! A link's life: each connection run until it ends, then (dialled)
//! reconnected, with the link's queue and its requests in flight kept
//! straight.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::BytesMut;
use futures::SinkExt;
use tokio::sync::mpsc;
use tracing::{info, warn};

use super::{
    ClearDirect, Conn, Direct, Link, LinkEvents, LinkState, Out, PeerLost, guarded, read_loop,
    redial, split_conn, write_loop,
};
use crate::NetConfig;
use crate::address::Address;
use crate::error::DownReason;
use crate::wire::{self, Frame};

/// Runs a link's connections until it is closed: the current one, then, for
/// a dialled link, reconnecting with backoff after each loss.
pub(super) async fn supervise<E: LinkEvents>(
    link: Link,
    conn: Conn,
    events: Arc<E>,
    redial_to: Option<(Address, NetConfig)>,
    keepalive: Option<Duration>,
) {
    let mut conn = Some(conn);
    loop {
        if let Some(c) = conn.take() {
            let reason = run_connection(&link, c, &*events, keepalive).await;
            let reconnecting = redial_to.is_some()
                && !link.shared.closing.load(Ordering::SeqCst)
                && !link.shared.stop.is_cancelled();
            let mut pending = link.take_in_flight();
            if reconnecting {
                link.set_state(LinkState::Down);
            } else {
                close_queue(&link, &mut pending);
            }
            log_down(&link, &reason, reconnecting);
            let lost = PeerLost {
                link: link.id(),
                peer_name: link.peer_name(),
                reason,
                pending_requests: pending,
                reconnecting,
            };
            events.link_down(&link, &lost);
            if !reconnecting {
                return;
            }
        }
        let Some((address, config)) = &redial_to else {
            return;
        };
        match redial(&link, address, config, &*events).await {
            Some((c, peer_name)) => {
                *link.shared.peer_name.lock() = peer_name;
                link.set_state(LinkState::Up);
                info!(link = %link.id(), peer = %link.peer_name(), "reconnected");
                events.link_up(&link);
                conn = Some(c);
            }
            None => {
                // Closed while down: the queued requests will never be sent.
                let mut pending = Vec::new();
                close_queue(&link, &mut pending);
                let lost = PeerLost {
                    link: link.id(),
                    peer_name: link.peer_name(),
                    reason: DownReason::LocalClose,
                    pending_requests: pending,
                    reconnecting: false,
                };
                events.link_down(&link, &lost);
                return;
            }
        }
    }
}

/// Marks the link closed and collects the requests still queued on it.
fn close_queue(link: &Link, pending: &mut Vec<u64>) {
    link.set_state(LinkState::Closed);
    let mut outbox = link.shared.outbox.lock();
    outbox.closed = true;
    pending.append(&mut outbox.requests);
    let frames = outbox.uncount();
    link.shared.queued.fetch_sub(frames, Ordering::SeqCst);
    outbox.buf = BytesMut::new();
    drop(outbox);
    link.shared.room.notify_waiters();
}

fn log_down(link: &Link, reason: &DownReason, reconnecting: bool) {
    let (id, peer) = (link.id(), link.peer_name());
    match reason {
        DownReason::FrameTooLarge { .. } | DownReason::Malformed(_) => {
            warn!(link = %id, peer = %peer, reason = %reason, "closed the connection after bad input");
        }
        DownReason::LocalClose | DownReason::Goodbye(_) => {
            info!(link = %id, peer = %peer, reason = %reason, reconnecting, "connection closed");
        }
        _ => warn!(link = %id, peer = %peer, reason = %reason, reconnecting, "peer lost"),
    }
}

/// How one half of a connection ended.
pub(super) enum End {
    /// Told to stop by the other half or by a local close.
    Stopped,
    Reason(DownReason),
}

/// Runs one connection: sends the announcement snapshot, then reads and
/// writes until either side ends it. Returns why it ended.
pub(super) async fn run_connection<E: LinkEvents>(
    link: &Link,
    conn: Conn,
    events: &E,
    keepalive: Option<Duration>,
) -> DownReason {
    let (mut stream, mut sink) = split_conn(conn);
    let stop = link.shared.stop.child_token();
    let snapshot = events.announcements();
    if snapshot.len() > link.shared.max_announcements {
        warn!(
            link = %link.id(),
            entries = snapshot.len(),
            limit = link.shared.max_announcements,
            "this process serves more than one announcement frame may list: a peer with the same limit refuses its snapshot"
        );
    }
    if !snapshot.is_empty() {
        match wire::encode_frame(&Frame::Announce(snapshot)) {
            Ok(bytes) => {
                match guarded(std::pin::pin!(stop.cancelled()), sink.send(Out::Frame(bytes))).await
                {
                    None => return DownReason::LocalClose,
                    Some(Err(e)) => return DownReason::io(&e),
                    Some(Ok(())) => {}
                }
            }
            Err(e) => warn!(link = %link.id(), error = %e, "cannot encode the announcements"),
        }
    }
    // From here on, senders may write to the socket directly too.
    *link.shared.direct.lock() = Direct { sink: Some(sink), writer: None };
    let _clear = ClearDirect(&link.shared);
    let (pong_tx, mut pong_rx) = mpsc::channel(8);
    let reader = async {
        let end = read_loop(link, &mut stream, events, pong_tx, &stop, keepalive).await;
        stop.cancel();
        end
    };
    let writer = async {
        let end = write_loop(link, &mut pong_rx, &stop, keepalive).await;
        stop.cancel();
        end
    };
    let (read_end, write_end) = tokio::join!(reader, writer);
    match (read_end, write_end) {
        // A goodbye we wrote ends the connection on purpose, whatever the
        // reader saw afterwards.
        (_, End::Reason(DownReason::LocalClose)) => DownReason::LocalClose,
        (End::Reason(r), _) | (End::Stopped, End::Reason(r)) => r,
        (End::Stopped, End::Stopped) => DownReason::LocalClose,
    }
}
