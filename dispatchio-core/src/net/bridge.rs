//! The bridge between the dispatcher and its network links: what makes a
//! destination served by another process look like a local one.
//!
//! * [`Dispatcher::listen`] and [`Dispatcher::connect`] open links; every
//!   link of one dispatcher shares one bridge (so an ID announced by two
//!   peers is seen as the conflict it is).
//! * Outgoing: each link is a [`crate::Link`] the dispatcher routes to. A
//!   message is turned into a [`WireMessage`] (content by
//!   [`Content::encode`](crate::Content::encode)) and queued on the link
//!   without waiting; a request's [`ReplySender`] is kept until the peer's
//!   [`WireReply`] (or the loss of the peer) completes it.
//! * Incoming: a [`WireMessage`] is rebuilt into a [`Message`] (content typed
//!   through the [`ContentRegistry`] by type name, or [`DynContent`](crate::DynContent))
//!   and given to [`Dispatcher::deliver_incoming`], whose reply goes back
//!   over the same link.
//! * Announcements: each connection starts with the complete list of local
//!   destination IDs and subscribed groups; changes are found by comparing
//!   snapshots every [`RemoteConfig::announce_interval`] (or at once after
//!   [`Dispatcher::announce_changes`]) and sent to every link.

use std::any::Any;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::hash::BuildHasherDefault;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::Notify;

use super::link::{self as netlink, LinkEvents, LinkId, LinkState};
use super::wire::{
    self, Announcement, BinOut, Content as WireContent, ContentOut, IdOut, MessageOut, Payload,
    RemoteError, RemoteErrorKind, ReplyResult, WireContentRef, WireId, WireIdRef, WireMessage,
    WireMessageRef, WireReply,
};
use super::{Address, DEFAULT_MAX_ANNOUNCEMENTS, NetConfig, NetError, PeerLost, SendError};
use crate::content::{ContentRef, ContentRegistry, Empty};
use crate::dispatcher::{Dispatcher, IdHasher, RouteCache};
use crate::error::{Error, HandlerError, SyncError};
use crate::id::{Id, MessageId, SharedStr};
use crate::listener::{Delivery, ReplySender};
use crate::message::{Envelope, Message};

/// How a dispatcher listens and dials: the link settings of [`NetConfig`]
/// plus what the bridge needs (the content registry, the announcement
/// interval).
///
/// ```
/// use dispatchio_core::net::RemoteConfig;
/// use dispatchio_core::{ContentRegistry, Text};
/// let mut registry = ContentRegistry::new();
/// registry.register::<Text>();
/// let config = RemoteConfig::new("billing").secret("a long random string").registry(registry);
/// ```
#[derive(Debug, Clone)]
pub struct RemoteConfig {
    net: NetConfig,
    registry: Arc<ContentRegistry>,
    announce_interval: Duration,
    max_announced: usize,
}

impl Default for RemoteConfig {
    fn default() -> RemoteConfig {
        RemoteConfig::new(default_peer_name())
    }
}

fn default_peer_name() -> String {
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "dispatchio".to_owned());
    format!("{exe}[{}]", std::process::id())
}

impl RemoteConfig {
    /// Defaults: those of [`NetConfig::new`] except a queue of 8192 frames per
    /// link; an empty registry (every content type arrives as
    /// [`DynContent`](crate::DynContent)); changes announced within 100 ms;
    /// at most [`DEFAULT_MAX_ANNOUNCEMENTS`] destination IDs and groups
    /// announced by a peer, in one frame and in all.
    pub fn new(peer_name: impl Into<String>) -> RemoteConfig {
        RemoteConfig {
            net: NetConfig::new(peer_name).queue_capacity(8192),
            registry: Arc::new(ContentRegistry::new()),
            announce_interval: Duration::from_millis(100),
            max_announced: DEFAULT_MAX_ANNOUNCEMENTS,
        }
    }

    /// The shared secret: presented when dialling, required from peers when
    /// listening.
    pub fn secret(mut self, secret: impl Into<String>) -> Self {
        self.net = self.net.secret(secret);
        self
    }

    /// Lets a TCP listener accept peers without a shared secret (off by default).
    pub fn allow_unauthenticated(mut self, allow: bool) -> Self {
        self.net = self.net.allow_unauthenticated(allow);
        self
    }

    /// The largest frame accepted or sent, in bytes.
    pub fn max_frame_len(mut self, bytes: usize) -> Self {
        self.net = self.net.max_frame_len(bytes);
        self
    }

    /// How many messages a link queues for sending (replies have room of
    /// their own: [`reply_capacity`](Self::reply_capacity)). A send that
    /// finds the queue full fails to its sender (the dispatcher's send
    /// never waits); while a link is down, sends queue up to this bound.
    /// Past it, room is kept for destinations with little queued (see
    /// [`NetConfig::queue_capacity`]), so one destination's flood does not
    /// refuse every other destination of the peer.
    pub fn queue_capacity(mut self, frames: usize) -> Self {
        self.net = self.net.queue_capacity(frames);
        self
    }

    /// How many replies to a peer's requests a link queues, apart from the
    /// messages (by default as many as [`queue_capacity`](Self::queue_capacity)).
    /// A reply that finds them full is lost: counted
    /// ([`RemoteStats::replies_lost`]) and logged, in batches, and the
    /// requester waits until its timeout. Only a peer that does not read
    /// its replies while it goes on asking fills them.
    pub fn reply_capacity(mut self, frames: usize) -> Self {
        self.net = self.net.reply_capacity(frames);
        self
    }

    /// Reconnect delays of a dialled link (see [`NetConfig::reconnect_backoff`]).
    pub fn reconnect_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.net = self.net.reconnect_backoff(initial, max);
        self
    }

    /// The keep-alive interval (see [`NetConfig::keepalive`]).
    pub fn keepalive(mut self, interval: Option<Duration>) -> Self {
        self.net = self.net.keepalive(interval);
        self
    }

    /// How long a handshake may take.
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.net = self.net.handshake_timeout(timeout);
        self
    }

    /// The most announcements one frame from a peer may list (see
    /// [`NetConfig::max_announcements`]): a frame listing more is refused
    /// whole (logged, counted in [`RemoteStats::announcements_refused`]),
    /// and the link carries on. A peer's snapshot of what it serves is one
    /// frame, so this bounds what a peer may serve when it connects.
    pub fn max_announcements(mut self, entries: usize) -> Self {
        self.net = self.net.max_announcements(entries);
        self
    }

    /// The most destination IDs and groups a peer may have announced on
    /// one link at a time (at least 1; default
    /// [`DEFAULT_MAX_ANNOUNCEMENTS`]): what each costs here (a route, a
    /// claim) is bounded per peer. Claims past it are refused (logged once
    /// per frame with their number, counted in
    /// [`RemoteStats::announcements_refused`]); withdrawing makes room.
    pub fn max_announced(mut self, entries: usize) -> Self {
        self.max_announced = entries.max(1);
        self
    }

    /// The types that incoming content is decoded into, by type name.
    pub fn registry(mut self, registry: ContentRegistry) -> Self {
        self.registry = Arc::new(registry);
        self
    }

    /// How often local changes (listeners registered or gone, groups
    /// subscribed or left) are looked for and announced to peers. The first
    /// `listen`/`connect` of a dispatcher sets it for all its links.
    pub fn announce_interval(mut self, interval: Duration) -> Self {
        self.announce_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// The link settings underneath.
    pub fn net(&self) -> &NetConfig {
        &self.net
    }
}

