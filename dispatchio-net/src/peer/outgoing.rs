//! Outgoing: the [`Outlet`](dispatchio_core::transport::Outlet) the
//! dispatcher routes to, which encodes each message straight into the
//! link's queue and keeps a request's reply slot until the peer answers.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use super::{Losses, Stats};
use crate::envelope::{answer_from_reply, encode_message};
use crate::link as netlink;
use crate::wire::{WireIdRef, WireReply};
use crate::{DownReason, SendError};
use dispatchio_core::{
    ContentRegistry, Delivery, Envelope, Error, Id, ReplySender, TransportError, TransportErrorKind,
};

pub(super) struct Pending {
    reply: ReplySender,
    request: Envelope,
}

/// One network link as the dispatcher sees it: a
/// [`transport::Outlet`](dispatchio_core::transport::Outlet).
pub(super) struct PeerLink {
    pub(super) net: netlink::Link,
    pub(super) name: String,
    pub(super) registry: Arc<ContentRegistry>,
    pub(super) pending: Mutex<HashMap<u64, Pending>>,
    pub(super) seq: AtomicU64,
    pub(super) stats: Arc<Stats>,
    /// Replies lost, and incoming messages nobody could be told of, for
    /// logging in batches.
    pub(super) replies_lost: Losses,
    pub(super) undeliverable: Losses,
}

impl PeerLink {
    pub(super) fn link_error(
        &self,
        kind: TransportErrorKind,
        message: impl Into<String>,
    ) -> TransportError {
        TransportError::new(self.name.clone(), kind, message)
    }

    pub(super) fn fail_pending(&self, ids: &[u64], why: &DownReason) {
        let failed: Vec<Pending> = {
            let mut pending = self.pending.lock();
            ids.iter().filter_map(|id| pending.remove(id)).collect()
        };
        if failed.is_empty() {
            return;
        }
        self.stats.requests_failed_peer_lost.fetch_add(failed.len() as u64, Ordering::Relaxed);
        let reason = format!("peer lost: {why}");
        tracing::warn!(link = %self.name, requests = failed.len(), reason, "failing requests pending on a lost peer");
        for p in failed {
            let e = self.link_error(TransportErrorKind::PeerLost, &reason).with_source(why.clone());
            p.reply.send(Err(e.into()));
        }
    }

    /// Forgets requests whose senders gave up (timed out).
    pub(super) fn sweep(&self) {
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
    pub(super) fn complete(&self, reply: WireReply) {
        let Some(p) = self.pending.lock().remove(&reply.to) else {
            tracing::debug!(link = %self.name, to = reply.to, "reply to a request nobody waits for");
            return;
        };
        let answer = answer_from_reply(reply.result, &p.request, &self.registry, &self.name);
        p.reply.send(answer);
    }
}

impl dispatchio_core::transport::Outlet for PeerLink {
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
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let encoded = encode_message(&delivery.message, seq, scratch, frame_scratch)
            .map_err(|e| self.link_error(TransportErrorKind::Encode, e.to_string()).with_source(e));
        if let Err(e) = encoded {
            return Err((e.into(), delivery));
        }
        let Delivery { message, reply } = delivery;
        let tracked = env_wants_reply(message.envelope());
        let reply = if tracked {
            let mut pending = self.pending.lock();
            if pending.get(&id).is_some_and(|p| p.reply.is_wanted()) {
                drop(pending);
                let e = self.link_error(
                    TransportErrorKind::DuplicateRequest,
                    format!(
                        "message ID {} already awaits a reply on this link; request IDs must be unique",
                        message.id()
                    ),
                );
                return Err((e.into(), Delivery { message, reply }));
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
                let (kind, reason) = match &e {
                    SendError::DownAndFull { capacity } => (
                        TransportErrorKind::Unavailable,
                        format!("the link is down and its queue of {capacity} frames is full"),
                    ),
                    SendError::Full { capacity } => (
                        TransportErrorKind::Full,
                        format!("the link's queue of {capacity} frames is full"),
                    ),
                    SendError::Closed => {
                        (TransportErrorKind::Closed, "the link is closed".to_owned())
                    }
                    e => (TransportErrorKind::Encode, e.to_string()),
                };
                let e = self.link_error(kind, reason).with_source(e);
                Err((e.into(), Delivery { message, reply }))
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

pub(super) fn id_ref(id: &Id) -> WireIdRef<'_> {
    match id {
        Id::Int(i) => WireIdRef::Int(*i),
        Id::Str(s) => WireIdRef::Str(s.as_str()),
    }
}

fn env_wants_reply(env: &Envelope) -> bool {
    env.response_required && !env.is_response
}
