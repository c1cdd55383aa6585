//! Sources: the IDs senders put on their messages.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::{Destination, Dispatcher, GroupReplies};
use crate::content::ContentType;
use crate::error::Error;
use crate::id::{Id, MessageId};
use crate::message::{Message, Typed};

impl Dispatcher {
    /// A fresh, unique integer source ID (never one already registered).
    pub fn new_source(&self) -> Source {
        let mut sources = self.inner.sources.lock();
        loop {
            let id = Id::Int(self.inner.next_source.fetch_add(1, Ordering::Relaxed));
            if sources.insert(id.clone()) {
                return Source { id, dispatcher: self.clone() };
            }
        }
    }

    /// Registers a source ID chosen by the caller. Released when the returned
    /// [`Source`] is dropped.
    ///
    /// # Errors
    ///
    /// [`Error::SourceTaken`] when the ID is registered already.
    pub fn register_source(&self, id: impl Into<Id>) -> Result<Source, Error> {
        let id = id.into();
        if self.inner.sources.lock().insert(id.clone()) {
            Ok(Source { id, dispatcher: self.clone() })
        } else {
            Err(Error::SourceTaken(id))
        }
    }
}

/// A client of the dispatcher with a registered source ID, which it puts on
/// every message it sends (unless the message names another source).
/// Dropping it releases the ID.
#[derive(Debug)]
pub struct Source {
    id: Id,
    dispatcher: Dispatcher,
}

impl Source {
    /// The source ID.
    pub fn id(&self) -> &Id {
        &self.id
    }

    /// The dispatcher.
    pub fn dispatcher(&self) -> &Dispatcher {
        &self.dispatcher
    }

    /// [`Dispatcher::destination`] from this source: a handle to `dest`,
    /// resolved once, that puts this source on every message naming none.
    ///
    /// # Errors
    ///
    /// As [`Dispatcher::destination`].
    pub fn destination(&self, dest: impl Into<Id>) -> Result<Destination, Error> {
        self.dispatcher.destination_from(dest.into(), Some(self.id.clone()))
    }

    fn stamp(&self, mut msg: Message) -> Message {
        let env = msg.envelope_mut();
        if env.source.is_none() {
            env.source = Some(self.id.clone());
        }
        msg
    }

    /// [`Dispatcher::send`] from this source.
    ///
    /// # Errors
    ///
    /// As [`Dispatcher::send`].
    pub fn send(&self, msg: Message) -> Result<MessageId, Error> {
        self.dispatcher.send(self.stamp(msg))
    }

    /// [`Dispatcher::send_wait`] from this source.
    ///
    /// # Errors
    ///
    /// As [`Dispatcher::send_wait`].
    pub async fn send_wait(&self, msg: Message) -> Result<MessageId, Error> {
        self.dispatcher.send_wait(self.stamp(msg)).await
    }

    /// [`Dispatcher::request`] from this source.
    ///
    /// # Errors
    ///
    /// As [`Dispatcher::request`].
    pub async fn request(&self, msg: Message, timeout: Option<Duration>) -> Result<Message, Error> {
        self.dispatcher.request(self.stamp(msg), timeout).await
    }

    /// [`Dispatcher::request_as`] from this source.
    ///
    /// # Errors
    ///
    /// As [`Dispatcher::request_as`].
    pub async fn request_as<T: ContentType>(
        &self,
        msg: Message,
        timeout: Option<Duration>,
    ) -> Result<Typed<T>, Error> {
        self.dispatcher.request_as(self.stamp(msg), timeout).await
    }

    /// [`Dispatcher::request_group`] from this source.
    ///
    /// # Errors
    ///
    /// As [`Dispatcher::request_group`].
    pub async fn request_group(
        &self,
        msg: Message,
        timeout: Option<Duration>,
    ) -> Result<GroupReplies, Error> {
        self.dispatcher.request_group(self.stamp(msg), timeout).await
    }

    /// [`Dispatcher::send_sync`] from this source.
    ///
    /// # Errors
    ///
    /// As [`Dispatcher::send_sync`].
    pub fn send_sync(&self, msg: Message) -> Result<Message, Error> {
        self.dispatcher.send_sync(self.stamp(msg))
    }
}

impl Drop for Source {
    fn drop(&mut self) {
        self.dispatcher.inner.sources.lock().remove(&self.id);
    }
}