/// A destination ID claimed by two processes: the later claim was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// The destination ID.
    pub id: Id,
    /// The link whose announcement was refused.
    pub refused: String,
    /// Who serves it: a link's name, or `"this process"`.
    pub served_by: String,
}

/// What the bridge of a dispatcher has seen, for introspection and tests.
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
    /// Conflicts reported since the bridge started.
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
    /// ([`RemoteConfig::max_announcements`] per frame,
    /// [`RemoteConfig::max_announced`] per link), refused.
    pub announcements_refused: u64,
}

#[derive(Default)]
struct Stats {
    conflicts_reported: AtomicU64,
    peers_lost: AtomicU64,
    requests_failed_peer_lost: AtomicU64,
    incoming_undeliverable: AtomicU64,
    replies_lost: AtomicU64,
    announcements_refused: AtomicU64,
}

/// The destinations and groups this process serves, as last announced.
#[derive(Default, Clone, PartialEq, Eq)]
struct Served {
    dests: BTreeSet<Id>,
    groups: BTreeSet<Id>,
}

/// One dispatcher's network side: every link, the announced state, the stats.
struct Bridge {
    dispatcher: Dispatcher,
    // Looked up for every frame received: a fast hash for our own link IDs.
    links: Mutex<HashMap<LinkId, Arc<PeerLink>, BuildHasherDefault<IdHasher>>>,
    announced: Mutex<Served>,
    /// By destination ID and refused link: found without a scan, however
    /// many a peer's announcements cause.
    conflicts: Mutex<HashMap<(Id, String), Conflict>>,
    stats: Arc<Stats>,
    wake: Notify,
}

/// What a peer announced on one link.
#[derive(Default)]
struct Claims {
    /// Destinations routed to this link.
    served: HashSet<Id>,
    /// Destinations refused because someone else serves them.
    refused: HashSet<Id>,
    /// Groups this link is a member of.
    groups: HashSet<Id>,
    /// After a reconnect: what the link served before, until the peer's
    /// first frame (its full snapshot) says what is still true.
    stale: Option<(HashSet<Id>, HashSet<Id>)>,
}

/// The type name and IDs of the last message received on a link, reused
/// while the next ones repeat them (a stream from one sender to one
/// destination does), so that rebuilding an envelope allocates no string.
#[derive(Default)]
struct Recent {
    type_name: Option<SharedStr>,
    source: Option<Id>,
    dest: Option<Id>,
    group: Option<Id>,
    /// Where the last message went.
    routes: RouteCache,
}

impl Recent {
    fn type_name(&mut self, name: &str) -> SharedStr {
        match &self.type_name {
            Some(t) if t.as_str() == name => t.clone(),
            _ => {
                let t = SharedStr::from(name.to_owned());
                self.type_name = Some(t.clone());
                t
            }
        }
    }

    fn id(slot: &mut Option<Id>, wire: WireIdRef<'_>) -> Id {
        match wire {
            WireIdRef::Int(i) => Id::Int(i),
            WireIdRef::Str(s) => match &*slot {
                Some(id @ Id::Str(last)) if last.as_str() == s => id.clone(),
                _ => {
                    let id = Id::from(s.to_owned());
                    *slot = Some(id.clone());
                    id
                }
            },
        }
    }
}

struct Pending {
    reply: ReplySender,
    request: Envelope,
}

/// One network link as the dispatcher sees it: a [`crate::Link`].
struct PeerLink {
    net: netlink::Link,
    name: String,
    registry: Arc<ContentRegistry>,
    pending: Mutex<HashMap<u64, Pending>>,
    claims: Mutex<Claims>,
    /// Whether `claims.stale` is set (read for every frame without a lock).
    stale: AtomicBool,
    recent: Mutex<Recent>,
    seq: AtomicU64,
    stats: Arc<Stats>,
    /// Replies lost, and incoming messages nobody could be told of, for
    /// logging in batches.
    replies_lost: Losses,
    undeliverable: Losses,
    /// The most destination IDs and groups the peer may hold announced.
    max_announced: usize,
}

/// Losses of one kind on one link, logged in batches rather than one line
/// each (a peer that floods can lose hundreds of thousands): the first of
/// a quiet spell at once, then at most one line a second with the count
/// since, and what is left when the connection ends. Each loss is also
/// counted in the bridge's stats.
#[derive(Default)]
struct Losses(Mutex<LossState>);

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
    fn lost(&self) -> Option<u64> {
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
    fn flush(&self) -> u64 {
        let mut s = self.0.lock();
        s.told_at = None;
        std::mem::take(&mut s.untold)
    }
}

fn bridges() -> &'static Mutex<Vec<Weak<Bridge>>> {
    static BRIDGES: OnceLock<Mutex<Vec<Weak<Bridge>>>> = OnceLock::new();
    BRIDGES.get_or_init(|| Mutex::new(Vec::new()))
}

impl Bridge {
    fn find(dispatcher: &Dispatcher) -> Option<Arc<Bridge>> {
        bridges().lock().iter().filter_map(Weak::upgrade).find(|b| b.dispatcher.same(dispatcher))
    }

    /// The bridge of `dispatcher`, started on first use.
    fn of(dispatcher: &Dispatcher, config: &RemoteConfig) -> Arc<Bridge> {
        let mut all = bridges().lock();
        all.retain(|w| w.strong_count() > 0);
        if let Some(b) =
            all.iter().filter_map(Weak::upgrade).find(|b| b.dispatcher.same(dispatcher))
        {
            return b;
        }
        let bridge = Arc::new(Bridge {
            dispatcher: dispatcher.clone(),
            links: Mutex::new(HashMap::default()),
            announced: Mutex::new(Served::default()),
            conflicts: Mutex::new(HashMap::new()),
            stats: Arc::new(Stats::default()),
            wake: Notify::new(),
        });
        all.push(Arc::downgrade(&bridge));
        tokio::spawn(maintain(Arc::downgrade(&bridge), config.announce_interval));
        bridge
    }

    fn peer(&self, id: LinkId) -> Option<Arc<PeerLink>> {
        self.links.lock().get(&id).cloned()
    }

    /// What this process serves now: local listeners, groups with a local member.
    fn serving_now(&self) -> Served {
        let snap = self.dispatcher.snapshot();
        let dests = snap.listeners.into_iter().collect();
        let groups = snap
            .groups
            .into_iter()
            .map(|(g, _)| g)
            .filter(|g| !self.dispatcher.local_members(g).is_empty())
            .collect();
        Served { dests, groups }
    }

