//! Rust names for `.route` names.

use proc_macro2::{Ident, Span};

/// Words that are keywords in Rust but ordinary names in `.route` files.
const RUST_KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "do", "dyn",
    "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let",
    "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref", "return",
    "static", "struct", "trait", "true", "try", "type", "typeof", "unsafe", "unsized", "use",
    "virtual", "where", "while", "yield",
];

/// Keywords that cannot even be raw identifiers.
const NOT_RAW: &[&str] = &["self", "Self", "super", "crate", "_"];

/// The Rust identifier for a `.route` name: itself, `r#name` for a Rust
/// keyword, `name_` for the few words Rust forbids even as raw identifiers.
pub(crate) fn rust_ident(name: &str) -> Ident {
    if NOT_RAW.contains(&name) {
        Ident::new(&format!("{name}_"), Span::call_site())
    } else if RUST_KEYWORDS.contains(&name) {
        Ident::new_raw(name, Span::call_site())
    } else {
        Ident::new(name, Span::call_site())
    }
}

/// The module generated for listener `name` (the listener's own name).
pub(crate) fn listener_module(name: &str) -> Ident {
    rust_ident(name)
}

/// `on_greeting` → `OnGreeting`.
pub(crate) fn camel(name: &str) -> String {
    let mut out = String::new();
    let mut upper = true;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    if out.is_empty() { "X".to_owned() } else { out }
}

/// An identifier made from parts (never a keyword: used for generated names).
pub(crate) fn ident(name: &str) -> Ident {
    Ident::new(name, Span::call_site())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_keywords_become_raw_or_suffixed() {
        assert_eq!(rust_ident("match").to_string(), "r#match");
        assert_eq!(rust_ident("self").to_string(), "self_");
        assert_eq!(rust_ident("card").to_string(), "card");
        assert_eq!(camel("on_greeting"), "OnGreeting");
    }
}
