//! Messages: an [`Envelope`] (type, IDs, addresses and flags: everything
//! but the content) and the shared [`ContentRef`].

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::content::{Content, ContentRef, ContentType};
use crate::id::{Id, MessageId, SharedStr};

/// Everything about a message except its content.
///
/// Routing conditions on `type`, `id`, `source`, `dest`, `group` and the four
/// flags read these fields. Build one through [`Message::new`] and the
/// builder-style methods of [`Message`]; the fields are public for reading
/// and for transports that rebuild envelopes.
///
/// ```
/// use dispatchio_core::{Id, Message, Text};
/// let m = Message::new(Text::from("hi")).to("player-1").from_source(7).blocking();
/// let env = m.envelope();
/// assert_eq!(&*env.ty, "Text");
/// assert_eq!(env.dest, Some(Id::from("player-1")));
/// assert_eq!(env.source, Some(Id::from(7)));
/// assert!(env.blocking && !env.sync && !env.response_required);
/// assert!(env.id.is_unset()); // the dispatcher assigns it on sending
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Envelope {
    /// The message type: a human-readable name, usually the content's type name.
    pub ty: SharedStr,
    /// The message ID; [`MessageId::UNSET`] until the dispatcher assigns one.
    pub id: MessageId,
    /// Where the message comes from.
    pub source: Option<Id>,
    /// The one listener it goes to (exclusive with `group`).
    pub dest: Option<Id>,
    /// The group whose every subscriber it goes to (exclusive with `dest`).
    pub group: Option<Id>,
    /// The sender expects a reply.
    pub response_required: bool,
    /// This is a reply to the message with the same ID.
    pub is_response: bool,
    /// Must be delivered and answered synchronously, or fail.
    pub sync: bool,
    /// Later messages to the same destination wait until this one is answered.
    pub blocking: bool,
}

impl Envelope {
    /// An envelope of type `ty` with no IDs and every flag false.
    ///
    /// ```
    /// use dispatchio_core::Envelope;
    /// let env = Envelope::new("Deal");
    /// assert_eq!(&*env.ty, "Deal");
    /// assert!(env.id.is_unset() && env.dest.is_none() && env.group.is_none());
    /// assert!(!env.response_required && !env.is_response && !env.sync && !env.blocking);
    /// ```
    pub fn new(ty: impl Into<SharedStr>) -> Envelope {
        Envelope {
            ty: ty.into(),
            id: MessageId::UNSET,
            source: None,
            dest: None,
            group: None,
            response_required: false,
            is_response: false,
            sync: false,
            blocking: false,
        }
    }

    /// Checks the combinations the design forbids.
    ///
    /// # Errors
    ///
    /// [`InvalidMessage`] naming the offending combination.
    ///
    /// # Examples
    ///
    /// ```
    /// use dispatchio_core::{Empty, InvalidMessage, Message};
    /// assert_eq!(Message::new(Empty).to("table").envelope().validate(), Ok(()));
    /// let both = Message::new(Empty).to("table").to_group("Players");
    /// assert_eq!(both.envelope().validate(), Err(InvalidMessage::DestAndGroup));
    /// let nowhere = Message::new(Empty);
    /// assert_eq!(nowhere.envelope().validate(), Err(InvalidMessage::NoDestination));
    /// ```
    pub fn validate(&self) -> Result<(), InvalidMessage> {
        if self.dest.is_some() && self.group.is_some() {
            return Err(InvalidMessage::DestAndGroup);
        }
        if self.dest.is_none() && self.group.is_none() {
            return Err(InvalidMessage::NoDestination);
        }
        if self.is_response && self.response_required {
            return Err(InvalidMessage::ResponseRequiresResponse);
        }
        if self.sync && self.blocking {
            return Err(InvalidMessage::SyncAndBlocking);
        }
        Ok(())
    }
}