    /// Sends every change since the last announcement to every link; returns
    /// the complete current state.
    fn announce_changes(&self) -> Served {
        let mut announced = self.announced.lock();
        let now = self.serving_now();
        if *announced == now {
            return now;
        }
        let mut changes = Vec::new();
        changes.extend(
            now.dests.difference(&announced.dests).map(|d| Announcement::Serve(wire_id(d))),
        );
        changes.extend(
            announced.dests.difference(&now.dests).map(|d| Announcement::Withdraw(wire_id(d))),
        );
        changes.extend(
            now.groups.difference(&announced.groups).map(|g| Announcement::Subscribe(wire_id(g))),
        );
        changes.extend(
            announced.groups.difference(&now.groups).map(|g| Announcement::Unsubscribe(wire_id(g))),
        );
        let links: Vec<Arc<PeerLink>> = self.links.lock().values().cloned().collect();
        for link in links {
            if let Err(e) = link.net.try_send(Payload::Announce(changes.clone())) {
                // The peer then routes by stale information; it learns the
                // truth from the snapshot of its next connection.
                tracing::warn!(link = %link.name, error = %e, "cannot announce changes");
            }
        }
        tracing::debug!(changes = changes.len(), "announced changes to peers");
        *announced = now.clone();
        now
    }

    /// Records a refused claim; logs it while `logged` allows (a frame's
    /// first few conflicts are logged one by one, the rest in a count).
    fn report_conflict(&self, id: &Id, refused: &PeerLink, log: bool) {
        let served_by =
            self.dispatcher.remote_link_name(id).unwrap_or_else(|| "this process".to_owned());
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
        let links: Vec<Arc<PeerLink>> = self.links.lock().values().cloned().collect();
        for id in freed {
            for link in &links {
                let mut claims = link.claims.lock();
                if claims.refused.contains(id)
                    && self.dispatcher.attach_destination(id.clone(), link.clone()).is_ok()
                {
                    claims.refused.remove(id);
                    claims.served.insert(id.clone());
                    self.forget_conflict(id, link);
                    tracing::info!(id = %id, link = %link.name, "conflict resolved: destination now served by the link");
                    break;
                }
            }
        }
    }

    fn apply(&self, link: &Arc<PeerLink>, changes: Vec<Announcement>) {
        let mut freed = Vec::new();
        // Claims past the link's limit, and conflicts, of this frame.
        let (mut over, mut conflicts) = (0u64, 0u64);
        {
            let mut claims = link.claims.lock();
            let stale = claims.stale.take();
            link.stale.store(false, Ordering::Release);
            let (mut stale_dests, mut stale_groups) = stale.clone().unwrap_or_default();
            for change in changes {
                // What this peer has announced and we hold: bounded.
                let held = claims.served.len() + claims.refused.len() + claims.groups.len();
                match change {
                    Announcement::Serve(w) => {
                        let id = core_id(w);
                        stale_dests.remove(&id);
                        if claims.served.contains(&id) {
                            continue;
                        }
                        // A claim refused before is tried again (its holder
                        // may be gone), and is held already.
                        let known = claims.refused.contains(&id);
                        if !known && held >= link.max_announced {
                            over += 1;
                            continue;
                        }
                        match self.dispatcher.attach_destination(id.clone(), link.clone()) {
                            Ok(()) => {
                                if known {
                                    claims.refused.remove(&id);
                                    self.forget_conflict(&id, link);
                                }
                                claims.served.insert(id);
                            }
                            Err(_) => {
                                claims.refused.insert(id.clone());
                                conflicts += 1;
                                self.report_conflict(&id, link, conflicts <= CONFLICTS_LOGGED);
                            }
                        }
                    }
                    Announcement::Withdraw(w) => {
                        let id = core_id(w);
                        if claims.refused.remove(&id) {
                            self.forget_conflict(&id, link);
                        }
                        if claims.served.remove(&id) {
                            self.withdraw(link, &id);
                            freed.push(id);
                        }
                    }
                    Announcement::Subscribe(w) => {
                        let g = core_id(w);
                        stale_groups.remove(&g);
                        if claims.groups.contains(&g) {
                            continue;
                        }
                        if held >= link.max_announced {
                            over += 1;
                            continue;
                        }
                        claims.groups.insert(g.clone());
                        self.dispatcher.attach_group(g, link.clone());
                    }
                    Announcement::Unsubscribe(w) => {
                        let g = core_id(w);
                        if claims.groups.remove(&g) {
                            self.dispatcher.unsubscribe(&Id::from(link.name.clone()), &g);
                        }
                    }
                }
            }
            if stale.is_some() {
                freed.extend(self.forget_stale(link, &mut claims, stale_dests, stale_groups));
            }
        }
        if conflicts > CONFLICTS_LOGGED {
            tracing::error!(
                link = %link.name,
                more = conflicts - CONFLICTS_LOGGED,
                "more destination IDs of one announcement are served by another process; refused"
            );
        }
        if over > 0 {
            self.stats.announcements_refused.fetch_add(over, Ordering::Relaxed);
            tracing::error!(
                link = %link.name,
                refused = over,
                limit = link.max_announced,
                "announced destination IDs and groups refused: the peer has announced as many as a link may hold (RemoteConfig::max_announced)"
            );
        }
        self.retry_refused(&freed);
    }

    /// Removes the route of `id` if it is still this link's.
    fn withdraw(&self, link: &PeerLink, id: &Id) {
        if self.dispatcher.remote_link_name(id).is_some_and(|l| l == link.name) {
            let _ = self.dispatcher.deregister(id);
        }
    }

    /// Drops what a reconnected link served before and no longer announces.
    fn forget_stale(
        &self,
        link: &PeerLink,
        claims: &mut Claims,
        dests: HashSet<Id>,
        groups: HashSet<Id>,
    ) -> Vec<Id> {
        let mut freed = Vec::new();
        for id in dests {
            if claims.served.remove(&id) {
                self.withdraw(link, &id);
                freed.push(id);
            }
        }
        for g in groups {
            if claims.groups.remove(&g) {
                self.dispatcher.unsubscribe(&Id::from(link.name.clone()), &g);
            }
        }
        freed
    }

    fn stats(&self) -> RemoteStats {
        let s = &self.stats;
        let mut links: Vec<String> = self.links.lock().values().map(|l| l.name.clone()).collect();
        links.sort();
        RemoteStats {
            links,
            conflicts: {
                let mut all: Vec<Conflict> = self.conflicts.lock().values().cloned().collect();
                all.sort_by(|a, b| (&a.id, &a.refused).cmp(&(&b.id, &b.refused)));
                all
            },
            pending_requests: self.links.lock().values().map(|l| l.pending.lock().len()).sum(),
            conflicts_reported: s.conflicts_reported.load(Ordering::Relaxed),
            peers_lost: s.peers_lost.load(Ordering::Relaxed),
            requests_failed_peer_lost: s.requests_failed_peer_lost.load(Ordering::Relaxed),
            incoming_undeliverable: s.incoming_undeliverable.load(Ordering::Relaxed),
            replies_lost: s.replies_lost.load(Ordering::Relaxed),
            announcements_refused: s.announcements_refused.load(Ordering::Relaxed),
        }
    }
}

/// The bridge's background work: announcing changes, forgetting requests
/// whose senders gave up, closing links when the dispatcher shuts down.
async fn maintain(bridge: Weak<Bridge>, interval: Duration) {
    loop {
        let Some(b) = bridge.upgrade() else { return };
        if b.dispatcher.is_shut_down() {
            let links: Vec<Arc<PeerLink>> = b.links.lock().values().cloned().collect();
            drop(b);
            for link in links {
                link.net.close("dispatcher shut down").await;
            }
            return;
        }
        b.announce_changes();
        let links: Vec<Arc<PeerLink>> = b.links.lock().values().cloned().collect();
        for link in links {
            link.sweep();
        }
        let wake = async { b.wake.notified().await };
        let _ = tokio::time::timeout(interval, wake).await;
    }
}

