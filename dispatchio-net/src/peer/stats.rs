//! What the network side counts and reports: [`RemoteStats`], the conflicts
//! it saw, losses logged in batches.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

use super::Peers;
use dispatchio_core::Id;

/// A destination ID claimed by two processes: the later claim was refused.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # fn inbox() -> std::sync::Arc<dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>> {
/// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
/// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::queue("inbox")]).build().unwrap();
/// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).build().unwrap())
/// # }
/// use std::time::Duration;
/// use dispatchio_core::{Dispatcher, Id};
/// use dispatchio_net::{NetExt, RemoteConfig};
/// let addr = format!("unix:{}", std::env::temp_dir().join(format!("dispatchio-doc-{}-conflict.sock", std::process::id())).display());
/// let (server, client) = (Dispatcher::new(), Dispatcher::new());
/// server.register("bob", inbox())?;
/// client.register("bob", inbox())?; // served here too
/// let _listening = server.listen_with(&addr, &RemoteConfig::new("billing")).await?;
/// let _peer = client.connect_with(&addr, &RemoteConfig::new("web")).await?;
/// let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
/// while client.remote_stats().conflicts.is_empty() && tokio::time::Instant::now() < deadline {
///     tokio::time::sleep(Duration::from_millis(10)).await;
/// }
/// let conflict = &client.remote_stats().conflicts[0];
/// assert_eq!((&conflict.id, conflict.served_by.as_str()), (&Id::from("bob"), "this process"));
/// assert!(conflict.refused.starts_with("billing/")); // the peer's claim
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// The destination ID.
    pub id: Id,
    /// The link whose announcement was refused.
    pub refused: String,
    /// Who serves it: a link's name, or `"this process"`.
    pub served_by: String,
}

/// What the network side of a dispatcher has seen, for introspection and tests.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use dispatchio_core::Dispatcher;
/// use dispatchio_net::{NetExt, RemoteConfig};
/// let addr = format!("unix:{}", std::env::temp_dir().join(format!("dispatchio-doc-{}-remote-stats.sock", std::process::id())).display());
/// let (server, client) = (Dispatcher::new(), Dispatcher::new());
/// let _listening = server.listen_with(&addr, &RemoteConfig::new("billing")).await?;
/// let peer = client.connect_with(&addr, &RemoteConfig::new("web")).await?;
/// let stats = client.remote_stats();
/// assert_eq!(stats.links, [peer.name()]);
/// assert_eq!((stats.peers_lost, stats.incoming_undeliverable, stats.replies_lost), (0, 0, 0));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct RemoteStats {
    /// The names of the open links.
    pub links: Vec<String>,
    /// Destination ID conflicts still unresolved (the refused claim is
    /// retried when the ID is freed).
    pub conflicts: Vec<Conflict>,
    /// Requests sent over links and still waiting for their reply.
    pub pending_requests: usize,
    /// Conflicts reported since the network side started.
    pub conflicts_reported: u64,
    /// Connections lost (a peer vanished, or closed).
    pub peers_lost: u64,
    /// Requests failed because the connection carrying them was lost.
    pub requests_failed_peer_lost: u64,
    /// Incoming messages that could not be decoded or delivered, with no
    /// sender waiting to be told (those waiting got an error reply).
    pub incoming_undeliverable: u64,
    /// Replies that could not be written back to their peer.
    pub replies_lost: u64,
    /// Destination IDs and groups peers announced past the limits
    /// ([`RemoteConfig::max_announcements`](crate::RemoteConfig::max_announcements) per frame,
    /// [`RemoteConfig::max_announced`](crate::RemoteConfig::max_announced) per link), refused.
    pub announcements_refused: u64,
}

#[derive(Default)]
pub(super) struct Stats {
    pub(super) conflicts_reported: AtomicU64,
    pub(super) peers_lost: AtomicU64,
    pub(super) requests_failed_peer_lost: AtomicU64,
    pub(super) incoming_undeliverable: AtomicU64,
    pub(super) replies_lost: AtomicU64,
    pub(super) announcements_refused: AtomicU64,
}

/// Losses of one kind on one link, logged in batches rather than one line
/// each (a peer that floods can lose hundreds of thousands): the first of
/// a quiet spell at once, then at most one line a second with the count
/// since, and what is left when the connection ends. Each loss is also
/// counted in the network side's stats.
#[derive(Default)]
pub(super) struct Losses(Mutex<LossState>);

#[derive(Default)]
struct LossState {
    untold: u64,
    told_at: Option<std::time::Instant>,
}

impl Losses {
    /// How often a batch is logged while losses go on.
    const EVERY: Duration = Duration::from_secs(1);

    /// Counts one loss; the number to log now (this one included), if a
    /// line is due.
    pub(super) fn lost(&self) -> Option<u64> {
        let mut s = self.0.lock();
        s.untold += 1;
        let due = s.told_at.is_none_or(|t| t.elapsed() >= Self::EVERY);
        if !due {
            return None;
        }
        s.told_at = Some(std::time::Instant::now());
        Some(std::mem::take(&mut s.untold))
    }

    /// The losses not logged yet; the next one starts a new batch.
    pub(super) fn flush(&self) -> u64 {
        let mut s = self.0.lock();
        s.told_at = None;
        std::mem::take(&mut s.untold)
    }
}

impl Peers {
    pub(super) fn stats(&self) -> RemoteStats {
        let s = &self.stats;
        let mut links: Vec<String> =
            self.links.lock().values().map(|a| a.link.name.clone()).collect();
        links.sort();
        RemoteStats {
            links,
            conflicts: {
                let mut all: Vec<Conflict> = self.conflicts.lock().values().cloned().collect();
                all.sort_by(|a, b| (&a.id, &a.refused).cmp(&(&b.id, &b.refused)));
                all
            },
            pending_requests: self.links.lock().values().map(|a| a.link.pending.lock().len()).sum(),
            conflicts_reported: s.conflicts_reported.load(Ordering::Relaxed),
            peers_lost: s.peers_lost.load(Ordering::Relaxed),
            requests_failed_peer_lost: s.requests_failed_peer_lost.load(Ordering::Relaxed),
            incoming_undeliverable: s.incoming_undeliverable.load(Ordering::Relaxed),
            replies_lost: s.replies_lost.load(Ordering::Relaxed),
            announcements_refused: s.announcements_refused.load(Ordering::Relaxed),
        }
    }
}
