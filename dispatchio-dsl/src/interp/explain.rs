//! Why a runtime message went where it went: [`Routes::explain`], the
//! trace of `dispatchio explain` for a [`Message`] at run time, and
//! [`sample_of`], the concrete form of a message that it traces.

use dispatchio_core::{Id, Message};

use super::{Error, Routes};
use crate::concrete::{Sample, Value};
use crate::explain::{self, Trace};
use crate::program::{CondKind, FieldRef, Program};

impl Routes {
    /// The trace of `msg` through the listener `listener`, under the table
    /// the listeners currently run: each rule, whether it fired and, where
    /// it did not, the first part of its condition that failed; the actions
    /// run; how the search ended; and the listeners its `forward`s name
    /// (see [`crate::explain`]). It routes nothing and counts no hit.
    ///
    /// A program logs with it why a message went where it went:
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::{DynContent, DynValue, Message};
    /// # let dir = std::env::temp_dir().join(format!("explain-doc-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// # let path = dir.join("game.route");
    /// # std::fs::write(&path, "message Card { card: int }\n\
    /// #     listener player {\n\
    /// #         rule deal when type == Card and card < 52 => queue hand\n\
    /// #         otherwise => drop\n\
    /// #     }\n")?;
    /// let routes = dispatchio_dsl::interp::load(&path)?.build()?;
    /// let card = DynValue::Record([("card".to_owned(), DynValue::Int(60))].into());
    /// let msg = Message::from_shared(std::sync::Arc::new(DynContent::new("Card", card)));
    /// let trace = routes.explain("player", &msg)?;
    /// assert_eq!(
    ///     trace.to_string(),
    ///     "listener player: otherwise\n\
    ///      \x20 rule deal: no, `card < 52` is false (card is 60)\n\
    ///      \x20 otherwise: drop\n"
    /// );
    /// let unknown = routes.explain("dealer", &msg).unwrap_err();
    /// assert!(unknown.to_string().ends_with("no listener `dealer` (the file declares `player`)"));
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::UnknownListener`] when the program has no listener `listener`.
    pub fn explain(&self, listener: &str, msg: &Message) -> Result<Trace, Error> {
        let state = self.inner.state.lock();
        let sample = sample_in(&state.program, msg);
        explain::explain(&state.program, listener, &sample).ok_or_else(|| Error::UnknownListener {
            path: self.inner.path.clone(),
            name: listener.to_owned(),
            listeners: state.program.listeners().iter().map(|l| l.name.clone()).collect(),
        })
    }
}

/// The concrete form of a runtime message: its envelope, and every content
/// field its content reports ([`Fields::field_names`](dispatchio_core::Fields::field_names)),
/// nested records and lists copied out.
///
/// ```
/// use std::sync::Arc;
/// use dispatchio_core::{DynContent, DynValue, Message};
/// use dispatchio_dsl::{Value, interp::sample_of};
///
/// let content = DynValue::Record([("card".to_owned(), DynValue::Int(7))].into());
/// let msg = Message::from_shared(Arc::new(DynContent::new("Card", content))).to("player");
/// let sample = sample_of(&msg);
/// assert_eq!(sample.ty, "Card");
/// assert_eq!(sample.dest, Some(Value::Str("player".into())));
/// assert_eq!(sample.content["card"], Value::Int(7));
/// ```
pub fn sample_of(msg: &Message) -> Sample {
    let env = msg.envelope();
    let mut s = Sample::new(env.ty.to_string());
    s.id = env.id.0;
    s.source = env.source.as_ref().map(id_value);
    s.dest = env.dest.as_ref().map(id_value);
    s.group = env.group.as_ref().map(id_value);
    s.response_required = env.response_required;
    s.is_response = env.is_response;
    s.sync = env.sync;
    s.blocking = env.blocking;
    for name in msg.content().field_names() {
        read_into(&mut s, msg, &name);
    }
    s
}

/// [`sample_of`], with the fields `program` reads as well: a content type
/// may leave [`Fields::field_names`](dispatchio_core::Fields::field_names)
/// at its default (no names) and still answer for its fields, and the
/// matcher reads fields by name.
fn sample_in(program: &Program, msg: &Message) -> Sample {
    let mut s = sample_of(msg);
    let declared = program.message(&s.ty).into_iter().flat_map(|m| &m.fields);
    let mut names: Vec<String> = declared.map(|f| f.name.clone()).collect();
    for l in program.listeners() {
        for r in &l.rules {
            heads(&r.cond.kind, &mut names);
        }
    }
    for name in names {
        if !s.content.contains_key(&name) {
            read_into(&mut s, msg, &name);
        }
    }
    s
}

/// The first field name of every content path `cond` reads.
fn heads(cond: &CondKind, out: &mut Vec<String>) {
    match cond {
        CondKind::Pred(p) => match &p.field {
            FieldRef::Content { path, .. } | FieldRef::Dynamic { path } => {
                out.extend(path.first().cloned());
            }
            _ => {}
        },
        CondKind::And(cs) | CondKind::Or(cs) => cs.iter().for_each(|c| heads(&c.kind, out)),
        CondKind::Not(c) => heads(&c.kind, out),
    }
}

fn read_into(s: &mut Sample, msg: &Message, name: &str) {
    if let Some(v) = msg.content().field(name).and_then(Value::of_model) {
        s.content.insert(name.to_owned(), v);
    }
}

fn id_value(id: &Id) -> Value {
    match id {
        Id::Int(i) => Value::Int(*i),
        Id::Str(s) => Value::Str(s.to_string()),
    }
}
