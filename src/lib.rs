//! dispatchio: message passing between dispatchers and listeners, routed by
//! declarative `.route` files.
#![forbid(unsafe_code)]
#![deny(missing_docs, rustdoc::broken_intra_doc_links)]

pub use dispatchio_core as core;
pub use dispatchio_dsl as dsl;
