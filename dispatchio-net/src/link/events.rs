//! [`LinkEvents`]: what a link tells the side that uses it, and
//! [`PeerLost`], the event of a connection gone.

use std::future::Future;

use super::{Link, LinkId};
use crate::error::{DownReason, HandshakeError};
use crate::wire::{Announcement, Payload, WireMessageRef};

/// What the dispatcher implements to hear from its links.
///
/// The link layer calls these from its own tasks. [`received`](Self::received)
/// (and [`received_message`](Self::received_message)) is awaited before the
/// next frame of that link is read, which gives in-order
/// delivery and lets the dispatcher push back on a fast peer by awaiting (its
/// own bounded queues, for instance). It must not wait on anything that needs
/// this same link's peer to read: awaiting [`Link::send`] on the same link
/// inside `received` can deadlock two peers that flood each other (each
/// reader waits for its writer, each writer for the other's reader). Answer
/// with [`Link::try_send`], or hand the work to another task.
///
/// For each connection the calls come in this order: `link_up`, then
/// `announcements` (whose result is sent to the peer before any queued
/// frame), then `received` or `received_message` for each incoming frame,
/// then `link_down`. A frame
/// queued between `link_up` and the snapshot is sent after the snapshot, so
/// announcements must be idempotent (serving an ID twice is not a conflict
/// when it is the same peer).
///
/// ```
/// # use std::sync::Arc;
/// # use dispatchio_net::{self as net, Address, Link, LinkEvents, NetConfig, Payload};
/// # struct Quiet; // hears nothing
/// # impl LinkEvents for Quiet { async fn received(&self, _: &Link, _: Payload) {} }
/// # fn socket(name: &str) -> Address {
/// #     let path = std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id()));
/// #     format!("unix:{}", path.display()).parse().unwrap()
/// # }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
/// /// Answers every request with its own content: an echo peer.
/// struct Echo;
/// impl LinkEvents for Echo {
///     async fn received(&self, link: &Link, payload: Payload) {
///         use dispatchio_net::{ReplyResult, WireReply};
///         if let Payload::Message(m) = payload {
///             if m.response_required {
///                 let reply = WireReply { to: m.id, result: ReplyResult::Ok(m.content) };
///                 let _ = link.try_send(Payload::Reply(reply)); // never `send().await` here
///             }
///         }
///     }
/// }
/// /// Hands the replies it gets to a channel.
/// struct Replies(UnboundedSender<u64>);
/// impl LinkEvents for Replies {
///     async fn received(&self, _: &Link, payload: Payload) {
///         if let Payload::Reply(r) = payload {
///             let _ = self.0.send(r.to);
///         }
///     }
/// }
/// use dispatchio_net::{WireId, WireMessage};
/// let addr = socket("link-events");
/// let _listening = net::listen(&addr, &NetConfig::new("echo"), Arc::new(Echo)).await?;
/// let (tx, mut replies) = unbounded_channel();
/// let link = net::connect(&addr, &NetConfig::new("web"), Arc::new(Replies(tx))).await?;
/// let ask = WireMessage { dest: Some(WireId::from("echo")), response_required: true, ..WireMessage::new(7, "Ask", None) };
/// link.send(Payload::Message(ask)).await?;
/// assert_eq!(replies.recv().await, Some(7));
/// # Ok(()) }
/// ```
pub trait LinkEvents: Send + Sync + 'static {
    /// What this side serves, sent to the peer as the first frame of every
    /// connection. After a reconnect the peer has forgotten the old state
    /// (it got `link_down`), so this must be the complete current state.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use dispatchio_net::{self as net, Address, Link, LinkEvents, NetConfig, Payload};
    /// # struct Quiet; // hears nothing
    /// # impl LinkEvents for Quiet { async fn received(&self, _: &Link, _: Payload) {} }
    /// # fn socket(name: &str) -> Address {
    /// #     let path = std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id()));
    /// #     format!("unix:{}", path.display()).parse().unwrap()
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
    /// use dispatchio_net::{Announcement, WireId};
    /// /// Serves "bob", and says so to every peer it meets.
    /// struct ServesBob;
    /// impl LinkEvents for ServesBob {
    ///     fn announcements(&self) -> Vec<Announcement> {
    ///         vec![Announcement::Serve(WireId::from("bob"))]
    ///     }
    ///     async fn received(&self, _: &Link, _: Payload) {}
    /// }
    /// /// Hands what arrives to a channel.
    /// struct Got(UnboundedSender<Payload>);
    /// impl LinkEvents for Got {
    ///     async fn received(&self, _: &Link, payload: Payload) {
    ///         let _ = self.0.send(payload);
    ///     }
    /// }
    /// let addr = socket("link-announcements-snapshot");
    /// let (tx, mut got) = unbounded_channel();
    /// let _listening = net::listen(&addr, &NetConfig::new("billing"), Arc::new(Got(tx))).await?;
    /// let _link = net::connect(&addr, &NetConfig::new("web"), Arc::new(ServesBob)).await?;
    /// // The first frame of the connection.
    /// assert_eq!(got.recv().await, Some(Payload::Announce(vec![Announcement::Serve(WireId::from("bob"))])));
    /// # Ok(()) }
    /// ```
    fn announcements(&self) -> Vec<Announcement> {
        Vec::new()
    }

    /// A connection of `link` completed its handshake; from now on frames
    /// flow. Called again after each reconnect of a dialled link.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use dispatchio_net::{self as net, Address, Link, LinkEvents, NetConfig, Payload};
    /// # struct Quiet; // hears nothing
    /// # impl LinkEvents for Quiet { async fn received(&self, _: &Link, _: Payload) {} }
    /// # fn socket(name: &str) -> Address {
    /// #     let path = std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id()));
    /// #     format!("unix:{}", path.display()).parse().unwrap()
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
    /// /// Tells the names of the peers whose links came up.
    /// struct Ups(UnboundedSender<String>);
    /// impl LinkEvents for Ups {
    ///     fn link_up(&self, link: &Link) {
    ///         let _ = self.0.send(link.peer_name());
    ///     }
    ///     async fn received(&self, _: &Link, _: Payload) {}
    /// }
    /// let addr = socket("link-up");
    /// let (tx, mut ups) = unbounded_channel();
    /// let _listening = net::listen(&addr, &NetConfig::new("billing"), Arc::new(Ups(tx))).await?;
    /// let _link = net::connect(&addr, &NetConfig::new("web"), Arc::new(Quiet)).await?;
    /// assert_eq!(ups.recv().await.as_deref(), Some("web"));
    /// # Ok(()) }
    /// ```
    fn link_up(&self, link: &Link) {
        let _ = link;
    }

    /// A message, reply or announcement arrived on `link`.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use dispatchio_net::{self as net, Address, Link, LinkEvents, NetConfig, Payload};
    /// # struct Quiet; // hears nothing
    /// # impl LinkEvents for Quiet { async fn received(&self, _: &Link, _: Payload) {} }
    /// # fn socket(name: &str) -> Address {
    /// #     let path = std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id()));
    /// #     format!("unix:{}", path.display()).parse().unwrap()
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
    /// use dispatchio_net::{ReplyResult, WireReply};
    /// /// Counts what arrives, in order.
    /// struct Count(UnboundedSender<u64>);
    /// impl LinkEvents for Count {
    ///     async fn received(&self, _: &Link, payload: Payload) {
    ///         if let Payload::Reply(r) = payload {
    ///             let _ = self.0.send(r.to);
    ///         }
    ///     }
    /// }
    /// let addr = socket("link-received");
    /// let (tx, mut got) = unbounded_channel();
    /// let _listening = net::listen(&addr, &NetConfig::new("billing"), Arc::new(Count(tx))).await?;
    /// let link = net::connect(&addr, &NetConfig::new("web"), Arc::new(Quiet)).await?;
    /// for to in 1..=3 {
    ///     link.send(Payload::Reply(WireReply { to, result: ReplyResult::Ok(None) })).await?;
    /// }
    /// let order: Vec<_> = [got.recv().await, got.recv().await, got.recv().await].into_iter().flatten().collect();
    /// assert_eq!(order, [1, 2, 3]); // in the order sent
    /// # Ok(()) }
    /// ```
    fn received(&self, link: &Link, payload: Payload) -> impl Future<Output = ()> + Send;

    /// A message arrived on `link`, still borrowing the frame's bytes.
    ///
    /// Called instead of [`received`](Self::received) for message frames,
    /// with the same ordering promise. The default makes the owned
    /// [`WireMessage`](crate::WireMessage) and calls `received`; a receiver
    /// that only reads the fields overrides this to skip those allocations.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use dispatchio_net::{self as net, Address, Link, LinkEvents, NetConfig, Payload};
    /// # struct Quiet; // hears nothing
    /// # impl LinkEvents for Quiet { async fn received(&self, _: &Link, _: Payload) {} }
    /// # fn socket(name: &str) -> Address {
    /// #     let path = std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id()));
    /// #     format!("unix:{}", path.display()).parse().unwrap()
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
    /// use dispatchio_net::{WireMessage, WireMessageRef};
    /// /// Reads the fields it needs from the frame itself: no allocation per message.
    /// struct Types(UnboundedSender<bool>);
    /// impl LinkEvents for Types {
    ///     async fn received(&self, _: &Link, _: Payload) {}
    ///     async fn received_message(&self, _: &Link, m: WireMessageRef<'_>) {
    ///         let _ = self.0.send(m.type_name == "Tick");
    ///     }
    /// }
    /// let addr = socket("link-received-message");
    /// let (tx, mut ticks) = unbounded_channel();
    /// let _listening = net::listen(&addr, &NetConfig::new("billing"), Arc::new(Types(tx))).await?;
    /// let link = net::connect(&addr, &NetConfig::new("web"), Arc::new(Quiet)).await?;
    /// link.send(Payload::Message(WireMessage::new(1, "Tick", None))).await?;
    /// assert_eq!(ticks.recv().await, Some(true));
    /// # Ok(()) }
    /// ```
    fn received_message(
        &self,
        link: &Link,
        message: WireMessageRef<'_>,
    ) -> impl Future<Output = ()> + Send {
        self.received(link, Payload::Message(message.to_owned_message()))
    }

    /// An `Announce` frame listing `entries` announcements, more than
    /// [`NetConfig::max_announcements`](crate::NetConfig::max_announcements), arrived on `link` and was refused
    /// whole: none of it is given to [`received`](Self::received). The link
    /// has logged it and carries on.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use dispatchio_net::{self as net, Address, Link, LinkEvents, NetConfig, Payload};
    /// # struct Quiet; // hears nothing
    /// # impl LinkEvents for Quiet { async fn received(&self, _: &Link, _: Payload) {} }
    /// # fn socket(name: &str) -> Address {
    /// #     let path = std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id()));
    /// #     format!("unix:{}", path.display()).parse().unwrap()
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
    /// use dispatchio_net::{Announcement, WireId};
    /// struct Refusals(UnboundedSender<usize>);
    /// impl LinkEvents for Refusals {
    ///     async fn received(&self, _: &Link, _: Payload) {}
    ///     fn announcement_refused(&self, _: &Link, entries: usize) {
    ///         let _ = self.0.send(entries);
    ///     }
    /// }
    /// let addr = socket("link-refused");
    /// let (tx, mut refused) = unbounded_channel();
    /// let _listening = net::listen(&addr, &NetConfig::new("billing").max_announcements(1), Arc::new(Refusals(tx))).await?;
    /// let link = net::connect(&addr, &NetConfig::new("web"), Arc::new(Quiet)).await?;
    /// let two = (1..=2).map(|i| Announcement::Serve(WireId::Int(i))).collect();
    /// link.send(Payload::Announce(two)).await?;
    /// assert_eq!(refused.recv().await, Some(2));
    /// # Ok(()) }
    /// ```
    fn announcement_refused(&self, link: &Link, entries: usize) {
        let _ = (link, entries);
    }

    /// A connection of `link` ended. The dispatcher forgets what the peer
    /// announced on it and fails every request in
    /// [`PeerLost::pending_requests`] with a peer-lost error.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use dispatchio_net::{self as net, Address, Link, LinkEvents, NetConfig, Payload};
    /// # struct Quiet; // hears nothing
    /// # impl LinkEvents for Quiet { async fn received(&self, _: &Link, _: Payload) {} }
    /// # fn socket(name: &str) -> Address {
    /// #     let path = std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id()));
    /// #     format!("unix:{}", path.display()).parse().unwrap()
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
    /// use dispatchio_net::{DownReason, PeerLost};
    /// struct Downs(UnboundedSender<(String, DownReason)>);
    /// impl LinkEvents for Downs {
    ///     async fn received(&self, _: &Link, _: Payload) {}
    ///     fn link_down(&self, link: &Link, lost: &PeerLost) {
    ///         // The dispatcher forgets what `link` announced, fails `lost.pending_requests`.
    ///         let _ = self.0.send((link.peer_name(), lost.reason.clone()));
    ///     }
    /// }
    /// let addr = socket("link-down");
    /// let (tx, mut downs) = unbounded_channel();
    /// let _listening = net::listen(&addr, &NetConfig::new("billing"), Arc::new(Downs(tx))).await?;
    /// let link = net::connect(&addr, &NetConfig::new("web"), Arc::new(Quiet)).await?;
    /// link.close("bye").await;
    /// assert_eq!(downs.recv().await, Some(("web".to_owned(), DownReason::Goodbye("bye".into()))));
    /// # Ok(()) }
    /// ```
    fn link_down(&self, link: &Link, lost: &PeerLost) {
        let _ = (link, lost);
    }

    /// A handshake failed: on a listener, with a peer that then was
    /// disconnected; on a dialled link, while reconnecting. (The first dial of
    /// [`connect`](crate::connect) returns its error instead.)
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use dispatchio_net::{self as net, Address, Link, LinkEvents, NetConfig, Payload};
    /// # struct Quiet; // hears nothing
    /// # impl LinkEvents for Quiet { async fn received(&self, _: &Link, _: Payload) {} }
    /// # fn socket(name: &str) -> Address {
    /// #     let path = std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id()));
    /// #     format!("unix:{}", path.display()).parse().unwrap()
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
    /// use dispatchio_net::HandshakeError;
    /// struct Failures(UnboundedSender<String>);
    /// impl LinkEvents for Failures {
    ///     async fn received(&self, _: &Link, _: Payload) {}
    ///     fn handshake_failed(&self, _remote: &str, error: &HandshakeError) {
    ///         let _ = self.0.send(error.to_string());
    ///     }
    /// }
    /// let addr = socket("link-handshake-failed");
    /// let (tx, mut failures) = unbounded_channel();
    /// let secret = NetConfig::new("billing").secret("a long random string");
    /// let _listening = net::listen(&addr, &secret, Arc::new(Failures(tx))).await?;
    /// assert!(net::connect(&addr, &NetConfig::new("web").secret("a guess"), Arc::new(Quiet)).await.is_err());
    /// let told = failures.recv().await.unwrap_or_default();
    /// assert!(told.contains("wrong shared secret"), "{told}");
    /// # Ok(()) }
    /// ```
    fn handshake_failed(&self, remote: &str, error: &HandshakeError) {
        let _ = (remote, error);
    }
}

