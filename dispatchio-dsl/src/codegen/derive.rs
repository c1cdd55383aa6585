//! `#[derive(ContentType)]` as a library call ([`content_type`]): the
//! runtime's `ContentType` and `Fields` for a hand-written Rust struct, the
//! impls `include_routes!` generates for the message types of a `.route`
//! file. The proc-macro crate only calls it; here its unit tests reach it.
//!
//! Field names follow serde's: routing conditions read `content.NAME` by the
//! name the field has on the wire, because content from another process that
//! this one did not register is decoded as a map keyed by those names and must
//! route the same way. So a field's `#[serde(rename = "…")]` renames it here
//! too, a `#[serde(skip)]` field is not visible, and container attributes that
//! rename or reshape fields in ways this derive does not follow
//! (`rename_all`, `flatten`, …) are refused with an error rather than routed
//! under the wrong names.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, LitStr, Path};

/// What `#[content(…)]` on the struct says.
struct Options {
    /// The message type name; the struct's name by default.
    name: LitStr,
    /// The path of the `dispatchio` crate (`::dispatchio` by default), for
    /// crates that re-export it.
    krate: Path,
}

/// One field visible to routing.
struct Field {
    ident: syn::Ident,
    /// The name conditions use: serde's name for the field.
    name: String,
    /// The field's type, where an error about it (no `AsValue`) points.
    ty_span: Span,
}

/// Expands `#[derive(ContentType)]` on `input`: the impls of the runtime's
/// `ContentType` and `Fields`, fields named as serde names them.
///
/// # Errors
///
/// A `syn::Error` spanned where the problem is: an enum, a union, a tuple
/// struct or a generic struct; an unknown or empty `#[content(…)]` option;
/// a serde attribute this derive does not follow (`rename_all`, `flatten`,
/// a rename that differs per direction, …).
///
/// ```
/// use dispatchio_dsl::codegen::derive::content_type;
///
/// let card: syn::DeriveInput = syn::parse_quote! {
///     #[content(name = "Card")]
///     struct PlayingCard { card: i64, #[serde(rename = "colour")] suit: String }
/// };
/// let code = content_type(&card)?.to_string();
/// assert!(code.contains(r#"const TYPE_NAME : & 'static str = "Card""#), "{code}");
/// // Routing reads the field by the name serde gives it on the wire.
/// assert!(code.contains(r#""colour""#));
/// let pair: syn::DeriveInput = syn::parse_quote! { struct Pair(i64, i64); };
/// assert!(content_type(&pair).is_err());
/// # Ok::<(), syn::Error>(())
/// ```
pub fn content_type(input: &DeriveInput) -> syn::Result<TokenStream> {
    let options = options(input)?;
    refuse_serde_container_attrs(input)?;
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new(
            input.generics.span(),
            "a content type cannot be generic: its TYPE_NAME names one message type, \
             and content must be 'static to travel between tasks",
        ));
    }
    let fields = fields(input)?;
    let Options { name, krate } = options;
    let ident = &input.ident;
    // Spanned on the field's type: a type without `AsValue` is reported there.
    let views: Vec<(String, TokenStream)> = fields
        .iter()
        .map(|f| {
            let id = &f.ident;
            (f.name.clone(), quote_spanned!(f.ty_span=> #krate::AsValue::as_value(&self.#id)))
        })
        .collect();
    let krate = quote!(#krate);
    Ok(super::content_impls(&krate, ident, &name.value(), &views))
}

fn options(input: &DeriveInput) -> syn::Result<Options> {
    let mut name = LitStr::new(&input.ident.to_string(), input.ident.span());
    let mut krate: Path = syn::parse_quote!(::dispatchio);
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("content")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("name") {
                let lit: LitStr = meta.value()?.parse()?;
                if lit.value().is_empty() {
                    return Err(meta.error("the message type name cannot be empty"));
                }
                name = lit;
                Ok(())
            } else if meta.path.is_ident("crate") {
                let lit: LitStr = meta.value()?.parse()?;
                krate = lit.parse()?;
                Ok(())
            } else {
                Err(meta.error(
                    "unknown `content` option; expected `name = \"Type\"` or `crate = \"path\"`",
                ))
            }
        })?;
    }
    Ok(Options { name, krate })
}

/// Container-level serde attributes that change field names or layout.
const UNFOLLOWED_CONTAINER: &[&str] =
    &["rename_all", "rename_all_fields", "transparent", "from", "try_from", "into", "remote"];

fn refuse_serde_container_attrs(input: &DeriveInput) -> syn::Result<()> {
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("serde")) {
        attr.parse_nested_meta(|meta| {
            if let Some(key) = UNFOLLOWED_CONTAINER.iter().find(|k| meta.path.is_ident(k)) {
                return Err(meta.error(format!(
                    "derive(ContentType) does not follow `#[serde({key})]`: routing would read \
                     fields under other names than the wire's; name each field with \
                     `#[serde(rename = \"…\")]` instead, or implement `Fields` by hand"
                )));
            }
            skip_value(&meta)
        })?;
    }
    Ok(())
}

fn fields(input: &DeriveInput) -> syn::Result<Vec<Field>> {
    let data = match &input.data {
        Data::Struct(s) => s,
        Data::Enum(e) => return Err(not_a_struct(e.enum_token.span, "an enum")),
        Data::Union(u) => return Err(not_a_struct(u.union_token.span, "a union")),
    };
    let named = match &data.fields {
        Fields::Named(named) => named,
        Fields::Unit => return Ok(Vec::new()),
        Fields::Unnamed(u) => return Err(not_a_struct(u.span(), "a tuple struct")),
    };
    let mut out = Vec::new();
    // Named fields all have identifiers; one without is skipped, not a panic.
    for (f, ident) in named.named.iter().filter_map(|f| Some((f, f.ident.clone()?))) {
        let mut name = ident.to_string();
        // A raw identifier (`r#type`) is `type` on the wire.
        if let Some(stripped) = name.strip_prefix("r#") {
            name = stripped.to_owned();
        }
        let mut skipped = false;
        for attr in f.attrs.iter().filter(|a| a.path().is_ident("serde")) {
            attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("rename") {
                    if meta.input.peek(syn::Token![=]) {
                        name = meta.value()?.parse::<LitStr>()?.value();
                        Ok(())
                    } else {
                        Err(meta.error(
                            "derive(ContentType) follows only `#[serde(rename = \"…\")]`; \
                             give the field one name for both directions",
                        ))
                    }
                } else if meta.path.is_ident("skip") || meta.path.is_ident("skip_serializing") {
                    skipped = true;
                    Ok(())
                } else if meta.path.is_ident("flatten") {
                    Err(meta.error(
                        "derive(ContentType) does not follow `#[serde(flatten)]`: routing \
                         would not see the flattened fields; implement `Fields` by hand",
                    ))
                } else {
                    skip_value(&meta)
                }
            })?;
        }
        if !skipped {
            out.push(Field { ident, name, ty_span: f.ty.span() });
        }
    }
    Ok(out)
}

/// Consumes `= value` or `(…)` of a serde option this derive does not read.
fn skip_value(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(syn::Token![=]) {
        meta.value()?.parse::<syn::Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        let content;
        syn::parenthesized!(content in meta.input);
        content.parse::<TokenStream>()?;
    }
    Ok(())
}

fn not_a_struct(span: Span, what: &str) -> syn::Error {
    syn::Error::new(
        span,
        format!(
            "derive(ContentType) is for structs with named fields (or unit structs), not {what}: \
             routing conditions read content fields by name"
        ),
    )
}

#[cfg(test)]
mod tests;