/// One `listen` or `connect` call's view of the bridge: its content
/// registry and its limit on what a peer may announce.
struct Events {
    bridge: Arc<Bridge>,
    registry: Arc<ContentRegistry>,
    max_announced: usize,
}

impl Events {
    /// A frame other than an announcement arrived: if it is the first after
    /// a reconnect, the peer's snapshot would have come first, so it serves
    /// nothing.
    fn not_announcing(&self, peer: &Arc<PeerLink>) {
        // The flag spares a lock per frame; it is set before the
        // connection's first frame is read and cleared under the lock.
        if !peer.stale.load(Ordering::Acquire) {
            return;
        }
        let first_after_reconnect = peer.claims.lock().stale.is_some();
        if first_after_reconnect {
            self.bridge.apply(peer, Vec::new());
        }
    }
}

/// The borrowed view of an owned message.
fn view(m: &WireMessage) -> WireMessageRef<'_> {
    fn id(w: &WireId) -> WireIdRef<'_> {
        match w {
            WireId::Int(i) => WireIdRef::Int(*i),
            WireId::Str(s) => WireIdRef::Str(s),
        }
    }
    WireMessageRef {
        type_name: &m.type_name,
        id: m.id,
        source: m.source.as_ref().map(id),
        dest: m.dest.as_ref().map(id),
        group: m.group.as_ref().map(id),
        response_required: m.response_required,
        is_response: m.is_response,
        sync: m.sync,
        blocking: m.blocking,
        seq: m.seq,
        content: m
            .content
            .as_ref()
            .map(|c| WireContentRef { type_name: &c.type_name, bytes: &c.bytes }),
    }
}

impl LinkEvents for Events {
    fn announcements(&self) -> Vec<Announcement> {
        let now = self.bridge.announce_changes();
        let mut all: Vec<Announcement> = now
            .dests
            .iter()
            .map(|d| Announcement::Serve(wire_id(d)))
            .chain(now.groups.iter().map(|g| Announcement::Subscribe(wire_id(g))))
            .collect();
        if all.is_empty() {
            // An empty snapshot is not sent at all, and the peer would keep
            // what it knew from before a reconnect until our first frame.
            // Withdrawing an ID we do not serve is true and changes nothing
            // else, so the snapshot frame always goes out.
            all.push(Announcement::Withdraw(WireId::Str(String::new())));
        }
        all
    }

    fn link_up(&self, link: &netlink::Link) {
        let mut links = self.bridge.links.lock();
        if let Some(existing) = links.get(&link.id()) {
            // A reconnect: the peer's first frame says what is still served.
            let mut claims = existing.claims.lock();
            let stale = (claims.served.clone(), claims.groups.clone());
            claims.stale = Some(stale);
            existing.stale.store(true, Ordering::Release);
            return;
        }
        let name = format!("{}/{}", link.peer_name(), link.id());
        let peer = Arc::new(PeerLink {
            net: link.clone(),
            name,
            registry: self.registry.clone(),
            pending: Mutex::new(HashMap::new()),
            claims: Mutex::new(Claims::default()),
            stale: AtomicBool::new(false),
            recent: Mutex::new(Recent::default()),
            seq: AtomicU64::new(0),
            stats: self.bridge.stats.clone(),
            replies_lost: Losses::default(),
            undeliverable: Losses::default(),
            max_announced: self.max_announced,
        });
        tracing::info!(link = %peer.name, remote = %link.remote(), "peer link up");
        let owner: Weak<dyn Any + Send + Sync> = Arc::downgrade(&peer) as _;
        link.set_owner(owner);
        links.insert(link.id(), peer);
    }

    async fn received(&self, link: &netlink::Link, payload: Payload) {
        let Some(peer) = self.bridge.peer(link.id()) else { return };
        match payload {
            Payload::Announce(changes) => self.bridge.apply(&peer, changes),
            other => {
                self.not_announcing(&peer);
                match other {
                    Payload::Message(m) => peer.incoming(&self.bridge.dispatcher, view(&m)),
                    Payload::Reply(r) => peer.complete(r),
                    Payload::Announce(_) => {}
                }
            }
        }
    }

    fn announcement_refused(&self, link: &netlink::Link, entries: usize) {
        self.bridge.stats.announcements_refused.fetch_add(entries as u64, Ordering::Relaxed);
        // A refused snapshot still ends what a reconnect left unsure: what
        // the peer served before is forgotten, not kept on trust.
        if let Some(peer) = self.bridge.peer(link.id()) {
            self.not_announcing(&peer);
        }
    }

    async fn received_message(&self, link: &netlink::Link, message: WireMessageRef<'_>) {
        // The peer attached to the link: no lock and map lookup per frame.
        let attached = link.owner().and_then(|o| o.downcast::<PeerLink>().ok());
        let Some(peer) = attached.or_else(|| self.bridge.peer(link.id())) else { return };
        self.not_announcing(&peer);
        peer.incoming(&self.bridge.dispatcher, message);
    }

    fn link_down(&self, link: &netlink::Link, lost: &PeerLost) {
        let Some(peer) = self.bridge.peer(link.id()) else { return };
        self.bridge.stats.peers_lost.fetch_add(1, Ordering::Relaxed);
        peer.report_losses();
        let reason = format!("peer lost: {}", lost.reason);
        peer.fail_pending(&lost.pending_requests, &reason);
        if lost.reconnecting {
            // Routes stay: sends queue on the link (up to its bound) until
            // it is back; the peer's next snapshot corrects what changed.
            return;
        }
        self.bridge.links.lock().remove(&link.id());
        // Whatever is left (requests queued but never written) fails too.
        let rest: Vec<u64> = peer.pending.lock().keys().copied().collect();
        peer.fail_pending(&rest, &reason);
        let freed: Vec<Id> = peer.claims.lock().served.drain().collect();
        self.bridge.dispatcher.detach_link(&peer.name);
        self.bridge.conflicts.lock().retain(|_, c| c.refused != peer.name);
        self.bridge.retry_refused(&freed);
    }
}

impl PeerLink {
    fn link_error(&self, reason: impl Into<String>) -> Error {
        Error::Link { link: self.name.clone(), reason: reason.into() }
    }

    fn fail_pending(&self, ids: &[u64], reason: &str) {
        let failed: Vec<Pending> = {
            let mut pending = self.pending.lock();
            ids.iter().filter_map(|id| pending.remove(id)).collect()
        };
        if failed.is_empty() {
            return;
        }
        self.stats.requests_failed_peer_lost.fetch_add(failed.len() as u64, Ordering::Relaxed);
        tracing::warn!(link = %self.name, requests = failed.len(), reason, "failing requests pending on a lost peer");
        for p in failed {
            p.reply.send(Err(self.link_error(reason)));
        }
    }

