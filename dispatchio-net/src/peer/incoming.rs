//! Incoming: a message read from a peer, rebuilt and delivered through the
//! connection's [`Inlet`](dispatchio_core::transport::Inlet); its reply
//! written back.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::{Attached, PeerLink};
use crate::SendError;
use crate::envelope::{MessageRebuilder, decode_content, reply_result};
use crate::wire::{
    Payload, RemoteError, RemoteErrorKind, ReplyResult, WireContentRef, WireMessageRef, WireReply,
};
use dispatchio_core::transport::Inlet;
use dispatchio_core::{ContentRef, ReplySender};

/// What a link's reader keeps between messages: the envelopes' strings and
/// the inlet (which remembers where the last message went).
pub(super) struct Recent {
    rebuilder: MessageRebuilder,
    /// Delivers the link's messages.
    inlet: Inlet,
}

impl Recent {
    pub(super) fn new(inlet: Inlet) -> Recent {
        Recent { rebuilder: MessageRebuilder::default(), inlet }
    }
}

impl Attached {
    /// A message from the peer, delivered to local listeners; its reply (when
    /// one is wanted) goes back over this link.
    pub(super) fn incoming(&self, m: WireMessageRef<'_>) {
        let link = &self.link;
        let id = m.id;
        let wants_reply = m.response_required;
        let content = match link.decode(m.content) {
            Ok(c) => c,
            Err(reason) => {
                tracing::warn!(link = %link.name, id, reason = %reason, "incoming content does not decode");
                if wants_reply {
                    link.write_reply(
                        id,
                        ReplyResult::Err(RemoteError {
                            kind: RemoteErrorKind::Other,
                            text: format!("other\n{reason}"),
                        }),
                    );
                } else {
                    link.undeliverable(id, &reason);
                }
                return;
            }
        };
        // Held until the message is delivered (its route is cached here
        // too): only this link's reader takes it, one message at a time.
        let mut recent = self.recent.lock();
        let recent = &mut *recent;
        let message = recent.rebuilder.rebuild(&m, content);
        let reply = if wants_reply {
            let me = Arc::clone(link);
            ReplySender::callback(message.id(), move |answer| {
                me.write_reply(id, reply_result(&answer));
            })
        } else {
            ReplySender::unwanted()
        };
        if let Err(e) = recent.inlet.deliver(message, reply) {
            if !wants_reply {
                link.undeliverable(id, &e);
            }
        }
    }
}

impl PeerLink {
    pub(super) fn decode(&self, content: Option<WireContentRef<'_>>) -> Result<ContentRef, String> {
        decode_content(&self.registry, content)
    }

    /// Queues a reply to the peer. Replies have room of their own in the
    /// link's queue ([`RemoteConfig::reply_capacity`]); one that finds it
    /// full is lost, not kept waiting: only a peer that does not read its
    /// replies while it goes on asking fills it, and waiting for room
    /// (a task per reply, as this once did) held every reply it never read.
    fn write_reply(&self, to: u64, result: ReplyResult) {
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
    pub(super) fn report_losses(&self) {
        let lost = self.replies_lost.flush();
        if lost > 0 {
            tracing::warn!(link = %self.name, lost, "replies lost on this connection, not logged yet (counted in remote_stats)");
        }
        let lost = self.undeliverable.flush();
        if lost > 0 {
            tracing::warn!(link = %self.name, lost, "incoming messages undeliverable");
        }
    }
}
