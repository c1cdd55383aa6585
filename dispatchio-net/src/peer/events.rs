//! What the links tell the network side ([`LinkEvents`]): a link up or
//! down, a frame received.

use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::Mutex;

use super::{Attached, Claims, Losses, PeerLink, Peers, Recent, wire_id};
use crate::PeerLost;
use crate::link::{self as netlink, LinkEvents};
use crate::wire::{
    Announcement, Payload, WireContentRef, WireId, WireIdRef, WireMessage, WireMessageRef,
};
use dispatchio_core::{ContentRegistry, Id};

/// One `listen` or `connect` call's view of the network side: its content
/// registry and its limit on what a peer may announce.
pub(super) struct Events {
    pub(super) peers: Arc<Peers>,
    pub(super) registry: Arc<ContentRegistry>,
    pub(super) max_announced: usize,
}

impl Events {
    /// A frame other than an announcement arrived: if it is the first after
    /// a reconnect, the peer's snapshot would have come first, so it serves
    /// nothing.
    fn not_announcing(&self, peer: &Attached) {
        // The flag spares a lock per frame; it is set before the
        // connection's first frame is read and cleared under the lock.
        if !peer.stale.load(Ordering::Acquire) {
            return;
        }
        let first_after_reconnect = peer.claims.lock().stale.is_some();
        if first_after_reconnect {
            self.peers.apply(peer, Vec::new());
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
        let now = self.peers.announce_changes();
        let mut all: Vec<Announcement> = now
            .destinations
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
        let mut links = self.peers.links.lock();
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
            seq: AtomicU64::new(0),
            stats: self.peers.stats.clone(),
            replies_lost: Losses::default(),
            undeliverable: Losses::default(),
        });
        tracing::info!(link = %peer.name, remote = %link.remote(), "peer link up");
        let dispatcher = &self.peers.dispatcher;
        let attached = Arc::new(Attached {
            claims: Mutex::new(Claims::new(dispatcher.attach(peer.clone()))),
            link: peer,
            stale: AtomicBool::new(false),
            recent: Mutex::new(Recent::new(dispatcher.inlet())),
            max_announced: self.max_announced,
        });
        let owner: Weak<dyn Any + Send + Sync> = Arc::downgrade(&attached) as _;
        link.set_owner(owner);
        links.insert(link.id(), attached);
    }

    async fn received(&self, link: &netlink::Link, payload: Payload) {
        let Some(peer) = self.peers.peer(link.id()) else { return };
        match payload {
            Payload::Announce(changes) => self.peers.apply(&peer, changes),
            other => {
                self.not_announcing(&peer);
                match other {
                    Payload::Message(m) => peer.incoming(view(&m)),
                    Payload::Reply(r) => peer.link.complete(r),
                    Payload::Announce(_) => {}
                }
            }
        }
    }

    fn announcement_refused(&self, link: &netlink::Link, entries: usize) {
        self.peers.stats.announcements_refused.fetch_add(entries as u64, Ordering::Relaxed);
        // A refused snapshot still ends what a reconnect left unsure: what
        // the peer served before is forgotten, not kept on trust.
        if let Some(peer) = self.peers.peer(link.id()) {
            self.not_announcing(&peer);
        }
    }

    async fn received_message(&self, link: &netlink::Link, message: WireMessageRef<'_>) {
        // The peer attached to the link: no lock and map lookup per frame.
        let attached = link.owner().and_then(|o| o.downcast::<Attached>().ok());
        let Some(peer) = attached.or_else(|| self.peers.peer(link.id())) else { return };
        self.not_announcing(&peer);
        peer.incoming(message);
    }

    fn link_down(&self, link: &netlink::Link, lost: &PeerLost) {
        let Some(a) = self.peers.peer(link.id()) else { return };
        let peer = &a.link;
        self.peers.stats.peers_lost.fetch_add(1, Ordering::Relaxed);
        peer.report_losses();
        peer.fail_pending(&lost.pending_requests, &lost.reason);
        if lost.reconnecting {
            // Routes stay: sends queue on the link (up to its bound) until
            // it is back; the peer's next snapshot corrects what changed.
            return;
        }
        self.peers.links.lock().remove(&link.id());
        // Whatever is left (requests queued but never written) fails too.
        let rest: Vec<u64> = peer.pending.lock().keys().copied().collect();
        peer.fail_pending(&rest, &lost.reason);
        let (freed, attachment) = {
            let mut claims = a.claims.lock();
            let freed: Vec<Id> = claims.served.drain().collect();
            (freed, claims.attachment.take())
        };
        // Everything the link served goes with it.
        drop(attachment);
        self.peers.conflicts.lock().retain(|_, c| c.refused != peer.name);
        self.peers.retry_refused(&freed);
    }
}