/// A connection of a link went down: the event given to
/// [`LinkEvents::link_down`].
///
/// ```
/// # use std::sync::Arc;
/// # use dispatchio_net::{self as net, Address, Link, LinkEvents, NetConfig, Payload};
/// # struct Quiet; // hears nothing
/// # impl LinkEvents for Quiet { async fn received(&self, _: &Link, _: Payload) {} }
/// # fn socket(name: &str) -> Address {
/// #     let path = std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id()));
/// #     format!("unix:{}", path.display()).parse().unwrap()
/// # }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
/// use dispatchio_net::{DownReason, PeerLost};
/// struct Lost(UnboundedSender<PeerLost>);
/// impl LinkEvents for Lost {
///     async fn received(&self, _: &Link, _: Payload) {}
///     fn link_down(&self, _: &Link, lost: &PeerLost) {
///         let _ = self.0.send(lost.clone());
///     }
/// }
/// let addr = socket("link-peer-lost");
/// let listening = net::listen(&addr, &NetConfig::new("billing"), Arc::new(Quiet)).await?;
/// let (tx, mut lost) = unbounded_channel();
/// let link = net::connect(&addr, &NetConfig::new("web"), Arc::new(Lost(tx))).await?;
/// listening.close().await;
/// let lost = lost.recv().await.ok_or("no event")?;
/// assert_eq!((lost.link, lost.peer_name.as_str()), (link.id(), "billing"));
/// assert!(matches!(lost.reason, DownReason::Goodbye(_)));
/// assert!(lost.reconnecting && lost.pending_requests.is_empty());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PeerLost {
    /// The link.
    pub link: LinkId,
    /// The peer's name (from its handshake).
    pub peer_name: String,
    /// Why the connection ended.
    pub reason: DownReason,
    /// IDs of requests (messages with `response_required`) that were written
    /// to the connection and not yet answered, plus, if the link is closed for
    /// good, those still queued. None of them will be answered: the dispatcher
    /// fails each with a peer-lost error.
    pub pending_requests: Vec<u64>,
    /// Whether the link tries to reconnect (dialled links do until closed).
    /// Frames queued on it are kept and sent after reconnecting.
    pub reconnecting: bool,
}
