//! A received message frame rebuilt into a [`Message`], and the IDs
//! requests from other processes get here.

use std::sync::atomic::{AtomicI64, Ordering};

use crate::wire::{WireIdRef, WireMessageRef};
use dispatchio_core::{ContentRef, Envelope, Id, Message, MessageId, SharedStr};

/// Rebuilds received frames into [`Message`]s, reusing the type name and
/// IDs of the last one while the next ones repeat them (a stream from one
/// sender to one destination does), so that rebuilding an envelope
/// allocates no string. One per stream of frames (a link's reader, a
/// subscription).
#[derive(Default)]
pub struct MessageRebuilder {
    type_name: Option<SharedStr>,
    source: Option<Id>,
    dest: Option<Id>,
    group: Option<Id>,
}

impl std::fmt::Debug for MessageRebuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageRebuilder").finish_non_exhaustive()
    }
}

impl MessageRebuilder {
    /// The message `m` stands for, with `content` (decoded by the caller,
    /// see [`decode_content`](super::decode_content)). A request gets an ID
    /// of this process ([`next_incoming_request_id`]); its reply still goes
    /// back under the sender's ID, `m.id`. The `sync` flag is dropped: a
    /// message from another process is never handled in its sender's thread.
    pub fn rebuild(&mut self, m: &WireMessageRef<'_>, content: ContentRef) -> Message {
        // A registered type names itself with a static string: no shared
        // string to count references to.
        let ty = match content.static_type_name() {
            Some(name) if name == m.type_name => SharedStr::from_static(name),
            _ => self.type_name(m.type_name),
        };
        let mut env = Envelope::new(ty);
        env.source = m.source.map(|w| Self::id(&mut self.source, w));
        env.dest = m.dest.map(|w| Self::id(&mut self.dest, w));
        env.group = m.group.map(|w| Self::id(&mut self.group, w));
        env.id =
            if m.response_required { next_incoming_request_id() } else { MessageId(m.id as i64) };
        env.response_required = m.response_required;
        env.is_response = m.is_response;
        env.sync = false;
        env.blocking = m.blocking;
        Message::from_parts(env, content)
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
                    let id = Id::from(s);
                    *slot = Some(id.clone());
                    id
                }
            },
        }
    }
}

/// The ID a request from another process has in this process.
///
/// Every process numbers its messages from 1, so two peers' requests (or a
/// peer's and a local one) often share an ID; deferred replies are given by
/// ID, so requests from other processes are renumbered into a range the
/// dispatcher never assigns (negative numbers), one range for every
/// transport of the process. The reply still goes back under the sender's
/// ID.
pub fn next_incoming_request_id() -> MessageId {
    static NEXT: AtomicI64 = AtomicI64::new(-1);
    MessageId(NEXT.fetch_sub(1, Ordering::Relaxed))
}
