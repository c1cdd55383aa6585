//! The NATS transport of dispatchio: dispatchers on many machines that share
//! one NATS cluster reach each other's destinations and groups by ID.
//!
//! [`NatsExt::join_nats`] connects a dispatcher to the cluster and plugs
//! it in through the dispatcher's public transport seam: whatever nobody in
//! this process serves is published on its subject (see [`Namespace`] and
//! the [`subject`] module), and this process's destinations and groups are
//! subscribed to.
//!
//! Messages to destinations and groups travel at most once by default
//! ([`Delivery::Core`]), or at least once through a JetStream stream
//! ([`Delivery::JetStream`], chosen with [`NatsConfig::delivery`]).
//!
//! ```no_run
//! use dispatchio_core::{Dispatcher, Message, Text};
//! use dispatchio_nats::{NatsConfig, NatsExt};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let dispatcher = Dispatcher::new();
//! let _nats = dispatcher.join_nats(NatsConfig::new("nats://127.0.0.1:4222").namespace("game")).await?;
//! // Served by any dispatcher of the namespace "game" on that cluster.
//! dispatcher.send(Message::new(Text::from("hi")).to("bob"))?;
//! # Ok(()) }
//! ```
//!
//! Subjects:
//!
//! ```
//! use dispatchio_core::Id;
//! use dispatchio_nats::{Namespace, SubjectKind};
//!
//! let game = Namespace::new("game")?;
//! assert_eq!(game.destination(&Id::from("bob"))?, "game.d.s.bob");
//! assert_eq!(game.group(&Id::from(7))?, "game.g.i.7");
//! // What a subject token cannot hold is escaped, reversibly.
//! assert_eq!(game.destination(&Id::from("table 1.a"))?, "game.d.s.table_201_2Ea");
//! assert_eq!(
//!     game.parse("game.d.s.table_201_2Ea")?,
//!     (SubjectKind::Destination, Id::from("table 1.a"))
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs, rustdoc::broken_intra_doc_links)]

mod claim;
mod config;
mod conflict;
mod durable;
mod error;
mod group;
mod inbox;
mod join;
mod outlet;
mod roster;
mod serve;
mod stats;
pub mod subject;

pub use config::{Delivery, NatsConfig};
pub use conflict::Conflict;
pub use error::{NatsError, NatsErrorKind};
pub use join::{Nats, NatsExt};
pub use stats::NatsStats;
pub use subject::{
    MAX_NAMESPACE_LEN, MAX_SUBJECT_LEN, Namespace, NamespaceError, NamespaceErrorKind,
    ParseSubjectError, ParseSubjectErrorKind, SubjectError, SubjectKind,
};
