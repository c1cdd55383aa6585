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
///
/// ```
/// use std::sync::Arc;
/// use dispatchio_core::{Id, Message, Text};
/// use dispatchio_net::envelope::{MessageRebuilder, decode_message, encode_message};
/// let sent = Message::new(Text::from("hi")).to("bob").from_source("ann").with_id(7);
/// let (mut content, mut frame) = (Vec::new(), Vec::new());
/// encode_message(&sent, 1, &mut content, &mut frame)?;
/// let mut rebuilder = MessageRebuilder::default(); // one per connection reader
/// let m = decode_message(&frame)?;
/// let got = rebuilder.rebuild(&m, Arc::new(Text::from("hi")));
/// assert_eq!((got.ty(), got.id().get()), ("Text", 7));
/// assert_eq!(got.envelope().source, Some(Id::from("ann")));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
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
    ///
    /// ```
    /// use dispatchio_core::{ContentRegistry, Id, Message, Text};
    /// use dispatchio_net::envelope::{MessageRebuilder, decode_content, decode_message, encode_message};
    /// let request = Message::new(Text::from("hi")).to("echo").with_id(7).requiring_response().synchronous();
    /// let (mut content, mut frame) = (Vec::new(), Vec::new());
    /// encode_message(&request, 1, &mut content, &mut frame)?;
    /// let m = decode_message(&frame)?;
    /// let mut registry = ContentRegistry::new();
    /// registry.register::<Text>();
    /// let got = MessageRebuilder::default().rebuild(&m, decode_content(&registry, m.content)?);
    /// assert_eq!(got.envelope().dest, Some(Id::from("echo")));
    /// assert!(got.id().get() < 0); // renumbered into this process's range for requests
    /// assert!(!got.envelope().sync); // never in the sender's thread
    /// assert_eq!(got.content_as::<Text>().map(|t| t.0.as_str()), Some("hi"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
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
///
/// ```
/// use dispatchio_net::envelope::next_incoming_request_id;
/// let (a, b) = (next_incoming_request_id(), next_incoming_request_id());
/// assert!(a.get() < 0 && b.get() < 0); // never an ID the dispatcher assigns
/// assert_ne!(a, b);
/// ```
pub fn next_incoming_request_id() -> MessageId {
    static NEXT: AtomicI64 = AtomicI64::new(-1);
    MessageId(NEXT.fetch_sub(1, Ordering::Relaxed))
}
