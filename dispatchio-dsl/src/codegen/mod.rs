//! The code generator behind `include_routes!`: from a checked [`Program`]
//! to Rust tokens.
//!
//! [`generate`] turns a program into items the including crate can use:
//!
//! * per `message`, a struct with serde derives, the runtime's `ContentType`
//!   (its type name) and `Fields` (field access by name for `content.…`
//!   paths and the interpreter); optional fields are `Option`, lists `Vec`,
//!   nested messages the nested struct (boxed where a type contains itself);
//! * per `const`, a `pub const`;
//! * per listener, a module named after it holding a `Handler` trait (one
//!   method per `call` target, taking the envelope and the typed content), a
//!   `Listener<H: Handler>` type that owns the named queues and implements the
//!   runtime's `Listener`, and the compiled `Matcher`.
//!
//! Generated code reaches the runtime only through `::dispatchio::__private`,
//! so the including crate needs no other dependency. [`expand`] is everything
//! the proc-macro does: read, check, generate, or turn findings into
//! `compile_error!`s plus a stub of the API ([`generate_errors`]).
//!
//! The matcher's semantics are exactly those of [`crate::program`]: its
//! tests are the model's (`dispatchio-model`), embedded as static data, and
//! the reference evaluator (`dispatchio-oracle`) is its oracle in the tests;
//! how it is made fast is described in the `matcher` submodule.

pub mod derive;
mod matcher;
mod names;
mod stub;
mod types;

use std::path::{Path, PathBuf};

use proc_macro2::{Span as PmSpan, TokenStream};
use quote::quote;

use crate::diagnostic::{Diagnostic, SourceFile, SourceMap};
use crate::program::{Program, Skeleton};

use types::content_impls;

/// The path generated code uses to reach the runtime.
pub(crate) fn rt() -> TokenStream {
    quote!(::dispatchio::__private)
}

/// Generates the Rust items for a checked program.
///
/// `tracked_files` are the absolute paths of every file the program was read
/// from (the root and its imports): each becomes
/// `const _: &[u8] = include_bytes!("…");` so that editing any of them
/// rebuilds the including crate.
///
/// Nothing is checked here: a [`Program`] comes from the checker, which
/// refused what cannot become Rust (a message type that contains itself
/// with no `?` or list in between, a handler called both with and without
/// `async`) and recorded what generation needs (boxed fields, handler kinds).
///
/// ```
/// use std::path::PathBuf;
///
/// let program = dispatchio_dsl::load_str(
///     "game.route",
///     "message Card { card: int }\n\
///      listener player { rule deal when type == Card => queue hand }",
/// )?
/// .program;
/// let code = dispatchio_dsl::codegen::generate(&program, &[PathBuf::from("/routes/game.route")]);
/// let code = code.to_string();
/// assert!(code.contains("pub struct Card"));
/// assert!(code.contains("pub mod player"));
/// // Editing the file rebuilds the crate that includes it.
/// assert!(code.contains(r#"include_bytes ! ("/routes/game.route")"#));
/// # Ok::<(), dispatchio_dsl::LoadError>(())
/// ```
pub fn generate(program: &Program, tracked_files: &[PathBuf]) -> TokenStream {
    let tracking = track(tracked_files);
    let messages = program.messages().iter().map(|m| types::message(program, m));
    let consts = program.consts().iter().map(|c| types::constant(program, c));
    let listeners =
        program.listeners().iter().map(|l| matcher::listener(program, l, matcher::Body::Compiled));
    let register = types::register_fn(program);
    quote! {
        #tracking
        #(#messages)*
        #(#consts)*
        #register
        #(#listeners)*
    }
}