/// Why a message was refused before it was sent.
///
/// ```
/// use dispatchio_core::{Empty, InvalidMessage, Message};
/// let m = Message::new(Empty).to("table").synchronous().blocking();
/// let err = m.envelope().validate().unwrap_err();
/// assert_eq!(err, InvalidMessage::SyncAndBlocking);
/// assert_eq!(err.to_string(), "a message cannot be both synchronous and blocking");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidMessage {
    /// Both a destination and a group are set.
    #[error("a message goes to a destination or to a group, not both")]
    DestAndGroup,
    /// Neither a destination nor a group is set.
    #[error("a message needs a destination or a group")]
    NoDestination,
    /// A response that also asks for a response.
    #[error("a response cannot itself require a response")]
    ResponseRequiresResponse,
    /// `sync` and `blocking` together: a synchronous message is answered at
    /// once, so there is nothing for later messages to wait behind.
    #[error("a message cannot be both synchronous and blocking")]
    SyncAndBlocking,
    /// A group message given to a call that expects one reply.
    #[error("a group message has one reply per subscriber: use request_group")]
    GroupNeedsGroupRequest,
    /// A destination message given to a call that expects a group.
    #[error("request_group needs a group message")]
    NotAGroupMessage,
    /// A message given to a [`Destination`](crate::dispatcher::Destination)
    /// handle that names another destination, or a group.
    #[error("the message names another destination than the handle it was given to")]
    OtherDestination,
}

/// A message: its envelope and its shared content.
///
/// Cloning is cheap (reference counts and small copies); the content is never
/// copied or serialised inside a process.
///
/// ```
/// use dispatchio_core::{Message, Text};
/// let m = Message::new(Text::from("hi")).to("player-1").requiring_response();
/// assert_eq!(&*m.envelope().ty, "Text");
/// assert_eq!(m.content_as::<Text>().unwrap().0, "hi");
/// ```
#[derive(Clone)]
pub struct Message {
    env: Envelope,
    content: ContentRef,
}

impl Message {
    /// A message carrying `content`, of type `T::TYPE_NAME`.
    ///
    /// ```
    /// use dispatchio_core::{Message, Text};
    /// let m = Message::new(Text::from("hi"));
    /// assert_eq!(m.ty(), "Text"); // `Text::TYPE_NAME`
    /// assert_eq!(m.content_as::<Text>(), Some(&Text::from("hi")));
    /// ```
    pub fn new<T: ContentType>(content: T) -> Message {
        Message {
            env: Envelope::new(SharedStr::from_static(T::TYPE_NAME)),
            content: Arc::new(content),
        }
    }

    /// A message carrying already-shared content; its type is the content's type name.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use dispatchio_core::{ContentRef, Message, Text};
    /// let content: ContentRef = Arc::new(Text::from("hi"));
    /// let m = Message::from_shared(content.clone());
    /// assert_eq!(m.ty(), "Text");
    /// assert!(Arc::ptr_eq(m.content(), &content)); // shared, not copied
    /// ```
    pub fn from_shared(content: ContentRef) -> Message {
        Message { env: Envelope::new(content.shared_type_name()), content }
    }

    /// A message from its parts (transports rebuilding a received message).
    ///
    /// ```
    /// use dispatchio_core::{Message, Text};
    /// let sent = Message::new(Text::from("hi")).to("p-2").with_id(9);
    /// let (envelope, content) = sent.clone().into_parts();
    /// let rebuilt = Message::from_parts(envelope, content);
    /// assert_eq!(rebuilt.envelope(), sent.envelope());
    /// assert_eq!(rebuilt.content_as::<Text>(), Some(&Text::from("hi")));
    /// ```
    pub fn from_parts(envelope: Envelope, content: ContentRef) -> Message {
        Message { env: envelope, content }
    }

    /// The envelope.
    ///
    /// ```
    /// use dispatchio_core::{Id, Message, Text};
    /// let m = Message::new(Text::from("hi")).to_group("Players");
    /// assert_eq!(m.envelope().group, Some(Id::from("Players")));
    /// assert_eq!(m.envelope().dest, None);
    /// ```
    pub fn envelope(&self) -> &Envelope {
        &self.env
    }

    /// The envelope, to change before sending.
    ///
    /// ```
    /// use dispatchio_core::{Id, Message, Text};
    /// let mut m = Message::new(Text::from("hi")).to("player-1");
    /// m.envelope_mut().dest = Some(Id::from("player-2"));
    /// assert_eq!(m.envelope().dest, Some(Id::from("player-2")));
    /// ```
    pub fn envelope_mut(&mut self) -> &mut Envelope {
        &mut self.env
    }

