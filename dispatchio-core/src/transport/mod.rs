//! The seam for transports: how messages reach destinations in other
//! processes, and how messages from there reach this one.
//!
//! The dispatcher never knows about sockets or brokers. It looks every
//! destination up in one map whose entries are either a local listener's
//! mailbox or an [`Outlet`]: a transport's way out of this process (an outlet
//! to one peer process for the Unix/TCP transport of `dispatchio-net`, a
//! client of a whole cluster for a broker). A transport plugs in through
//! this module alone, and uses nothing of the dispatcher that another crate
//! could not:
//!
//! * **Attach.** [`Dispatcher::attach`] hands the transport's [`Outlet`] to
//!   the dispatcher and returns an [`Attachment`], the transport's handle on
//!   what that outlet serves. Dropping it (or [`Attachment::detach`])
//!   removes everything the outlet was given.
//! * **Outgoing.** [`Attachment::claim`] says "destination X is served
//!   through this outlet", [`Attachment::join_group`] "group G has members
//!   behind it", [`Attachment::set_fallback`] "send here whatever nobody in
//!   this process serves" (a destination ID unknown here, a group with no
//!   member here: a broker-backed transport forwards it to the cluster and
//!   reports [`Error::UnknownDestination`] back when nobody answers). A
//!   message for X (or G) is handed to [`Outlet::send`] as a [`Delivery`]:
//!   the message and its [`ReplySender`](crate::ReplySender). When a reply is
//!   wanted, the outlet completes the `ReplySender` with the peer's answer
//!   (or an [`Error::Transport`] when it fails); if it drops it
//!   instead, the requester gets [`Error::NoReply`]. The outlet keeps
//!   per-sender order by sending one destination's messages over one
//!   ordered connection.
//! * **Incoming.** A message read from a peer is given to an [`Inlet`]
//!   ([`Dispatcher::inlet`]) with a
//!   [`ReplySender::callback`](crate::ReplySender::callback) that carries the
//!   reply back. Incoming messages go to local listeners only (never back
//!   out through an outlet), so two peers cannot bounce a message between
//!   them. An inlet remembers the last destination it delivered to, and
//!   delivers into an idle listener in the caller's task, so that a stream
//!   of messages read from one connection costs no lock and no hand-off per
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

pub use crate::dispatcher::route::Outlet;

use crate::dispatcher::{Dispatcher, Route};
use crate::id::Id;
#[cfg(doc)]
use crate::{Delivery, Error};

/// Who serves a destination ID (see [`Dispatcher::served_by`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServedBy {
    /// A listener registered in this process.
    Local,
    /// An outlet, by its [`name`](Outlet::name).
    Outlet(String),
}

impl Dispatcher {
    /// Attaches a transport's outlet: the returned [`Attachment`] claims
    /// destinations and groups for it, and removes them all when dropped.
    pub fn attach(&self, outlet: std::sync::Arc<dyn Outlet>) -> Attachment {
        Attachment::new(self.clone(), outlet)
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

    /// Waits until destination `dest` is served (locally or over an outlet), at
    /// most `timeout`; returns whether it is.
    pub async fn wait_for_destination(
        &self,
        dest: impl Into<Id>,
        timeout: std::time::Duration,
    ) -> bool {
        let dest = &dest.into();
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

    /// Who serves `dest` now: a local listener, an outlet's claim, or nobody
    /// (an outlet that is the fallback serves no ID by name).
    pub fn served_by(&self, dest: &Id) -> Option<ServedBy> {
        match self.route_of(dest)? {
            Route::Local(_) => Some(ServedBy::Local),
            Route::Remote(link) => Some(ServedBy::Outlet(link.name().to_owned())),
        }
    }
}
