//! Deferred replies: a handler answers later, by message ID.

use std::sync::{Arc, OnceLock};

use super::Dispatcher;
use crate::content::{ContentRef, ContentType, Empty};
use crate::error::{Error, HandlerError};
use crate::id::{Id, MessageId, SharedStr};
use crate::message::{Envelope, Message};
use crate::reply::ReplySender;

/// A reply a handler deferred, waiting for [`Dispatcher::reply`].
pub(super) struct Deferred {
    pub(super) reply: ReplySender,
    request: Envelope,
    me: Option<Id>,
    handler: SharedStr,
}

impl Dispatcher {
    /// Gives the reply a handler deferred ([`Reply::Defer`](crate::Reply::Defer))
    /// for message `id`: content, or the handler's error.
    ///
    /// # Errors
    ///
    /// [`Error::NotDeferred`] when no deferred reply for `id` is outstanding.
    pub fn reply(
        &self,
        id: MessageId,
        answer: Result<ContentRef, HandlerError>,
    ) -> Result<(), Error> {
        let d = self.inner.deferred.lock().remove(&id).ok_or(Error::NotDeferred(id))?;
        let answer = match answer {
            Ok(content) => Ok(Message::reply_to(&d.request, content, d.me)),
            Err(error) => Err(Error::Handler { handler: d.handler.to_string(), error }),
        };
        d.reply.send(answer);
        Ok(())
    }

    /// [`reply`](Self::reply) with typed content.
    ///
    /// # Errors
    ///
    /// As [`reply`](Self::reply).
    pub fn reply_with<T: ContentType>(&self, id: MessageId, content: T) -> Result<(), Error> {
        self.reply(id, Ok(Arc::new(content)))
    }

    pub(crate) fn defer(
        &self,
        request: Envelope,
        me: Option<Id>,
        handler: SharedStr,
        reply: ReplySender,
    ) {
        let id = request.id;
        let mut deferred = self.inner.deferred.lock();
        // A stale entry whose requester gave up does not block a new one.
        if deferred.get(&id).is_some_and(|d| d.reply.is_wanted() || d.reply.holds()) {
            drop(deferred);
            reply.send(Err(Error::DuplicateDeferred(id)));
            return;
        }
        tracing::debug!(id = %id, "reply deferred");
        deferred.insert(id, Deferred { reply, request, me, handler });
    }

    /// The empty acknowledgement of `request`.
    pub(crate) fn ack(&self, request: &Envelope, me: Option<&Id>) -> Message {
        static EMPTY: OnceLock<ContentRef> = OnceLock::new();
        let empty = EMPTY.get_or_init(|| Arc::new(Empty)).clone();
        Message::reply_to(request, empty, me.cloned())
    }
}
