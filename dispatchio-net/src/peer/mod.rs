//! Peers: the dispatcher's side of its network links, what makes a
//! destination served by another process look like a local one.
//!
//! * [`NetExt::listen`] and [`NetExt::connect`] open links; every
//!   link of one dispatcher shares one `Peers` (so an ID announced by two
//!   peers is seen as the conflict it is).
//! * Outgoing: each link is a [`transport::Outlet`](dispatchio_core::transport::Outlet)
//!   the dispatcher routes to. A
//!   message is turned into a [`WireMessage`] (content by
//!   [`Content::encode`](dispatchio_core::Content::encode)) and queued on the link
//!   without waiting; a request's [`ReplySender`] is kept until the peer's
//!   [`WireReply`] (or the loss of the peer) completes it.
//! * Incoming: a [`WireMessage`] is rebuilt into a [`Message`] (content typed
//!   through the [`ContentRegistry`] by type name, or [`DynContent`](dispatchio_core::DynContent))
//!   and given to the connection's [`Inlet`], whose reply goes back over the
//!   same link.
//! * Announcements: each connection starts with the complete list of local
//!   destination IDs and subscribed groups; changes are read from a
//!   [`DirectoryWatch`] every [`RemoteConfig::announce_interval`] (or at
//!   once after [`Dispatcher::announce_changes`]) and sent to every link.
//!   What a peer announces is claimed through the link's [`Attachment`].
//!
//! Everything here reaches the dispatcher through its public transport
//! seam ([`dispatchio_core::transport`]) alone.

mod announce;
mod config;
mod events;
mod incoming;
mod net_ext;
mod outgoing;
mod stats;

pub use config::RemoteConfig;
pub use net_ext::{NetExt, Peer, RemoteAcceptor};
pub use stats::{Conflict, RemoteStats};

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use parking_lot::Mutex;
use rustc_hash::FxBuildHasher;
use tokio::sync::Notify;

use crate::envelope::wire_id;
use crate::link::LinkId;
use crate::wire::{Announcement, Payload};
use announce::{Claims, announcement};
use dispatchio_core::transport::{DirectoryWatch, LocalDirectory, ServedBy};
use dispatchio_core::{Dispatcher, Id};
use events::Events;
use incoming::Recent;
use outgoing::PeerLink;
use stats::{Losses, Stats};

/// One dispatcher's network side: every link, the announced state, the stats.
struct Peers {
    dispatcher: Dispatcher,
    // Looked up for every frame received: a fast hash for our own link IDs.
    links: Mutex<HashMap<LinkId, Arc<Attached>, FxBuildHasher>>,
    /// What this process serves, as last announced.
    directory: Mutex<DirectoryWatch>,
    /// By destination ID and refused link: found without a scan, however
    /// many a peer's announcements cause.
    conflicts: Mutex<HashMap<(Id, String), Conflict>>,
    stats: Arc<Stats>,
    wake: Notify,
}

/// One link as `Peers` keeps it: the dispatcher's [`PeerLink`], what
/// the peer claimed through it, and what its reader remembers.
struct Attached {
    link: Arc<PeerLink>,
    claims: Mutex<Claims>,
    /// Whether `claims.stale` is set (read for every frame without a lock).
    stale: AtomicBool,
    recent: Mutex<Recent>,
    /// The most destination IDs and groups the peer may hold announced.
    max_announced: usize,
}

fn all_peers() -> &'static Mutex<Vec<Weak<Peers>>> {
    static ALL_PEERS: OnceLock<Mutex<Vec<Weak<Peers>>>> = OnceLock::new();
    ALL_PEERS.get_or_init(|| Mutex::new(Vec::new()))
}

impl Peers {
    fn find(dispatcher: &Dispatcher) -> Option<Arc<Peers>> {
        all_peers().lock().iter().filter_map(Weak::upgrade).find(|b| b.dispatcher.same(dispatcher))
    }

