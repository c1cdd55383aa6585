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
    ///
    /// # Examples
    ///
    /// ```
    /// # fn later() -> std::sync::Arc<dyn dispatchio_core::Listener> {
    /// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::call("later")]).build().unwrap();
    /// #     let l = dispatchio_core::RoutedListener::builder(table)
    /// #         .handler("later", |_: &dispatchio_core::Message| Ok(dispatchio_core::Reply::Defer))
    /// #         .build().unwrap();
    /// #     std::sync::Arc::new(l)
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::{Dispatcher, Error, HandlerError, Message, Text};
    /// let dispatcher = Dispatcher::new();
    /// dispatcher.register("dealer", later())?; // its handler answers `Reply::Defer`
    /// let client = dispatcher.clone();
    /// let asked = tokio::spawn(async move {
    ///     client.request(Message::new(Text::from("deal")).to("dealer").with_id(7), None).await
    /// });
    /// tokio::task::yield_now().await; // the request is sent
    /// dispatcher.flush("dealer").await?; // the handler has deferred its reply
    /// let id = dispatchio_core::MessageId(7);
    /// dispatcher.reply(id, Err(HandlerError::new("the deck is empty")))?;
    /// let err = asked.await?.unwrap_err();
    /// assert!(matches!(err, Error::Handler { error, .. } if error.message() == "the deck is empty"));
    /// assert!(matches!(dispatcher.reply(id, Err(HandlerError::new("again"))), Err(Error::NotDeferred(_))));
    /// # Ok(()) }
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// # fn later() -> std::sync::Arc<dyn dispatchio_core::Listener> {
    /// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::call("later")]).build().unwrap();
    /// #     let l = dispatchio_core::RoutedListener::builder(table)
    /// #         .handler("later", |_: &dispatchio_core::Message| Ok(dispatchio_core::Reply::Defer))
    /// #         .build().unwrap();
    /// #     std::sync::Arc::new(l)
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::{Dispatcher, Message, MessageId, Text};
    /// let dispatcher = Dispatcher::new();
    /// dispatcher.register("dealer", later())?; // its handler answers `Reply::Defer`
    /// let client = dispatcher.clone();
    /// let asked = tokio::spawn(async move {
    ///     client.request(Message::new(Text::from("deal")).to("dealer").with_id(7), None).await
    /// });
    /// tokio::task::yield_now().await; // the request is sent
    /// dispatcher.flush("dealer").await?; // the handler has deferred its reply
    /// dispatcher.reply_with(MessageId(7), Text::from("7 cards"))?;
    /// assert_eq!(asked.await??.content_as::<Text>().unwrap().0, "7 cards");
    /// # Ok(()) }
    /// ```
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
