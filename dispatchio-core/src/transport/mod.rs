//! The seam for transports: how messages reach destinations in other
//! processes, and how messages from there reach this one.
//!
//! The dispatcher never knows about sockets or brokers. It looks every
//! destination up in one map whose entries are either a local listener's
//! mailbox or a [`Link`]. A transport (the Unix/TCP peers of
//! `dispatchio-net`, a NATS client) plugs in through this module alone, and
//! uses nothing of the dispatcher that another crate could not:
//!
//! * **Attach.** [`Dispatcher::attach`] hands the transport's [`Link`] to
//!   the dispatcher and returns an [`Attachment`], the transport's handle on
//!   what that link serves. Dropping it (or [`Attachment::detach`]) removes
//!   everything the link was given.
//! * **Outgoing.** [`Attachment::claim`] says "destination X is served over
//!   this link", [`Attachment::join_group`] "group G has members behind this
//!   link", [`Attachment::set_fallback`] "send here whatever nobody in this
//!   process serves" (a destination ID unknown here, a group with no
//!   member here: a broker-backed transport forwards it to the cluster and
//!   reports [`Error::UnknownDestination`] back when nobody answers). A message for
//!   X (or G) is handed to [`Link::send`] as a [`Delivery`]: the message and
//!   its [`ReplySender`](crate::ReplySender). When a reply is wanted, the
//!   link completes the `ReplySender` with the peer's answer (or an
//!   [`Error::Link`] when the connection fails); if it drops it instead, the
//!   requester gets [`Error::NoReply`]. The link keeps per-sender order by
//!   sending one destination's messages over one ordered connection.
//! * **Incoming.** A message read from a peer is given to an [`Inlet`]
//!   ([`Dispatcher::inlet`]) with a
//!   [`ReplySender::callback`](crate::ReplySender::callback) that carries the
//!   reply back. Incoming messages go to local listeners only (never back
//!   out over a link), so two peers cannot bounce a message between them.
//!   An inlet remembers the last destination it delivered to, and delivers
//!   into an idle listener in the caller's task, so that a stream of
//!   messages read from one connection costs no lock and no hand-off per
//!   message.
//! * **Announcing.** A [`DirectoryWatch`] ([`Dispatcher::watch_directory`])
//!   tells what this process serves (its [`LocalDirectory`]: local
//!   listeners, groups with a local member) and, as it changes, each
//!   [`DirectoryChange`], for the transport to tell its peers.
//!   [`Dispatcher::served_by`] says who serves an ID now (for reporting a
//!   claim that was refused).
//! * **Content** crosses the boundary with [`Content::encode`](crate::Content::encode)
//!   and [`ContentRegistry::decode`](crate::ContentRegistry::decode).
//!
//! Synchronous sends to a remote destination fail with
//! [`SyncError::Remote`](crate::SyncError::Remote).

mod attachment;
mod directory;
mod inlet;

pub use attachment::Attachment;
pub use directory::{DirectoryChange, DirectoryWatch, LocalDirectory};
pub use inlet::Inlet;

use crate::dispatcher::{Dispatcher, Route};
use crate::error::Error;
use crate::id::Id;
use crate::listener::Delivery;

/// A connection to another process that carries messages there.
///
/// Implemented by transports; the dispatcher calls [`send`](Self::send) for
/// every message routed to the link (see [`Attachment`]).
pub trait Link: Send + Sync + 'static {
    /// A name for traces and introspection (`"tcp://10.0.0.2:7000"`); also
    /// the member ID of the link in groups it serves.
    fn name(&self) -> &str;

    /// Carries one message to the peer; completes `delivery.reply` with the
    /// peer's answer when one is wanted. Must not block: queue the work.
    ///
    /// # Errors
    ///
    /// The reason and the delivery untouched, when the link cannot take it
    /// right now (closed connection); the dispatcher reports it to the sender.
    #[allow(
        clippy::result_large_err,
        reason = "the refused delivery goes back unboxed; refusal is the rare path"
    )]
    fn send(&self, delivery: Delivery) -> Result<(), (Error, Delivery)>;
}

/// Who serves a destination ID (see [`Dispatcher::served_by`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServedBy {
    /// A listener registered in this process.
    Local,
    /// A link, by its [`name`](Link::name).
    Link(String),
}

impl Dispatcher {
    /// Attaches a transport's link: the returned [`Attachment`] claims
    /// destinations and groups for it, and removes them all when dropped.
    pub fn attach(&self, link: std::sync::Arc<dyn Link>) -> Attachment {
        Attachment::new(self.clone(), link)
    }

    /// An [`Inlet`] for messages that arrived from another process: it
    /// delivers them to local listeners.
    pub fn inlet(&self) -> Inlet {
        Inlet::new(self.clone())
    }

    /// Watches what this process serves, for a transport to announce.
    pub fn watch_directory(&self) -> DirectoryWatch {
        DirectoryWatch::new(self.clone())
    }

    /// Waits until destination `dest` is served (locally or over a link), at
    /// most `timeout`; returns whether it is.
    pub async fn wait_for_destination(&self, dest: &Id, timeout: std::time::Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        // Subscribed before the first look, so a claim made after it wakes us.
        let mut changes = self.route_changes();
        loop {
            if self.served_by(dest).is_some() {
                return true;
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => return self.served_by(dest).is_some(),
            }
        }
    }

    /// Who serves `dest` now: a local listener, a link's claim, or nobody
    /// (a link that is the fallback serves no ID by name).
    pub fn served_by(&self, dest: &Id) -> Option<ServedBy> {
        match self.route_of(dest)? {
            Route::Local(_) => Some(ServedBy::Local),
            Route::Remote(link) => Some(ServedBy::Link(link.name().to_owned())),
        }
    }
}
