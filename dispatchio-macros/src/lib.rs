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

/// Compiles a `.route` file into typed Rust routing.
///
/// `include_routes!("routes/game.route")` takes one string literal: the path
/// of a `.route` file relative to the including crate's `Cargo.toml`
/// (`CARGO_MANIFEST_DIR`). It checks the file and everything it imports as
/// `dispatchio check` does, then expands, in place, to:
///
/// * **a struct per `message`**, named as in the file, with public fields
///   (`int` → `i64`, `float` → `f64`, `string` → `String`, `id` → `Id`,
///   `[T]` → `Vec<T>`, `T?` → `Option<T>`, a nested message → its struct,
///   boxed where a type contains itself through `?`), serde derives, and the
///   runtime's `ContentType` (its type name) and `Fields` (field access for
///   `content.…` paths and the interpreter);
/// * **a `pub const` per `const`** (`i64`, `f64`, `&str`, `bool`, or a slice;
///   a set mixing ints and strings is `&[Id]`);
/// * **`register_content_types(&mut ContentRegistry)`**, so content of these
///   types arriving from another process decodes to the structs;
/// * **a module per listener**, named after it, holding
///   - `trait Handler`: one method per `call` target, taking the envelope and
///     the content typed by the rules that call it: `&Card` when every such
///     rule narrows `type` to `Card`; a generated enum `OnXContent<'_>` when
///     it narrows to several declared types; `&dyn Content` when undeclared
///     types (or `otherwise`) reach it. `call` methods return a
///     `HandlerResult`; `call async` methods return
///     `impl Future<Output = HandlerResult> + Send + 'static` (clone what the
///     future needs from its arguments). A listener without `call`s has `()`
///     as its handler.
///   - `struct Listener<H: Handler>`: the runtime's `Listener`, owning the
///     listener's named queues (`queue_NAME()`), with `bind_forward` for
///     `forward` targets and per-rule hit counters.
///   - `struct Matcher`: the compiled routing table (the runtime's
///     `routing::Matcher`). It dispatches on the message type once, reads
///     fields from the typed struct, turns runs of rules on one int or string
///     field into a `match` or a binary search, and allocates nothing. Its
///     decisions equal the reference evaluator's (the `dispatchio-oracle` test crate),
///     which the crate's tests check on random messages.
///
/// Invoke it at module level (typically in its own `mod routes { … }`): the
/// listener modules refer to the message structs through `super::`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// mod routes {
///     // `message Greeting`, `message Card { card: int }`, `const DECK = 52`, `listener player`
///     dispatchio::include_routes!("../examples/routes/card_dealer.route");
/// }
///
/// assert_eq!(routes::DECK, 52);
/// let dispatcher = dispatchio::Dispatcher::new();
/// let player = std::sync::Arc::new(routes::player::Listener::new(()));
/// dispatcher.register("player", player.clone())?;
/// // `rule deal when type == Card and card >= 0 and card < DECK => queue hand`
/// dispatcher.send(dispatchio::Message::new(routes::Card { card: 7 }).to("player"))?;
/// let card = player.queue_hand().recv().await.ok_or("no card")?;
/// assert_eq!(card.content_as::<routes::Card>().ok_or("not a Card")?.card, 7);
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// Every error-level finding fails the build with one `compile_error!`,
/// spanned on the path literal, holding exactly what `dispatchio check`
/// prints in plain form: `error[code]: message`, ` --> file.route:line:col`
/// and the snippet. After errors the macro still emits a stub of the API
/// (the structs, consts, listener modules and their types, as far as the
/// file checked, made by the same generator as the real code), so the build shows the `.route` errors rather than one error per
/// use of a missing item. A stable proc-macro cannot emit warnings: run
/// `dispatchio check` (in CI too) to see them.
///
/// # Rebuilds
///
/// The expansion includes every file it read with `include_bytes!`, so
/// editing the `.route` file or any file it imports rebuilds the crate.
/// rust-analyzer, however, does not re-expand a macro when only the
/// `.route` file changed: after editing it, touch the Rust file or restart
/// the server to see the new API in the editor.
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

/// Makes a Rust struct usable as message content: implements the runtime's
/// `ContentType` (its message type name) and `Fields` (field access for
/// routing conditions, the interpreter and dynamic views).
///
/// ```
/// use dispatchio::{ContentType as _, Fields as _, Value};
///
/// #[derive(Debug, serde::Serialize, serde::Deserialize, dispatchio::ContentType)]
/// #[content(name = "Card")] // optional; the struct's name by default
/// struct PlayingCard {
///     card: i64,
///     suit: Option<String>, // absent when `None`
///     #[serde(rename = "seen")]
///     face_up: bool,
/// }
///
/// assert_eq!(PlayingCard::TYPE_NAME, "Card");
/// let card = PlayingCard { card: 7, suit: None, face_up: true };
/// assert_eq!(card.field("card"), Some(Value::Int(7)));
/// assert_eq!(card.field("suit"), None);
/// // Conditions read a field by the name serde gives it on the wire.
/// assert_eq!(card.field("seen"), Some(Value::Bool(true)));
/// assert_eq!(card.field("face_up"), None);
/// ```
///
/// Every field's type must implement `AsValue` (integers, floats, `bool`,
/// `String`, `Id`, `Option<T>`, `Vec<T>`, and other content types, which are
/// viewed as nested records). Fields are named as serde names them on the
/// wire, so content decoded dynamically in another process routes the same:
/// `#[serde(rename = "…")]` renames, `#[serde(skip)]` hides. Attributes that
/// would make the names differ from the wire's (`rename_all`, `flatten`, a
/// rename that differs per direction) are compile errors, as are enums,
/// tuple structs and generic structs.
///
/// `#[content(crate = "path")]` names the `dispatchio` crate when it is
/// re-exported under another path.
///
/// Use it through the `dispatchio` crate (`dispatchio::ContentType`), as
/// above.
#[proc_macro_derive(ContentType, attributes(content))]
pub fn derive_content_type(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    dispatchio_dsl::codegen::derive::content_type(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