    /// The network side of `dispatcher`, started on first use.
    fn of(dispatcher: &Dispatcher, config: &RemoteConfig) -> Arc<Peers> {
        let mut all = all_peers().lock();
        all.retain(|w| w.strong_count() > 0);
        if let Some(b) =
            all.iter().filter_map(Weak::upgrade).find(|b| b.dispatcher.same(dispatcher))
        {
            return b;
        }
        let peers = Arc::new(Peers {
            dispatcher: dispatcher.clone(),
            links: Mutex::new(HashMap::default()),
            directory: Mutex::new(dispatcher.watch_directory()),
            conflicts: Mutex::new(HashMap::new()),
            stats: Arc::new(Stats::default()),
            wake: Notify::new(),
        });
        all.push(Arc::downgrade(&peers));
        tokio::spawn(maintain(Arc::downgrade(&peers), config.announce_interval));
        peers
    }

    fn peer(&self, id: LinkId) -> Option<Arc<Attached>> {
        self.links.lock().get(&id).cloned()
    }

    /// Sends every change since the last announcement to every link; returns
    /// the complete current state.
    fn announce_changes(&self) -> LocalDirectory {
        let mut directory = self.directory.lock();
        let changes: Vec<Announcement> =
            directory.changes().iter().filter_map(announcement).collect();
        if !changes.is_empty() {
            let links: Vec<Arc<Attached>> = self.links.lock().values().cloned().collect();
            for a in links {
                if let Err(e) = a.link.net.try_send(Payload::Announce(changes.clone())) {
                    // The peer then routes by stale information; it learns the
                    // truth from the snapshot of its next connection.
                    tracing::warn!(link = %a.link.name, error = %e, "cannot announce changes");
                }
            }
            tracing::debug!(changes = changes.len(), "announced changes to peers");
        }
        directory.reported().clone()
    }

    /// Records a refused claim; logs it while `logged` allows (a frame's
    /// first few conflicts are logged one by one, the rest in a count).
    fn report_conflict(&self, id: &Id, refused: &PeerLink, log: bool) {
        let served_by = match self.dispatcher.served_by(id) {
            Some(ServedBy::Outlet(name)) => name,
            _ => "this process".to_owned(),
        };
        if log {
            tracing::error!(
                id = %id,
                refused = %refused.name,
                served_by = %served_by,
                "destination ID served by two processes; the later announcement is refused"
            );
        }
        self.stats.conflicts_reported.fetch_add(1, Ordering::Relaxed);
        let conflict = Conflict { id: id.clone(), refused: refused.name.clone(), served_by };
        self.conflicts.lock().insert((id.clone(), refused.name.clone()), conflict);
    }

    fn forget_conflict(&self, id: &Id, link: &PeerLink) {
        self.conflicts.lock().remove(&(id.clone(), link.name.clone()));
    }

    /// Gives refused claims on `freed` IDs another chance.
    fn retry_refused(&self, freed: &[Id]) {
        if freed.is_empty() {
            return;
        }
        let links: Vec<Arc<Attached>> = self.links.lock().values().cloned().collect();
        for id in freed {
            for a in &links {
                let mut claims = a.claims.lock();
                if claims.refused.contains(id) && claims.claim(id.clone()).is_ok() {
                    claims.refused.remove(id);
                    claims.served.insert(id.clone());
                    self.forget_conflict(id, &a.link);
                    tracing::info!(id = %id, link = %a.link.name, "conflict resolved: destination now served by the link");
                    break;
                }
            }
        }
    }
}

/// The network side's background work: announcing changes, forgetting requests
/// whose senders gave up, closing links when the dispatcher shuts down.
async fn maintain(peers: Weak<Peers>, interval: Duration) {
    loop {
        let Some(b) = peers.upgrade() else { return };
        if b.dispatcher.is_shut_down() {
            let links: Vec<Arc<Attached>> = b.links.lock().values().cloned().collect();
            drop(b);
            for a in links {
                a.link.net.close("dispatcher shut down").await;
            }
            return;
        }
        b.announce_changes();
        let links: Vec<Arc<Attached>> = b.links.lock().values().cloned().collect();
        for a in links {
            a.link.sweep();
        }
        let wake = async { b.wake.notified().await };
        let _ = tokio::time::timeout(interval, wake).await;
    }
}
