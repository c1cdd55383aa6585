//! dispatchio: message passing between dispatchers and listeners, routed by
//! declarative `.route` files.
//!
//! Each process has one [`Dispatcher`]. Listeners register under a
//! destination ID; senders send [`Message`]s to an ID or a group, and ask
//! for replies. What a listener does with a message is written as ordered
//! rules: in Rust ([`routing`]), or in a `.route` file, compiled by
//! [`include_routes!`] or loaded at run time by [`routes`]. The same calls
//! reach listeners in another process ([`net`]) or on another machine
//! (`nats`, feature `nats`). A short tour follows; the guide is
//! `docs/language.md`, the layout `docs/architecture.md`.
//!
//! # The first message
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use dispatchio::routing::{Action, Cond, RoutingTable};
//! use dispatchio::{Dispatcher, Message, RoutedListener, Text};
//!
//! let dispatcher = Dispatcher::new();
//! let table = RoutingTable::builder().rule("any", Cond::Always, [Action::queue("inbox")]).build()?;
//! let player = Arc::new(RoutedListener::builder(table).build()?);
//! dispatcher.register("player", player.clone())?;
//! dispatcher.send(Message::new(Text::from("hello")).to("player"))?;
//! let got = player.queue("inbox").unwrap().recv().await.unwrap();
//! assert_eq!(got.content_as::<Text>().unwrap().0, "hello");
//! # Ok(()) }
//! ```
//!
//! # A request
//!
//! A handler's [`Reply`] goes back to whoever asked;
//! [`request_as`](Dispatcher::request_as) also says which type the answer
//! must have (another type is [`Error::UnexpectedReply`]).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::{sync::Arc, time::Duration};
//! use dispatchio::routing::{Action, Cond, RoutingTable};
//! use dispatchio::{Dispatcher, HandlerError, Message, Reply, RoutedListener};
//!
//! #[derive(Debug, serde::Serialize, serde::Deserialize, dispatchio::ContentType)]
//! struct Ask { n: i64 }
//! #[derive(Debug, serde::Serialize, serde::Deserialize, dispatchio::ContentType)]
//! struct Answer { n: i64 }
//!
//! let dispatcher = Dispatcher::new();
//! let table = RoutingTable::builder().rule("ask", Cond::type_is("Ask"), [Action::call("answer")]).build()?;
//! let counter = RoutedListener::builder(table)
//!     .handler("answer", |m: &Message| {
//!         let ask = m.content_as::<Ask>().ok_or_else(|| HandlerError::new("not an Ask"))?;
//!         Ok(Reply::with(Answer { n: ask.n + 1 }))
//!     })
//!     .build()?;
//! dispatcher.register("counter", Arc::new(counter))?;
//! let msg = Message::new(Ask { n: 41 }).to("counter");
//! let answer = dispatcher.request_as::<Answer>(msg, Some(Duration::from_secs(5))).await?;
//! assert_eq!(answer.n, 42);
//! # Ok(()) }
//! ```
//!
//! # A `.route` file, compiled
//!
//! `examples/routes/card_dealer.route` declares the messages `Greeting` and
//! `Card` and a listener `player` that queues greetings to the group `All`
//! in `greetings` and cards in `hand`. [`include_routes!`] turns it into
//! typed Rust: the structs, and a listener module with a compiled matcher
//! and one method per queue.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! mod routes {
//!     dispatchio::include_routes!("examples/routes/card_dealer.route");
//! }
//!
//! let dispatcher = dispatchio::Dispatcher::new();
//! let bob = std::sync::Arc::new(routes::player::Listener::new(()));
//! dispatcher.register("bob", bob.clone())?;
//! dispatcher.send(dispatchio::Message::new(routes::Card { card: 7 }).to("bob"))?;
//! let card = bob.queue_hand().recv().await.ok_or("no card")?;
//! assert_eq!(card.content_as::<routes::Card>().ok_or("not a Card")?.card, 7);
//! # Ok(()) }
//! ```
//!
//! # The same file, loaded at run time
//!
//! [`routes::load`] checks the file exactly as `dispatchio check` does and
//! builds the same listeners over an interpreted table, which
//! [`reload`](routes::Routes::reload) can swap while messages flow.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # mod routes { dispatchio::include_routes!("examples/routes/card_dealer.route"); }
//! let dispatcher = dispatchio::Dispatcher::new();
//! let loaded = dispatchio::routes::load("examples/routes/card_dealer.route")?.build()?;
//! loaded.register(&dispatcher)?; // each listener under its name: `player`
//! dispatcher.send(dispatchio::Message::new(routes::Card { card: 7 }).to("player"))?;
//! let hand = loaded.listener("player")?.queue("hand")?;
//! assert!(hand.recv().await.is_some());
//! # Ok(()) }
//! ```
//!
//! # Two processes
//!
//! A dispatcher listens on a Unix socket (or TCP, or TLS); another connects,
//! and each sends to the other's listeners by ID as to its own. Here both
//! are in one process; in two, the code is the same.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::{sync::Arc, time::Duration};
//! use dispatchio::net::NetExt as _;
//! use dispatchio::routing::{Action, Cond, RoutingTable};
//! use dispatchio::{Dispatcher, Message, Reply, RoutedListener, Text};
//!
//! # let dir = std::env::temp_dir().join(format!("dispatchio-tour-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! let addr = format!("unix:{}", dir.join("tour.sock").display());
//! let server = Dispatcher::new();
//! let table = RoutingTable::builder().rule("any", Cond::Always, [Action::call("echo")]).build()?;
//! let echo = RoutedListener::builder(table).handler("echo", |m: &Message| Ok(Reply::Content(m.content().clone()))).build()?;
//! server.register("echo", Arc::new(echo))?;
//! let acceptor = server.listen(&addr).await?;
//!
//! let client = Dispatcher::new();
//! let peer = client.connect(&addr).await?;
//! assert!(client.wait_for_destination("echo", Duration::from_secs(5)).await);
//! let back = client.request(Message::new(Text::from("ping")).to("echo"), Some(Duration::from_secs(5))).await?;
//! assert_eq!(back.ty(), "Text");
//! peer.close().await;
//! acceptor.close().await;
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok(()) }
//! ```
//!
//! # Where things are
//!
//! Each item has one path:
//!
//! * the crate root: the runtime (from `dispatchio-core`): messages and
//!   their content ([`Message`], [`ContentType`](trait@ContentType),
//!   [`Value`]), the [`Dispatcher`], listeners ([`Listener`],
//!   [`RoutedListener`]), errors ([`Error`], [`ErrorKind`]);
//!   [`include_routes!`] and [`derive@ContentType`];
//! * [`routing`]: routing tables, conditions and the matcher they share;
//! * [`transport`]: the seam a transport to other processes plugs into;
//! * [`net`]: the Unix-socket, TCP and TLS transport (`dispatchio-net`), with
//!   [`net::NetExt`] for `dispatcher.listen(..)` and `.connect(..)`;
//! * [`dsl`]: the `.route` language (checker, analyser, code generator),
//!   and [`routes`], its interpreter.
#![forbid(unsafe_code)]
#![deny(missing_docs, rustdoc::broken_intra_doc_links)]