    /// The shared content.
    ///
    /// ```
    /// use dispatchio_core::{Message, Text};
    /// let m = Message::new(Text::from("hi"));
    /// assert!(m.content().is::<Text>());
    /// assert_eq!(&*m.content().shared_type_name(), "Text");
    /// ```
    pub fn content(&self) -> &ContentRef {
        &self.content
    }

    /// The content as concrete type `T`, if it is one.
    ///
    /// ```
    /// use dispatchio_core::{Empty, Message, Text};
    /// let m = Message::new(Text::from("hi"));
    /// assert_eq!(m.content_as::<Text>().map(|t| t.0.as_str()), Some("hi"));
    /// assert!(m.content_as::<Empty>().is_none());
    /// ```
    pub fn content_as<T: Content>(&self) -> Option<&T> {
        self.content.downcast_ref::<T>()
    }

    /// The message as a [`Typed<T>`] when its content is a `T`; the message
    /// itself, unchanged, when it is not.
    ///
    /// ```
    /// use dispatchio_core::{Empty, Message, Text};
    /// let m = Message::new(Text::from("hi"));
    /// let m = m.into_typed::<Empty>().unwrap_err(); // not an `Empty`: given back
    /// assert_eq!(m.into_typed::<Text>().unwrap().0, "hi");
    /// ```
    ///
    /// # Errors
    ///
    /// The message, when its content is not a `T`.
    #[allow(clippy::result_large_err, reason = "the message goes back unboxed, as it came")]
    pub fn into_typed<T: Content>(self) -> Result<Typed<T>, Message> {
        if self.content.is::<T>() {
            Ok(Typed { message: self, content: PhantomData })
        } else {
            Err(self)
        }
    }

    /// The envelope and content, taken apart.
    ///
    /// ```
    /// use dispatchio_core::{Message, Text};
    /// let (envelope, content) = Message::new(Text::from("hi")).to("p-1").into_parts();
    /// assert_eq!(&*envelope.ty, "Text");
    /// assert_eq!(content.downcast_ref::<Text>(), Some(&Text::from("hi")));
    /// ```
    pub fn into_parts(self) -> (Envelope, ContentRef) {
        (self.env, self.content)
    }

    /// The message type name.
    ///
    /// ```
    /// use dispatchio_core::{Message, Text};
    /// assert_eq!(Message::new(Text::from("hi")).ty(), "Text");
    /// assert_eq!(Message::new(Text::from("hi")).with_type("Chat").ty(), "Chat");
    /// ```
    pub fn ty(&self) -> &str {
        &self.env.ty
    }

    /// The message ID.
    ///
    /// ```
    /// use dispatchio_core::{Message, MessageId, Text};
    /// assert!(Message::new(Text::from("hi")).id().is_unset());
    /// assert_eq!(Message::new(Text::from("hi")).with_id(42).id(), MessageId(42));
    /// ```
    pub fn id(&self) -> MessageId {
        self.env.id
    }

    /// Sets the type name (defaults to the content's).
    ///
    /// ```
    /// use dispatchio_core::{Message, Text};
    /// let m = Message::new(Text::from("hi")).with_type("Chat");
    /// assert_eq!(m.ty(), "Chat");
    /// assert!(m.content_as::<Text>().is_some()); // the content is unchanged
    /// ```
    pub fn with_type(mut self, ty: impl Into<SharedStr>) -> Message {
        self.env.ty = ty.into();
        self
    }

    /// Sets the message ID (otherwise the dispatcher assigns one).
    ///
    /// ```
    /// use dispatchio_core::{Message, Text};
    /// assert_eq!(Message::new(Text::from("hi")).with_id(42).id().get(), 42);
    /// ```
    pub fn with_id(mut self, id: i64) -> Message {
        self.env.id = MessageId(id);
        self
    }

