//! `#[derive(ContentType)]` as a library call: the names routing sees, and
//! every input refused, with the error where it points.

use super::content_type;

/// The expansion as text, which must succeed.
fn expanded(input: syn::DeriveInput) -> String {
    content_type(&input).expect("the derive accepts it").to_string()
}

/// The error's message, which the derive must give.
fn refused(input: syn::DeriveInput) -> String {
    content_type(&input).expect_err("the derive refuses it").to_string()
}

#[test]
fn fields_are_named_as_serde_names_them_on_the_wire() {
    let code = expanded(syn::parse_quote! {
        struct Card {
            card: i64,
            #[serde(rename = "colour", default)]
            suit: Option<String>,
            r#type: String,
            #[serde(skip)]
            cache: u8,
            #[serde(skip_serializing)]
            local: u8,
        }
    });
    for name in ["\"card\"", "\"colour\"", "\"type\""] {
        assert!(code.contains(name), "{name} missing: {code}");
    }
    for hidden in ["\"suit\"", "\"cache\"", "\"local\"", "\"r#type\""] {
        assert!(!code.contains(hidden), "{hidden} visible: {code}");
    }
    assert!(code.contains(":: dispatchio :: AsValue"), "{code}");
}

#[test]
fn content_options_name_the_type_and_the_crate() {
    let code = expanded(syn::parse_quote! {
        #[content(name = "Deal", crate = "my::dispatchio")]
        struct Card { card: i64 }
    });
    assert!(code.contains("\"Deal\""), "{code}");
    assert!(code.contains("my :: dispatchio :: AsValue"), "{code}");
    // Every path to the runtime goes through the crate named.
    assert!(!code.replace("my :: dispatchio", "").contains("dispatchio"), "{code}");
}

#[test]
fn a_unit_struct_has_no_fields() {
    let code = expanded(syn::parse_quote! { struct Ping; });
    assert!(code.contains("\"Ping\""), "{code}");
}

#[test]
fn container_attributes_that_rename_fields_are_refused_by_name() {
    for key in ["rename_all", "rename_all_fields", "transparent", "from", "try_from", "into"] {
        let attr: syn::Attribute = syn::parse_str::<syn::DeriveInput>(&format!(
            "#[serde({key} = \"x\")] struct C {{ a: i64 }}"
        ))
        .unwrap()
        .attrs
        .remove(0);
        let mut input: syn::DeriveInput = syn::parse_quote! { struct C { a: i64 } };
        input.attrs.push(attr);
        let e = refused(input);
        assert!(e.contains(&format!("`#[serde({key})]`")), "{key}: {e}");
    }
    // Options that do not rename are read past, values and all.
    expanded(syn::parse_quote! {
        #[serde(deny_unknown_fields, bound(serialize = "T: X"), default = "f")]
        struct C { a: i64 }
    });
}

#[test]
fn field_attributes_routing_cannot_follow_are_refused() {
    let e = refused(syn::parse_quote! {
        struct C { #[serde(flatten)] inner: Inner }
    });
    assert!(e.contains("`#[serde(flatten)]`"), "{e}");
    let e = refused(syn::parse_quote! {
        struct C { #[serde(rename(serialize = "a", deserialize = "b"))] x: i64 }
    });
    assert!(e.contains("one name for both directions"), "{e}");
}

#[test]
fn shapes_without_named_fields_and_generics_are_refused() {
    assert!(refused(syn::parse_quote! { enum E { A } }).contains("not an enum"));
    assert!(refused(syn::parse_quote! { union U { a: u8 } }).contains("not a union"));
    assert!(refused(syn::parse_quote! { struct T(i64); }).contains("not a tuple struct"));
    assert!(refused(syn::parse_quote! { struct G<T> { t: T } }).contains("cannot be generic"));
}

#[test]
fn bad_content_options_are_refused() {
    let e = refused(syn::parse_quote! { #[content(name = "")] struct C { a: i64 } });
    assert!(e.contains("cannot be empty"), "{e}");
    let e = refused(syn::parse_quote! { #[content(kind = "x")] struct C { a: i64 } });
    assert!(e.contains("unknown `content` option"), "{e}");
}
