//! Incoming: a message read from a peer, rebuilt and delivered through the
//! connection's [`Inlet`](dispatchio_core::transport::Inlet); its reply
//! written back.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use bytes::Bytes;

use super::{Attached, PeerLink, check_depth, error_to_remote};
use crate::SendError;
use crate::wire::{
    Payload, RemoteError, RemoteErrorKind, ReplyResult, WireContent, WireContentRef, WireIdRef,
    WireMessageRef, WireReply,
};
use dispatchio_core::transport::Inlet;
use dispatchio_core::{
    ContentRef, Empty, Envelope, Id, Message, MessageId, ReplySender, SharedStr,
};

/// The type name and IDs of the last message received on a link, reused
/// while the next ones repeat them (a stream from one sender to one
/// destination does), so that rebuilding an envelope allocates no string.
pub(super) struct Recent {
    type_name: Option<SharedStr>,
    source: Option<Id>,
    dest: Option<Id>,
    group: Option<Id>,
    /// Delivers the link's messages (and remembers where the last went).
    inlet: Inlet,
}

impl Recent {
    pub(super) fn new(inlet: Inlet) -> Recent {
        Recent { type_name: None, source: None, dest: None, group: None, inlet }
    }

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
                        Err(RemoteError {
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
            let me = Arc::clone(link);
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
        if let Err(e) = recent.inlet.deliver(message, reply) {
            if !wants_reply {
                link.undeliverable(id, &e);
            }
        }
    }
}

impl PeerLink {
    pub(super) fn decode(&self, content: Option<WireContentRef<'_>>) -> Result<ContentRef, String> {
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
}

/// The ID a request from a peer has in this process.
///
/// Every process numbers its messages from 1, so two peers' requests (or a
/// peer's and a local one) often share an ID; deferred replies are given by
/// ID, so requests from peers are renumbered into a range the dispatcher
/// never assigns (negative numbers). The reply still goes back under the
/// sender's ID.
pub(super) fn next_incoming_request_id() -> MessageId {
    static NEXT: AtomicI64 = AtomicI64::new(-1);
    MessageId(NEXT.fetch_sub(1, Ordering::Relaxed))
}
