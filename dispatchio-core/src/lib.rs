//! The dispatchio runtime: IDs, messages, dispatchers, listeners and routing tables.
#![forbid(unsafe_code)]
#![deny(missing_docs, rustdoc::broken_intra_doc_links)]

pub mod net;