    /// Forgets requests whose senders gave up (timed out).
    fn sweep(&self) {
        let gone: Vec<u64> = {
            let mut pending = self.pending.lock();
            let gone: Vec<u64> =
                pending.iter().filter(|(_, p)| !p.reply.is_wanted()).map(|(id, _)| *id).collect();
            for id in &gone {
                pending.remove(id);
            }
            gone
        };
        for id in gone {
            self.net.forget_request(id);
        }
    }

    /// A reply from the peer completes the request waiting for it.
    fn complete(&self, reply: WireReply) {
        let Some(p) = self.pending.lock().remove(&reply.to) else {
            tracing::debug!(link = %self.name, to = reply.to, "reply to a request nobody waits for");
            return;
        };
        let answer = match reply.result {
            ReplyResult::Ok(content) => match self.decode(
                content
                    .as_ref()
                    .map(|c| WireContentRef { type_name: &c.type_name, bytes: &c.bytes }),
            ) {
                Ok(content) => Ok(Message::reply_to(&p.request, content, None)),
                Err(reason) => Err(self.link_error(reason)),
            },
            ReplyResult::Err(e) => Err(self.error_from_remote(e, &p.request)),
        };
        p.reply.send(answer);
    }

    fn decode(&self, content: Option<WireContentRef<'_>>) -> Result<ContentRef, String> {
        match content {
            None => Ok(Arc::new(Empty)),
            Some(c) => {
                check_depth(c.bytes).map_err(|reason| {
                    format!("cannot decode content of type {}: {reason}", c.type_name)
                })?;
                self.registry.decode(c.type_name, c.bytes).map_err(|e| e.to_string())
            }
        }
    }

    /// A message from the peer, delivered to local listeners; its reply (when
    /// one is wanted) goes back over this link.
    fn incoming(self: &Arc<Self>, dispatcher: &Dispatcher, m: WireMessageRef<'_>) {
        let id = m.id;
        let wants_reply = m.response_required;
        let content = match self.decode(m.content) {
            Ok(c) => c,
            Err(reason) => {
                tracing::warn!(link = %self.name, id, reason = %reason, "incoming content does not decode");
                if wants_reply {
                    self.write_reply(
                        id,
                        Err(RemoteError {
                            kind: RemoteErrorKind::Other,
                            text: format!("other\n{reason}"),
                        }),
                    );
                } else {
                    self.undeliverable(id, &reason);
                }
                return;
            }
        };
        // Held until the message is delivered (its route is cached here
        // too): only this link's reader takes it, one message at a time.
        let mut recent = self.recent.lock();
        let recent = &mut *recent;
        // A registered type names itself with a static string: no shared
        // string to count references to.
        let ty = match content.static_type_name() {
            Some(name) if name == m.type_name => SharedStr::from_static(name),
            _ => recent.type_name(m.type_name),
        };
        let mut env = Envelope::new(ty);
        env.source = m.source.map(|w| Recent::id(&mut recent.source, w));
        env.dest = m.dest.map(|w| Recent::id(&mut recent.dest, w));
        env.group = m.group.map(|w| Recent::id(&mut recent.group, w));
        env.id = if wants_reply { next_incoming_request_id() } else { MessageId(id as i64) };
        env.response_required = m.response_required;
        env.is_response = m.is_response;
        env.sync = false;
        env.blocking = m.blocking;
        let reply = if wants_reply {
            let me = Arc::clone(self);
            ReplySender::callback(env.id, move |answer| {
                let result = match answer {
                    Ok(msg) => me.encode_content(msg.content()).map_err(|reason| RemoteError {
                        kind: RemoteErrorKind::Other,
                        text: format!("other\n{reason}"),
                    }),
                    Err(e) => Err(error_to_remote(&e)),
                };
                me.write_reply(id, result);
            })
        } else {
            ReplySender::unwanted()
        };
        let message = Message::from_parts(env, content);
        if wants_reply && message.envelope().group.is_some() {
            // Every local subscriber's answer is collected, so the requester
            // learns of each failure (the core's incoming path keeps only
            // the first member's answer).
            return self.incoming_group_request(dispatcher, message, reply);
        }
        if let Err(e) = dispatcher.deliver_incoming_cached(message, reply, &mut recent.routes) {
            if !wants_reply {
                self.undeliverable(id, &e);
            }
        }
    }

    fn incoming_group_request(
        &self,
        dispatcher: &Dispatcher,
        message: Message,
        reply: ReplySender,
    ) {
        let Some(group) = message.envelope().group.clone() else { return };
        let members: Vec<(Id, crate::dispatcher::Route)> = dispatcher
            .snapshot()
            .groups
            .into_iter()
            .find(|(g, _)| *g == group)
            .map(|(_, ids)| ids)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|id| dispatcher.local_route(&id).map(|r| (id, r)))
            .collect();
        if members.is_empty() || message.envelope().validate().is_err() {
            // The core's path gives the same errors as a local send would.
            let _ = dispatcher.deliver_incoming(message, reply);
            return;
        }
        let id = message.id();
        let collect = Arc::new(GroupAnswers {
            state: Mutex::new(GroupState {
                remaining: members.len(),
                first: None,
                succeeded: 0,
                failures: Vec::new(),
                reply: Some(reply),
                group: group.clone(),
            }),
        });
        for (member, route) in members {
            let collect = collect.clone();
            let slot = ReplySender::callback(id, move |answer| collect.answer(member, answer));
            dispatcher.deliver_local(&route, message.clone(), slot);
        }
    }

    /// Queues a reply to the peer. Replies have room of their own in the
    /// link's queue ([`RemoteConfig::reply_capacity`]); one that finds it
    /// full is lost, not kept waiting: only a peer that does not read its
    /// replies while it goes on asking fills it, and waiting for room
    /// (a task per reply, as this once did) held every reply it never read.
    fn write_reply(&self, to: u64, result: Result<Option<WireContent>, RemoteError>) {
        let result = match result {
            Ok(c) => ReplyResult::Ok(c),
            Err(e) => ReplyResult::Err(e),
        };
        if let Err(e) = self.net.try_send(Payload::Reply(WireReply { to, result })) {
            self.reply_lost(to, &e);
        }
    }

    fn reply_lost(&self, to: u64, why: &SendError) {
        self.stats.replies_lost.fetch_add(1, Ordering::Relaxed);
        let Some(lost) = self.replies_lost.lost() else { return };
        if matches!(why, SendError::Closed) {
            // The connection ended with requests unanswered: the peer
            // fails each of them as it loses the link, so nobody waits in
            // vain, and this is no fault of the peer's.
            tracing::warn!(
                link = %self.name,
                lost,
                last = to,
                "replies lost: the link closed before they were written (their requesters are told the link was lost)"
            );
        } else {
            tracing::error!(
                link = %self.name,
                lost,
                last = to,
                why = %why,
                "replies lost (the peer does not read them as fast as it asks; counted in remote_stats)"
            );
        }
    }

    /// An incoming message nobody waits on could not be delivered.
    fn undeliverable(&self, id: u64, why: &dyn std::fmt::Display) {
        self.stats.incoming_undeliverable.fetch_add(1, Ordering::Relaxed);
        if let Some(lost) = self.undeliverable.lost() {
            tracing::warn!(link = %self.name, lost, last = id, error = %why, "incoming messages undeliverable");
        }
    }

    /// Tells what was lost and not yet told, as the connection ends.
    fn report_losses(&self) {
        let lost = self.replies_lost.flush();
        if lost > 0 {
            tracing::warn!(link = %self.name, lost, "replies lost on this connection, not logged yet (counted in remote_stats)");
        }
        let lost = self.undeliverable.flush();
        if lost > 0 {
            tracing::warn!(link = %self.name, lost, "incoming messages undeliverable");
        }
    }

    fn encode_content(&self, content: &ContentRef) -> Result<Option<WireContent>, String> {
        if content.is::<Empty>() {
            return Ok(None);
        }
        let bytes = content.encode().map_err(|e| e.to_string())?;
        Ok(Some(WireContent {
            type_name: content.type_name().to_owned(),
            bytes: Bytes::from(bytes),
        }))
    }

    fn error_from_remote(&self, e: RemoteError, request: &Envelope) -> Error {
        let (tag, text) = match e.text.split_once('\n') {
            Some((tag, text)) => (tag, text.to_owned()),
            None => ("", e.text.clone()),
        };
        let id = request.id;
        let dest = || request.dest.clone();
        match e.kind {
            RemoteErrorKind::NoRoute => match (&request.dest, &request.group) {
                (_, Some(g)) => Error::NoSubscribers(g.clone()),
                (Some(d), None) => Error::UnknownDestination(d.clone()),
                (None, None) => self.link_error(text),
            },
            RemoteErrorKind::Handler => {
                Error::Handler { handler: tag.to_owned(), error: HandlerError::new(text) }
            }
            RemoteErrorKind::Unsupported => Error::Sync(SyncError::Remote),
            RemoteErrorKind::Shutdown => self.link_error("the peer's dispatcher is shut down"),
            RemoteErrorKind::PeerLost => self.link_error(text),
            _ => match tag {
                "unrouted" => Error::Unrouted { id, ty: request.ty.to_string(), listener: dest() },
                "dropped" => Error::Dropped { id, listener: dest() },
                "no-reply" => Error::NoReply { id },
                "mailbox-full" => match (request.dest.clone(), text.split_once('\n')) {
                    (Some(dest), Some((capacity, _))) => match capacity.parse() {
                        Ok(capacity) => Error::MailboxFull { dest, capacity },
                        Err(_) => {
                            self.link_error(format!("the peer answered with an error: {text}"))
                        }
                    },
                    _ => self.link_error(format!("the peer answered with an error: {text}")),
                },
                "group" => self.group_error_from_remote(&text, request),
                _ => self.link_error(format!("the peer answered with an error: {text}")),
            },
        }
    }
}