pub use dispatchio_core::{
    AsValue, Content, ContentRef, ContentRegistry, ContentType, Context, Counters, DecodeError,
    Deferred, Delivery, Destination, Dispatcher, DynContent, DynValue, Empty, EncodeError,
    Envelope, Error, ErrorKind, Fields, FnHandlers, ForwardTarget, GroupError, GroupReplies,
    HandlerError, HandlerResult, Handlers, Hooks, Id, InvalidMessage, Items, Listener,
    ListenerBuilder, Message, MessageId, NoHooks, Outcome, Promise, Queue, QueueInfo, Reply,
    ReplySender, RoutedListener, RuleHit, RuleHits, SharedStr, Snapshot, Source, SyncContext,
    SyncError, Text, TransportError, TransportErrorKind, Typed, UnknownQueue, Value,
};
pub use dispatchio_core::{routing, transport};
pub use dispatchio_dsl::interp as routes;

/// The `.route` language: parser, checker, analyser and code generator
/// (`dispatchio-dsl`); its interpreter is [`routes`].
pub mod dsl {
    #[doc(hidden)]
    pub use dispatchio_dsl::bench_support;
    #[cfg(feature = "cli")]
    pub use dispatchio_dsl::cli;
    pub use dispatchio_dsl::{
        Code, Diagnostic, FileId, Label, LoadError, Loaded, MAX_FILE_BYTES, Program, ReadError,
        Report, Sample, Severity, Skeleton, SourceFile, SourceMap, Span, Value, check, check_str,
        load, load_str,
    };
    pub use dispatchio_dsl::{analysis, codegen, concrete, decide, diagnostic, explain, program};
}

/// Derives [`ContentType`](trait@ContentType) and [`Fields`] for a struct
/// with named fields (see [`dispatchio_macros::ContentType`](derive@dispatchio_macros::ContentType)
/// for the attributes it reads).
///
/// ```
/// use dispatchio::{Content, Message, Value};
///
/// #[derive(Debug, serde::Serialize, serde::Deserialize, dispatchio::ContentType)]
/// struct Card {
///     card: i64,
///     suit: Option<String>,
/// }
///
/// let msg = Message::new(Card { card: 7, suit: None });
/// assert_eq!(msg.ty(), "Card");
/// let content: &dyn Content = &**msg.content();
/// assert_eq!(content.field("card"), Some(Value::Int(7)));
/// assert_eq!(content.field("suit"), None); // absent
/// ```
pub use dispatchio_macros::ContentType;
/// Compiles a `.route` file into typed Rust routing: message structs, consts
/// and a listener module per `listener` with a compiled matcher (see
/// [`dispatchio_macros::include_routes`] for everything it generates).
///
/// ```
/// mod routes {
///     dispatchio::include_routes!("examples/routes/card_dealer.route");
/// }
///
/// use dispatchio::routing::{End, Fired, Matcher};
///
/// let player = routes::player::Matcher::new();
/// let mut fired = Fired::new();
/// let card = dispatchio::Message::new(routes::Card { card: 7 }).to("bob");
/// player.route(&card, &mut fired);
/// assert_eq!(fired.end(), End::Stopped(1)); // rule `deal`: the card goes to `hand`
/// ```
pub use dispatchio_macros::include_routes;
/// The NATS transport (feature `nats`): dispatchers on many machines sharing
/// one NATS cluster.
#[cfg(feature = "nats")]
pub use dispatchio_nats as nats;
pub use dispatchio_net as net;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

/// The README's examples are compiled and run as doc tests, so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