/// The error path: one `compile_error!` per error-level diagnostic, each
/// spanned on `span` (the path literal) and holding the plain rendering
/// `dispatchio check` prints, then the file tracking (so fixing the file
/// rebuilds), then a stub of the API (see `stub`) so the user sees the
/// `.route` errors rather than every use of a missing item.
///
/// The stub is made by the same generator as [`generate`]'s code, from
/// `skeleton` (what of the program checked); with none (the root file could
/// not be read) there is no stub.
///
/// ```
/// let report = dispatchio_dsl::check_str(
///     "game.route",
///     "listener player { rule deal when type == Card => queue hand }",
/// );
/// let span = proc_macro2::Span::call_site();
/// let code = dispatchio_dsl::codegen::generate_errors(
///     &report.sources,
///     &report.diagnostics,
///     report.skeleton.as_ref(),
///     &[],
///     span,
/// )
/// .to_string();
/// // The error as `dispatchio check` prints it, then the stub of the listener's module.
/// assert!(code.contains("compile_error ! { \"error[unknown-name]:"));
/// assert!(code.contains(" --> game.route:1:42"));
/// assert!(code.contains("pub mod player"));
/// ```
pub fn generate_errors(
    sources: &SourceMap,
    diagnostics: &[Diagnostic],
    skeleton: Option<&Skeleton>,
    tracked_files: &[PathBuf],
    span: PmSpan,
) -> TokenStream {
    let errors = diagnostics.iter().filter(|d| d.is_error()).map(|d| {
        let text = d.render_plain(sources);
        let text = text.trim_end();
        quote::quote_spanned!(span=> ::core::compile_error! { #text })
    });
    let tracking = track(tracked_files);
    let stub = skeleton.map(stub::stub);
    quote! {
        #(#errors)*
        #tracking
        #stub
    }
}

/// One `compile_error!` with `message`, spanned on `span` (used for a root
/// file that cannot be read: there is no source to point into).
pub(crate) fn error_message(message: &str, span: PmSpan) -> TokenStream {
    quote::quote_spanned!(span=> ::core::compile_error! { #message })
}

fn track(files: &[PathBuf]) -> TokenStream {
    let consts = files.iter().filter_map(|p| p.to_str()).map(|p| {
        quote! { const _: &[u8] = ::core::include_bytes!(#p); }
    });
    quote!(#(#consts)*)
}

/// Everything `include_routes!` does, as a library call: checks the file at
/// `path` (absolute, or relative to the current directory) and its imports,
/// then generates the program or, on error-level findings, the
/// `compile_error!`s and stub of [`generate_errors`]. Never panics.
///
/// Warnings are not reported: a stable proc-macro cannot emit them; run
/// `dispatchio check` for those.
///
/// `shown` is the path as the user wrote it, used in the diagnostics'
/// ` --> file:line:col` lines (so they match `dispatchio check` run from the
/// crate root).
///
/// ```
/// use std::path::Path;
/// use dispatchio_dsl::codegen::expand;
///
/// let span = proc_macro2::Span::call_site();
/// let file = Path::new("../examples/routes/card_dealer.route");
/// let code = expand(file, Path::new("routes/card_dealer.route"), span).to_string();
/// assert!(code.contains("pub struct Greeting") && code.contains("pub const DECK"));
/// // A file that is not there is a compile error naming it as the user wrote it.
/// let code = expand(Path::new("no/such.route"), Path::new("such.route"), span).to_string();
/// assert!(code.contains("error[unknown-name]: cannot read `such.route`"), "{code}");
/// ```
pub fn expand(path: &Path, shown: &Path, span: PmSpan) -> TokenStream {
    let report = match crate::check(path) {
        Ok(report) => report,
        Err(e) => {
            let code = if e.source.kind() == std::io::ErrorKind::NotFound {
                crate::Code::UnknownName
            } else {
                crate::Code::Unreadable
            };
            let message = format!(
                "error[{code}]: cannot read `{}`: {}\n --> {}",
                shown.display(),
                e.source,
                path.display()
            );
            return error_message(&message, span);
        }
    };
    let tracked: Vec<PathBuf> = report
        .sources
        .files()
        .map(|(_, f)| f.path.canonicalize().unwrap_or_else(|_| f.path.clone()))
        .collect();
    let shown_sources = display_sources(&report.sources, path, shown);
    match &report.program {
        Some(program) if !report.has_errors() => generate(program, &tracked),
        _ => generate_errors(
            &shown_sources,
            &report.diagnostics,
            report.skeleton.as_ref(),
            &tracked,
            span,
        ),
    }
}

/// The files of `sources` with the paths the user sees: the root as written
/// in the macro call, imports rebased onto that path's directory (file ids
/// are kept: files are re-added in order).
fn display_sources(sources: &SourceMap, root: &Path, shown: &Path) -> SourceMap {
    let root_dir = root.parent().unwrap_or(Path::new(""));
    let shown_dir = shown.parent().unwrap_or(Path::new(""));
    let mut out = SourceMap::new();
    for (_, f) in sources.files() {
        let path = match f.path.strip_prefix(root_dir) {
            Ok(rel) => shown_dir.join(rel),
            Err(_) => f.path.clone(),
        };
        out.add(SourceFile::new(path, f.text.clone()));
    }
    out
}