    /// Sets the source ID.
    ///
    /// ```
    /// use dispatchio_core::{Id, Message, Text};
    /// let m = Message::new(Text::from("hi")).from_source("dealer");
    /// assert_eq!(m.envelope().source, Some(Id::from("dealer")));
    /// ```
    pub fn from_source(mut self, source: impl Into<Id>) -> Message {
        self.env.source = Some(source.into());
        self
    }

    /// Addresses the message to one destination.
    ///
    /// ```
    /// use dispatchio_core::{Id, Message, Text};
    /// let m = Message::new(Text::from("hi")).to(3);
    /// assert_eq!(m.envelope().dest, Some(Id::from(3)));
    /// assert_eq!(m.envelope().validate(), Ok(()));
    /// ```
    pub fn to(mut self, dest: impl Into<Id>) -> Message {
        self.env.dest = Some(dest.into());
        self
    }

    /// Addresses the message to every subscriber of a group.
    ///
    /// ```
    /// use dispatchio_core::{Id, Message, Text};
    /// let m = Message::new(Text::from("hi")).to_group("Players");
    /// assert_eq!(m.envelope().group, Some(Id::from("Players")));
    /// assert_eq!(m.envelope().validate(), Ok(()));
    /// ```
    pub fn to_group(mut self, group: impl Into<Id>) -> Message {
        self.env.group = Some(group.into());
        self
    }

    /// Asks for a reply.
    ///
    /// ```
    /// use dispatchio_core::{Message, Text};
    /// let m = Message::new(Text::from("hi")).to("p-1").requiring_response();
    /// assert!(m.envelope().response_required);
    /// ```
    pub fn requiring_response(mut self) -> Message {
        self.env.response_required = true;
        self
    }

    /// Marks the message blocking: later messages to its destination wait
    /// until it is answered.
    ///
    /// ```
    /// use dispatchio_core::{Message, Text};
    /// let m = Message::new(Text::from("hi")).to("p-1").blocking();
    /// assert!(m.envelope().blocking && !m.envelope().sync);
    /// ```
    pub fn blocking(mut self) -> Message {
        self.env.blocking = true;
        self
    }

    /// Marks the message synchronous: it is handled in the sender's thread and
    /// answered at once, or fails.
    ///
    /// ```
    /// use dispatchio_core::{Message, Text};
    /// let m = Message::new(Text::from("hi")).to("p-1").synchronous();
    /// assert!(m.envelope().sync && !m.envelope().blocking);
    /// ```
    pub fn synchronous(mut self) -> Message {
        self.env.sync = true;
        self
    }

    /// Builds the reply to `request` carrying `content`: same ID, `is_response`,
    /// addressed back to the request's source.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use dispatchio_core::{Id, Message, MessageId, Text};
    /// let req = Message::new(Text::from("deal?")).to("dealer").from_source("p-1").with_id(42);
    /// let reply = Message::reply_to(req.envelope(), Arc::new(Text::from("dealt")), None);
    /// let env = reply.envelope();
    /// assert_eq!((env.id, env.is_response), (MessageId(42), true));
    /// assert_eq!(env.dest, Some(Id::from("p-1"))); // back to the request's source
    /// assert_eq!(env.source, Some(Id::from("dealer"))); // `from` defaults to its destination
    /// ```
    pub fn reply_to(request: &Envelope, content: ContentRef, from: Option<Id>) -> Message {
        let mut env = Envelope::new(content.shared_type_name());
        env.id = request.id;
        env.is_response = true;
        env.dest = request.source.clone();
        env.source = from.or_else(|| request.dest.clone());
        Message { env, content }
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("envelope", &self.env)
            .field("content", &self.content)
            .finish()
    }
}

/// A message whose content is known to be a `T`: what
/// [`Dispatcher::request_as`](crate::Dispatcher::request_as) answers, and
/// what [`Message::into_typed`] makes. It derefs to the content; the
/// envelope and the message stay at hand.
///
/// ```
/// use dispatchio_core::{Message, Text};
/// let reply = Message::new(Text::from("7 cards")).into_typed::<Text>().unwrap();
/// assert_eq!(reply.0, "7 cards"); // the content, through `Deref`
/// assert_eq!(reply.message().ty(), "Text");
/// ```
pub struct Typed<T> {
    message: Message,
    // `fn() -> T`: a `Typed<T>` holds no `T` of its own (the message holds
    // it), so it is `Send` and `Sync` as `Message` is, whatever `T` is.
    content: PhantomData<fn() -> T>,
}

