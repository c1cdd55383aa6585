//! `include_routes!`: a thin proc-macro over `dispatchio-dsl`'s code generator.
#![forbid(unsafe_code)]
#![deny(missing_docs, rustdoc::broken_intra_doc_links)]
