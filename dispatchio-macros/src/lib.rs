//! `include_routes!`: a thin proc-macro over `dispatchio-dsl`'s code generator.
//!
//! Everything but reading the macro's argument happens in
//! [`dispatchio_dsl::codegen::expand`], an ordinary library call that the
//! code generator's tests exercise directly. Use the macro through the
//! `dispatchio` crate (`dispatchio::include_routes!`), whose documentation
//! describes what it generates.
#![forbid(unsafe_code)]
#![deny(missing_docs, rustdoc::broken_intra_doc_links)]

use std::path::{Path, PathBuf};

use proc_macro::TokenStream;

/// Overrides `CARGO_MANIFEST_DIR` as the base of relative paths. trybuild
/// compiles tests in a generated crate whose manifest directory holds none of
/// the test's files (trybuild#202); its tests set this to the real one.
const MANIFEST_DIR_OVERRIDE: &str = "DISPATCHIO_MANIFEST_DIR";

/// Compiles a `.route` file (path relative to the including crate's
/// `CARGO_MANIFEST_DIR`) into typed Rust: message structs, consts, and per
/// listener a module with a `Handler` trait, a `Listener` type and a compiled
/// `Matcher`. See the `dispatchio` crate's documentation of this macro.
#[proc_macro]
pub fn include_routes(input: TokenStream) -> TokenStream {
    let lit = match syn::parse::<syn::LitStr>(input) {
        Ok(lit) => lit,
        Err(e) => {
            let e = syn::Error::new(
                e.span(),
                "include_routes! takes one string literal: the path of a .route file, \
                 relative to the crate's Cargo.toml (`include_routes!(\"routes/game.route\")`)",
            );
            return e.to_compile_error().into();
        }
    };
    let shown = PathBuf::from(lit.value());
    let base = std::env::var_os(MANIFEST_DIR_OVERRIDE)
        .or_else(|| std::env::var_os("CARGO_MANIFEST_DIR"))
        .map(PathBuf::from)
        .unwrap_or_default();
    let path = if shown.is_absolute() { shown.clone() } else { base.join(&shown) };
    dispatchio_dsl::codegen::expand(&path, Path::new(&shown), lit.span()).into()
}