impl PeerLink {
    fn group_error_from_remote(&self, text: &str, request: &Envelope) -> Error {
        let decoded = text
            .rsplit_once('\n')
            .and_then(|(_, encoded)| unhex(encoded))
            .and_then(|bytes| rmp_serde::from_slice::<WireGroupFailures>(&bytes).ok());
        let (Some((succeeded, failures)), Some(group)) = (decoded, request.group.clone()) else {
            return self.link_error(format!("the peer answered with an error: {text}"));
        };
        let failures = failures
            .into_iter()
            .map(|(member, e)| {
                let member = core_id(member);
                // Each failure is that member's, as if it had been asked alone.
                let mut as_member = request.clone();
                as_member.group = None;
                as_member.dest = Some(member.clone());
                (member, self.error_from_remote(e, &as_member))
            })
            .collect();
        Error::Group(crate::error::GroupError { group, failures, succeeded: succeeded as usize })
    }
}

/// The ID a request from a peer has in this process.
///
/// Every process numbers its messages from 1, so two peers' requests (or a
/// peer's and a local one) often share an ID; deferred replies are given by
/// ID, so requests from peers are renumbered into a range the dispatcher
/// never assigns (negative numbers). The reply still goes back under the
/// sender's ID.
fn next_incoming_request_id() -> MessageId {
    static NEXT: AtomicI64 = AtomicI64::new(-1);
    MessageId(NEXT.fetch_sub(1, Ordering::Relaxed))
}

/// Conflicts of one announcement logged one by one; the rest are logged as
/// a count (every one is counted and listed in [`RemoteStats::conflicts`]).
const CONFLICTS_LOGGED: u64 = 16;

/// Nesting allowed in content from a peer: far above any real message, far
/// below what exhausts a task's stack when decoding recurses.
const MAX_CONTENT_DEPTH: usize = 128;

/// Refuses content nested deeper than [`MAX_CONTENT_DEPTH`] before it is
/// decoded for real: the registry's decoders (and the dynamic value) recurse
/// once per level, so a hostile peer could otherwise overflow the stack.
///
/// Walks the MessagePack markers without recursion and without looking
/// inside strings (a serde pass would check every string's UTF-8, which
/// cost more than the real decode); a value cut short is refused too.
fn check_depth(bytes: &[u8]) -> Result<(), String> {
    // For each open array or map: how many values it still holds.
    let mut open: Vec<u64> = Vec::new();
    let mut at = 0usize;
    let take = |at: &mut usize, n: usize| -> Result<u64, String> {
        let end = at.checked_add(n).filter(|&e| e <= bytes.len()).ok_or_else(truncated)?;
        let v = bytes[*at..end].iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        *at = end;
        Ok(v)
    };
    loop {
        let marker = *bytes.get(at).ok_or_else(truncated)?;
        at += 1;
        // The number of values this one contains, and bytes to skip.
        let (children, skip): (u64, u64) = match marker {
            0x00..=0x7f | 0xc0 | 0xc2 | 0xc3 | 0xe0..=0xff => (0, 0),
            0x80..=0x8f => (2 * u64::from(marker & 0x0f), 0),
            0x90..=0x9f => (u64::from(marker & 0x0f), 0),
            0xa0..=0xbf => (0, u64::from(marker & 0x1f)),
            0xc4 | 0xd9 => (0, take(&mut at, 1)?),
            0xc5 | 0xda => (0, take(&mut at, 2)?),
            0xc6 | 0xdb => (0, take(&mut at, 4)?),
            0xc7 => (0, take(&mut at, 1)? + 1),
            0xc8 => (0, take(&mut at, 2)? + 1),
            0xc9 => (0, take(&mut at, 4)? + 1),
            0xcc | 0xd0 => (0, 1),
            0xcd | 0xd1 => (0, 2),
            0xca | 0xce | 0xd2 => (0, 4),
            0xcb | 0xcf | 0xd3 => (0, 8),
            0xd4 => (0, 2),
            0xd5 => (0, 3),
            0xd6 => (0, 5),
            0xd7 => (0, 9),
            0xd8 => (0, 17),
            0xdc => (take(&mut at, 2)?, 0),
            0xdd => (take(&mut at, 4)?, 0),
            0xde => (2 * take(&mut at, 2)?, 0),
            0xdf => (2 * take(&mut at, 4)?, 0),
            0xc1 => return Err("invalid MessagePack marker 0xc1".to_owned()),
        };
        take_bytes(&mut at, skip, bytes.len())?;
        if children > 0 {
            if open.len() >= MAX_CONTENT_DEPTH {
                return Err(format!("nested deeper than {MAX_CONTENT_DEPTH} levels"));
            }
            open.push(children);
            continue;
        }
        // This value is complete: count it against the containers it ends.
        loop {
            match open.last_mut() {
                None => return Ok(()),
                Some(left) => {
                    *left -= 1;
                    if *left > 0 {
                        break;
                    }
                    open.pop();
                }
            }
        }
    }
}

