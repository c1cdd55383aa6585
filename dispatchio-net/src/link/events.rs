//! [`LinkEvents`]: what a link tells the side that uses it, and
//! [`PeerLost`], the event of a connection gone.

use std::future::Future;

use super::{Link, LinkId};
use crate::error::{DownReason, HandshakeError};
use crate::wire::{Announcement, Payload, WireMessageRef};

/// What the dispatcher implements to hear from its links.
///
/// The link layer calls these from its own tasks. [`received`](Self::received)
/// (and [`received_message`](Self::received_message)) is awaited before the
/// next frame of that link is read, which gives in-order
/// delivery and lets the dispatcher push back on a fast peer by awaiting (its
/// own bounded queues, for instance). It must not wait on anything that needs
/// this same link's peer to read: awaiting [`Link::send`] on the same link
/// inside `received` can deadlock two peers that flood each other (each
/// reader waits for its writer, each writer for the other's reader). Answer
/// with [`Link::try_send`], or hand the work to another task.
///
/// For each connection the calls come in this order: `link_up`, then
/// `announcements` (whose result is sent to the peer before any queued
/// frame), then `received` or `received_message` for each incoming frame,
/// then `link_down`. A frame
/// queued between `link_up` and the snapshot is sent after the snapshot, so
/// announcements must be idempotent (serving an ID twice is not a conflict
/// when it is the same peer).
pub trait LinkEvents: Send + Sync + 'static {
    /// What this side serves, sent to the peer as the first frame of every
    /// connection. After a reconnect the peer has forgotten the old state
    /// (it got `link_down`), so this must be the complete current state.
    fn announcements(&self) -> Vec<Announcement> {
        Vec::new()
    }

    /// A connection of `link` completed its handshake; from now on frames
    /// flow. Called again after each reconnect of a dialled link.
    fn link_up(&self, link: &Link) {
        let _ = link;
    }

    /// A message, reply or announcement arrived on `link`.
    fn received(&self, link: &Link, payload: Payload) -> impl Future<Output = ()> + Send;

    /// A message arrived on `link`, still borrowing the frame's bytes.
    ///
    /// Called instead of [`received`](Self::received) for message frames,
    /// with the same ordering promise. The default makes the owned
    /// [`WireMessage`](crate::WireMessage) and calls `received`; a receiver
    /// that only reads the fields overrides this to skip those allocations.
    fn received_message(
        &self,
        link: &Link,
        message: WireMessageRef<'_>,
    ) -> impl Future<Output = ()> + Send {
        self.received(link, Payload::Message(message.to_owned_message()))
    }

    /// An `Announce` frame listing `entries` announcements, more than
    /// [`NetConfig::max_announcements`](crate::NetConfig::max_announcements), arrived on `link` and was refused
    /// whole: none of it is given to [`received`](Self::received). The link
    /// has logged it and carries on.
    fn announcement_refused(&self, link: &Link, entries: usize) {
        let _ = (link, entries);
    }

    /// A connection of `link` ended. The dispatcher forgets what the peer
    /// announced on it and fails every request in
    /// [`PeerLost::pending_requests`] with a peer-lost error.
    fn link_down(&self, link: &Link, lost: &PeerLost) {
        let _ = (link, lost);
    }

    /// A handshake failed: on a listener, with a peer that then was
    /// disconnected; on a dialled link, while reconnecting. (The first dial of
    /// [`connect`](crate::connect) returns its error instead.)
    fn handshake_failed(&self, remote: &str, error: &HandshakeError) {
        let _ = (remote, error);
    }
}

/// A connection of a link went down: the event given to
/// [`LinkEvents::link_down`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PeerLost {
    /// The link.
    pub link: LinkId,
    /// The peer's name (from its handshake).
    pub peer_name: String,
    /// Why the connection ended.
    pub reason: DownReason,
    /// IDs of requests (messages with `response_required`) that were written
    /// to the connection and not yet answered, plus, if the link is closed for
    /// good, those still queued. None of them will be answered: the dispatcher
    /// fails each with a peer-lost error.
    pub pending_requests: Vec<u64>,
    /// Whether the link tries to reconnect (dialled links do until closed).
    /// Frames queued on it are kept and sent after reconnecting.
    pub reconnecting: bool,
}
