//! The NATS transport of dispatchio: dispatchers on many machines that share
//! one NATS cluster reach each other's destinations and groups by ID.
//!
//! Built so far: [`Namespace`], which maps destination and group IDs to NATS
//! subjects and back (see the [`subject`] module for the scheme). The
//! transport that joins a dispatcher to a cluster through the dispatcher's
//! transport seam comes next (docs/architecture.md, "Between machines").
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

pub mod subject;

pub use subject::{
    MAX_NAMESPACE_LEN, MAX_SUBJECT_LEN, Namespace, NamespaceError, NamespaceErrorKind,
    ParseSubjectError, ParseSubjectErrorKind, SubjectError, SubjectKind,
};