fn truncated() -> String {
    "the content ends in the middle of a value".to_owned()
}

fn take_bytes(at: &mut usize, n: u64, len: usize) -> Result<(), String> {
    let end = usize::try_from(n)
        .ok()
        .and_then(|n| at.checked_add(n))
        .filter(|&e| e <= len)
        .ok_or_else(truncated)?;
    *at = end;
    Ok(())
}

/// The answers of a peer's group request from this process's subscribers.
struct GroupAnswers {
    state: Mutex<GroupState>,
}

struct GroupState {
    remaining: usize,
    first: Option<Message>,
    succeeded: usize,
    failures: Vec<(Id, Error)>,
    reply: Option<ReplySender>,
    group: Id,
}

impl GroupAnswers {
    fn answer(&self, member: Id, answer: Result<Message, Error>) {
        let mut s = self.state.lock();
        match answer {
            Ok(m) => {
                s.succeeded += 1;
                s.first.get_or_insert(m);
            }
            Err(e) => s.failures.push((member, e)),
        }
        s.remaining = s.remaining.saturating_sub(1);
        if s.remaining > 0 {
            return;
        }
        let Some(reply) = s.reply.take() else { return };
        let result = if s.failures.is_empty() {
            s.first.take().ok_or(Error::NoReply { id: reply.id() })
        } else if s.failures.len() == 1 && s.succeeded == 0 {
            // The peer's only subscriber failed: its error, as it is.
            Err(s.failures.remove(0).1)
        } else {
            Err(Error::Group(crate::error::GroupError {
                group: s.group.clone(),
                failures: std::mem::take(&mut s.failures),
                succeeded: s.succeeded,
            }))
        };
        drop(s);
        reply.send(result);
    }
}

/// The failures of a group request as they travel: the number of members
/// that succeeded, and each failed member with its error.
type WireGroupFailures = (u64, Vec<(WireId, RemoteError)>);

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    let text = text.as_bytes();
    if text.len() % 2 != 0 {
        return None;
    }
    text.chunks(2)
        .map(|pair| std::str::from_utf8(pair).ok().and_then(|p| u8::from_str_radix(p, 16).ok()))
        .collect()
}

/// How a local error travels back to a remote requester: a kind, and a text
/// whose first line is a tag the requesting bridge turns back into the same
/// [`Error`] variant (for handler errors, the handler's name).
fn error_to_remote(e: &Error) -> RemoteError {
    let (kind, tag) = match e {
        Error::UnknownDestination(_) | Error::NoSubscribers(_) => {
            (RemoteErrorKind::NoRoute, "no-route")
        }
        Error::Handler { handler, error } => {
            return RemoteError {
                kind: RemoteErrorKind::Handler,
                text: format!("{handler}\n{}", error.message()),
            };
        }
        Error::Timeout { .. } => (RemoteErrorKind::Timeout, "timeout"),
        Error::MailboxFull { capacity, .. } => {
            // The capacity on a line of its own, for the requesting bridge.
            return RemoteError {
                kind: RemoteErrorKind::Other,
                text: format!("mailbox-full\n{capacity}\n{e}"),
            };
        }
        Error::Sync(_) => (RemoteErrorKind::Unsupported, "sync"),
        Error::Shutdown => (RemoteErrorKind::Shutdown, "shutdown"),
        Error::Unrouted { .. } => (RemoteErrorKind::Other, "unrouted"),
        Error::Dropped { .. } => (RemoteErrorKind::Other, "dropped"),
        Error::NoReply { .. } => (RemoteErrorKind::Other, "no-reply"),
        Error::Link { .. } => (RemoteErrorKind::PeerLost, "link"),
        Error::Group(g) => {
            // A summary line for people, then the failures in full (hex of
            // MessagePack) for the requesting bridge to rebuild.
            let failures: WireGroupFailures = (
                g.succeeded as u64,
                g.failures.iter().map(|(id, e)| (wire_id(id), error_to_remote(e))).collect(),
            );
            let encoded = rmp_serde::to_vec(&failures).map(|b| hex(&b)).unwrap_or_default();
            return RemoteError {
                kind: RemoteErrorKind::Other,
                text: format!("group\n{}\n{encoded}", e.to_string().replace('\n', " ")),
            };
        }
        _ => (RemoteErrorKind::Other, "other"),
    };
    RemoteError { kind, text: format!("{tag}\n{e}") }
}

impl crate::Link for PeerLink {
    fn name(&self) -> &str {
        &self.name
    }

    #[allow(
        clippy::result_large_err,
        reason = "the refused delivery goes back unboxed; refusal is the rare path"
    )]
    fn send(&self, delivery: Delivery) -> Result<(), (Error, Delivery)> {
        // Encoded straight from the envelope and the content into reused
        // buffers, then copied into the link's queue: this runs for every
        // message sent to the peer, and allocates nothing.
        SCRATCH.with(|scratch| {
            let (scratch, frame_scratch) = &mut *scratch.borrow_mut();
            let result = self.send_with(delivery, scratch, frame_scratch);
            // A huge message must not keep its buffers alive in this thread.
            for buf in [scratch, frame_scratch] {
                if buf.capacity() > SCRATCH_KEEP {
                    *buf = Vec::new();
                }
            }
            result
        })
    }
}

impl PeerLink {
    #[allow(
        clippy::result_large_err,
        reason = "the refused delivery goes back unboxed; refusal is the rare path"
    )]
    fn send_with(
        &self,
        delivery: Delivery,
        scratch: &mut Vec<u8>,
        frame_scratch: &mut Vec<u8>,
    ) -> Result<(), (Error, Delivery)> {
        let env = delivery.message.envelope();
        let id = env.id.get() as u64;
        let encoded = (|| {
            scratch.clear();
            let content = delivery.message.content();
            let content = if content.is::<Empty>() {
                None
            } else {
                content.encode_into(scratch).map_err(|e| e.to_string())?;
                Some(ContentOut { type_name: content.type_name(), bytes: BinOut(scratch) })
            };
            let frame = MessageOut {
                type_name: env.ty.as_str(),
                id,
                source: env.source.as_ref().map(id_out),
                dest: env.dest.as_ref().map(id_out),
                group: env.group.as_ref().map(id_out),
                response_required: env.response_required,
                is_response: env.is_response,
                sync: env.sync,
                blocking: env.blocking,
                seq: self.seq.fetch_add(1, Ordering::Relaxed),
                content,
            };
            wire::encode_message_frame(&frame, frame_scratch).map_err(|e| e.to_string())
        })();
        if let Err(reason) = encoded {
            return Err((self.link_error(reason), delivery));
        }
        let Delivery { message, reply } = delivery;
        let tracked = env_wants_reply(message.envelope());
        let reply = if tracked {
            let mut pending = self.pending.lock();
            if pending.get(&id).is_some_and(|p| p.reply.is_wanted()) {
                drop(pending);
                let e = self.link_error(format!(
                    "message ID {} already awaits a reply on this link; request IDs must be unique",
                    message.id()
                ));
                return Err((e, Delivery { message, reply }));
            }
            pending.insert(id, Pending { reply, request: message.envelope().clone() });
            None
        } else {
            Some(reply)
        };
        let env = message.envelope();
        let lane = netlink::lane(env.dest.as_ref().map(id_ref), env.group.as_ref().map(id_ref));
        match self.net.try_send_frame(frame_scratch, tracked.then_some(id), lane) {
            Ok(()) => Ok(()),
            Err(e) => {
                let reply = match reply {
                    Some(r) => r,
                    None => match self.pending.lock().remove(&id) {
                        Some(p) => p.reply,
                        None => ReplySender::unwanted(),
                    },
                };
                let reason = match e {
                    SendError::DownAndFull { capacity } => {
                        format!("the link is down and its queue of {capacity} frames is full")
                    }
                    SendError::Full { capacity } => {
                        format!("the link's queue of {capacity} frames is full")
                    }
                    SendError::Closed => "the link is closed".to_owned(),
                    e => e.to_string(),
                };
                Err((self.link_error(reason), Delivery { message, reply }))
            }
        }
    }
}