impl<T: Content> Typed<T> {
    /// The content.
    ///
    /// ```
    /// use dispatchio_core::{Message, Text};
    /// let typed = Message::new(Text::from("hi")).into_typed::<Text>().unwrap();
    /// let text: &Text = typed.content();
    /// assert_eq!(text.0, "hi");
    /// ```
    pub fn content(&self) -> &T {
        // `into_typed`, the only constructor, checked the type.
        self.message.content_as::<T>().expect("a Typed<T> holds a T")
    }

    /// The whole message (its envelope says who answered, and its ID).
    ///
    /// ```
    /// use dispatchio_core::{Message, Text};
    /// let typed = Message::new(Text::from("hi")).from_source("dealer").into_typed::<Text>().unwrap();
    /// assert_eq!(typed.message().envelope().source, Some("dealer".into()));
    /// ```
    pub fn message(&self) -> &Message {
        &self.message
    }

    /// The message, typed no more.
    ///
    /// ```
    /// use dispatchio_core::{Message, Text};
    /// let typed = Message::new(Text::from("hi")).with_id(5).into_typed::<Text>().unwrap();
    /// let m = typed.into_message();
    /// assert_eq!(m.id().get(), 5);
    /// assert_eq!(m.content_as::<Text>().unwrap().0, "hi");
    /// ```
    pub fn into_message(self) -> Message {
        self.message
    }
}

impl<T: Content> std::ops::Deref for Typed<T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.content()
    }
}

impl<T> Clone for Typed<T> {
    fn clone(&self) -> Self {
        Typed { message: self.message.clone(), content: PhantomData }
    }
}

impl<T: Content> fmt::Debug for Typed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Typed").field(self.content()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::Empty;

    #[test]
    fn validation_refuses_dest_and_group_together() {
        let m = Message::new(Empty).to(1).to_group("All");
        assert_eq!(m.envelope().validate(), Err(InvalidMessage::DestAndGroup));
    }

    #[test]
    fn validation_refuses_a_response_requiring_a_response() {
        let mut m = Message::new(Empty).to(1).requiring_response();
        m.envelope_mut().is_response = true;
        assert_eq!(m.envelope().validate(), Err(InvalidMessage::ResponseRequiresResponse));
    }

    #[test]
    fn validation_refuses_a_message_without_destination() {
        assert_eq!(Message::new(Empty).envelope().validate(), Err(InvalidMessage::NoDestination));
        assert_eq!(Message::new(Empty).to(1).envelope().validate(), Ok(()));
    }

    #[test]
    fn a_message_crosses_a_process_boundary_as_envelope_and_encoded_content() {
        use crate::content::{ContentRegistry, Text};
        let sent = Message::new(Text::from("hi")).to("p-2").from_source(7).with_id(9).blocking();
        // What a transport writes: the envelope and the content's bytes.
        let env_bytes = rmp_serde::to_vec_named(sent.envelope()).unwrap();
        let content_bytes = sent.content().encode().unwrap();
        // What the other side rebuilds.
        let env: Envelope = rmp_serde::from_slice(&env_bytes).unwrap();
        let mut registry = ContentRegistry::new();
        registry.register::<Text>();
        let content = registry.decode(&env.ty, &content_bytes).unwrap();
        let got = Message::from_parts(env, content);
        assert_eq!(got.envelope(), sent.envelope());
        assert_eq!(got.content_as::<Text>(), Some(&Text::from("hi")));
    }

    #[test]
    fn a_reply_keeps_the_request_id_and_goes_back_to_its_source() {
        let req = Message::new(Empty).to("server").from_source("client").with_id(42);
        let reply = Message::reply_to(req.envelope(), Arc::new(Empty), None);
        let env = reply.envelope();
        assert_eq!(env.id, MessageId(42));
        assert!(env.is_response);
        assert_eq!(env.dest, Some(Id::from("client")));
        assert_eq!(env.source, Some(Id::from("server")));
    }
}
