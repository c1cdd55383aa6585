//! dispatchio: message passing between dispatchers and listeners, routed by
//! declarative `.route` files.
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
    ReplySender, RoutedListener, SharedStr, Snapshot, Source, SyncContext, SyncError, Text,
    TransportError, TransportErrorKind, Typed, Value,
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
    pub use dispatchio_dsl::{analysis, ast, codegen, concrete, decide, diagnostic, program};
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