thread_local! {
    /// Where a sending thread encodes content, then the frame: reused, so
    /// a message costs one allocation (its frame's own buffer).
    static SCRATCH: std::cell::RefCell<(Vec<u8>, Vec<u8>)> =
        const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

/// The largest scratch buffer kept between messages.
const SCRATCH_KEEP: usize = 64 * 1024;

fn id_out(id: &Id) -> IdOut<'_> {
    match id {
        Id::Int(i) => IdOut::Int(*i),
        Id::Str(s) => IdOut::Str(s.as_str()),
    }
}

fn id_ref(id: &Id) -> WireIdRef<'_> {
    match id {
        Id::Int(i) => WireIdRef::Int(*i),
        Id::Str(s) => WireIdRef::Str(s.as_str()),
    }
}

fn env_wants_reply(env: &Envelope) -> bool {
    env.response_required && !env.is_response
}

fn wire_id(id: &Id) -> WireId {
    match id {
        Id::Int(i) => WireId::Int(*i),
        Id::Str(s) => WireId::Str(s.as_str().to_owned()),
    }
}

fn core_id(id: WireId) -> Id {
    match id {
        WireId::Int(i) => Id::Int(i),
        WireId::Str(s) => Id::from(s),
    }
}

/// A listening socket of a dispatcher; peers that connect become links.
#[derive(Debug)]
pub struct RemoteListener {
    inner: netlink::Listener,
}

impl RemoteListener {
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
    /// [`Snapshot::remote`](crate::Snapshot::remote).
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

impl Dispatcher {
    /// Listens for peers at `addr` (`"unix:/run/app.sock"`,
    /// `"tcp:127.0.0.1:7400"`) with [`RemoteConfig::default`]. A TCP listener
    /// needs a secret: use [`listen_with`](Self::listen_with).
    ///
    /// # Errors
    ///
    /// [`NetError`]: a bad address, a socket path in use, a TCP listener
    /// without a secret, a failed bind.
    pub async fn listen(&self, addr: &str) -> Result<RemoteListener, NetError> {
        self.listen_with(addr, &RemoteConfig::default()).await
    }

    /// [`listen`](Self::listen) with a configuration.
    ///
    /// # Errors
    ///
    /// As [`listen`](Self::listen).
    pub async fn listen_with(
        &self,
        addr: &str,
        config: &RemoteConfig,
    ) -> Result<RemoteListener, NetError> {
        let address: Address = addr.parse()?;
        let bridge = Bridge::of(self, config);
        let events = Arc::new(Events {
            bridge,
            registry: config.registry.clone(),
            max_announced: config.max_announced,
        });
        let inner = netlink::listen(&address, &config.net, events).await?;
        Ok(RemoteListener { inner })
    }

    /// Connects to a peer listening at `addr`; from then on the destinations
    /// and groups it announces are routed to it. Uses [`RemoteConfig::default`].
    ///
    /// # Errors
    ///
    /// [`NetError`]: a bad address, no listener there, a refused handshake
    /// (wrong protocol version or secret).
    pub async fn connect(&self, addr: &str) -> Result<Peer, NetError> {
        self.connect_with(addr, &RemoteConfig::default()).await
    }

    /// [`connect`](Self::connect) with a configuration.
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect).
    pub async fn connect_with(&self, addr: &str, config: &RemoteConfig) -> Result<Peer, NetError> {
        let address: Address = addr.parse()?;
        let bridge = Bridge::of(self, config);
        let events = Arc::new(Events {
            bridge,
            registry: config.registry.clone(),
            max_announced: config.max_announced,
        });
        let link = netlink::connect(&address, &config.net, events).await?;
        // Named once, at the first connection (the name stays across reconnects).
        let name = format!("{}/{}", link.peer_name(), link.id());
        Ok(Peer { link, name })
    }

    /// Announces local changes (listeners registered or gone, groups joined
    /// or left) to peers now, rather than at the next interval.
    pub fn announce_changes(&self) {
        if let Some(b) = Bridge::find(self) {
            b.announce_changes();
            b.wake.notify_one();
        }
    }

    /// What the network side of this dispatcher has seen (all zero and empty
    /// before the first `listen` or `connect`).
    pub fn remote_stats(&self) -> RemoteStats {
        Bridge::find(self).map(|b| b.stats()).unwrap_or_default()
    }

    /// Waits until destination `dest` is served (locally or by a peer), at
    /// most `timeout`; returns whether it is.
    pub async fn wait_for_destination(&self, dest: &Id, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let s = self.snapshot();
            if s.listeners.contains(dest) || s.remote.iter().any(|(d, _)| d == dest) {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::Deserialize;

    /// What `check_depth` replaced: a serde pass over the value.
    fn serde_check(bytes: &[u8]) -> bool {
        let mut de = rmp_serde::Deserializer::from_read_ref(bytes);
        de.set_max_depth(MAX_CONTENT_DEPTH);
        serde::de::IgnoredAny::deserialize(&mut de).is_ok()
    }

    #[test]
    fn content_nested_too_deep_is_refused_and_real_content_passes() {
        let mut deep = vec![0x91u8; MAX_CONTENT_DEPTH + 1];
        deep.push(0xc0);
        assert!(check_depth(&deep).unwrap_err().contains("nested deeper"));
        let mut fine = vec![0x91u8; MAX_CONTENT_DEPTH - 1];
        fine.push(0xc0);
        assert!(check_depth(&fine).is_ok());
        let value = serde_json::json!({"a": [1, -2, 3.5, "x", null, true, {"b": []}], "c": "é"});
        assert!(check_depth(&rmp_serde::to_vec_named(&value).unwrap()).is_ok());
    }

    #[test]
    fn content_cut_short_is_refused() {
        let bytes = rmp_serde::to_vec_named(&("a long enough string", 7u32)).unwrap();
        for len in 0..bytes.len() {
            assert!(check_depth(&bytes[..len]).is_err(), "accepted {len} of {} bytes", bytes.len());
        }
        assert!(check_depth(&bytes).is_ok());
    }

    proptest! {
        #[test]
        fn the_marker_walk_agrees_with_a_serde_pass(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(check_depth(&bytes).is_ok(), serde_check(&bytes), "{:02x?}", bytes);
        }
    }
}
