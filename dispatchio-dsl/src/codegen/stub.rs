//! The API stub emitted after errors (askama's "skeleton"): the names the
//! including crate uses, so the build shows the `.route` errors instead of
//! one "cannot find type" per use of a generated item.
//!
//! It is made by the real generator from the checker's [`Skeleton`] (what of
//! the program checked), so its API is the generated API: the message
//! structs with the fields whose types resolved and their content traits,
//! the consts, `register_content_types`, and per listener its module with
//! the `Handler` trait, `Matcher` and `Listener<H>`. Only the matcher
//! differs: it routes nothing, since the conditions did not check.

use proc_macro2::TokenStream;
use quote::quote;

use super::matcher::{self, Body};
use super::types;
use crate::program::Skeleton;

/// The stub of `skeleton`'s API.
pub(crate) fn stub(skeleton: &Skeleton) -> TokenStream {
    let program = skeleton.program();
    let messages = program.messages().iter().map(|m| types::message(program, m));
    let consts = program.consts().iter().map(|c| types::constant(program, c));
    let listeners =
        program.listeners().iter().map(|l| matcher::listener(program, l, Body::Unrouted));
    let register = types::register_fn(program);
    quote! {
        #(#messages)*
        #(#consts)*
        #register
        #(#listeners)*
    }
}
