//! Handlers that take typed content: a struct of the user's, checked
//! against the file's schema when the program is built (and on every
//! reload), and decoded from whatever content a message carries.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use dispatchio_core::{ContentRegistry, ContentType, DynContent, DynValue, HandlerError, Message};
use serde::de::DeserializeOwned;

use crate::program::{MessageDef, Program, Reach, Type};

/// What a typed handler takes: the message type and the check of the
/// file's declaration of it against the Rust type.
#[derive(Clone)]
pub(super) struct Takes {
    /// The message type name (`T::TYPE_NAME`).
    pub(super) type_name: &'static str,
    /// The Rust type, for messages.
    rust_type: &'static str,
    /// Decodes content of the type into `T` (the one decoder, as the
    /// transports' registries do).
    registry: Arc<ContentRegistry>,
}

impl Takes {
    pub(super) fn of<T: ContentType + DeserializeOwned>() -> Takes {
        let mut registry = ContentRegistry::new();
        registry.register::<T>();
        Takes {
            type_name: T::TYPE_NAME,
            rust_type: std::any::type_name::<T>(),
            registry: Arc::new(registry),
        }
    }

    /// Calls `f` with the message's content as a `T`: borrowed when it is
    /// one already, decoded otherwise (content of another process, or
    /// [`DynContent`]); an error for the sender when it is of another type or
    /// does not decode.
    pub(super) fn with<T: ContentType, R>(
        &self,
        handler: &str,
        m: &Message,
        f: impl FnOnce(&T) -> Result<R, HandlerError>,
    ) -> Result<R, HandlerError> {
        if let Some(t) = m.content_as::<T>() {
            return f(t);
        }
        if m.ty() != self.type_name {
            return Err(HandlerError::new(format!(
                "handler `{handler}` takes a `{}`, not a `{}`",
                self.type_name,
                m.ty()
            )));
        }
        let undecodable = |reason: String| {
            HandlerError::new(format!(
                "handler `{handler}` takes a `{}` as {}: {reason}",
                self.type_name, self.rust_type
            ))
        };
        let bytes = m.content().encode().map_err(|e| undecodable(e.reason))?;
        let content =
            self.registry.decode(self.type_name, &bytes).map_err(|e| undecodable(e.reason))?;
        match content.downcast_ref::<T>() {
            Some(t) => f(t),
            None => Err(undecodable("the decoder gave another type".to_owned())),
        }
    }

    /// Every reason `handler` cannot take `T` in `program`: a call that
    /// can pass it another type, or the file's declaration of the type that
    /// `T` cannot be decoded from.
    pub(super) fn mismatches(&self, program: &Program, handler: &str) -> Vec<ContentMismatch> {
        let mut out = Vec::new();
        let mismatch = |listener: &str, rule: &str, reason: String| ContentMismatch {
            handler: handler.to_owned(),
            takes: self.rust_type.to_owned(),
            listener: listener.to_owned(),
            rule: rule.to_owned(),
            reason,
        };
        let mut called = None;
        for l in program.listeners() {
            for call in program.handler_calls(&l.name, handler) {
                called.get_or_insert((l.name.clone(), call.rule.clone()));
                let others: Vec<String> = match &call.reach {
                    Reach::Any => {
                        out.push(mismatch(&l.name, &call.rule, format!(
                            "the rule can pass it messages of any type, and it takes only `{}`: narrow the rule to `type == {}`",
                            self.type_name, self.type_name
                        )));
                        continue;
                    }
                    Reach::Types(types) => types
                        .iter()
                        .filter(|t| *t != self.type_name)
                        .map(|t| format!("`{t}`"))
                        .collect(),
                };
                if !others.is_empty() {
                    out.push(mismatch(
                        &l.name,
                        &call.rule,
                        format!(
                            "the rule can pass it {}, and it takes only `{}`",
                            others.join(", "),
                            self.type_name
                        ),
                    ));
                }
            }
        }
        if let (Some((listener, rule)), Some(def)) = (called, program.message(self.type_name)) {
            for sample in samples(program, def) {
                let content = DynContent::new(def.name.clone(), sample);
                let decoded = dispatchio_core::Content::encode(&content)
                    .map_err(|e| e.reason)
                    .and_then(|b| self.registry.decode(self.type_name, &b).map_err(|e| e.reason));
                if let Err(reason) = decoded {
                    out.push(mismatch(
                        &listener,
                        &rule,
                        format!(
                            "the file's `message {}` does not decode into it: {reason}",
                            self.type_name
                        ),
                    ));
                    break;
                }
            }
        }
        out
    }
}

/// Two values of a declared message type that between them take every
/// shape the declaration allows a field: every field present (IDs as
/// integers, lists of one element), and every optional field absent (IDs
/// as strings, lists empty). A Rust type that decodes both reads every
/// message of the type.
fn samples(program: &Program, def: &MessageDef) -> [DynValue; 2] {
    [record(program, def, true, 0), record(program, def, false, 0)]
}

/// How deep optional nested messages are followed (a type may contain
/// itself through an optional field or a list).
const MAX_DEPTH: usize = 8;

fn record(program: &Program, def: &MessageDef, full: bool, depth: usize) -> DynValue {
    let mut fields = BTreeMap::new();
    for f in &def.fields {
        if let Some(v) = value(program, &f.ty, full, depth) {
            fields.insert(f.name.clone(), v);
        }
    }
    DynValue::Record(fields)
}

fn value(program: &Program, ty: &Type, full: bool, depth: usize) -> Option<DynValue> {
    Some(match ty {
        Type::Optional(_) if !full || depth >= MAX_DEPTH => return None,
        Type::Optional(t) => return value(program, t, full, depth),
        Type::Bool => DynValue::Bool(true),
        Type::Int => DynValue::Int(1),
        Type::Float => DynValue::Float(0.5),
        Type::Str => DynValue::Str("s".to_owned()),
        Type::Id if full => DynValue::Int(1),
        Type::Id => DynValue::Str("id".to_owned()),
        Type::List(_) if !full || depth >= MAX_DEPTH => DynValue::List(Vec::new()),
        Type::List(t) => DynValue::List(value(program, t, full, depth + 1).into_iter().collect()),
        Type::Message(name) => record(program, program.message(name)?, full, depth + 1),
        Type::Any => return None,
    })
}

/// Why a typed handler cannot take its type in this program.
///
/// ```
/// use dispatchio_core::{Envelope, Reply};
/// use dispatchio_dsl::interp;
///
/// #[derive(Debug, serde::Serialize, serde::Deserialize)]
/// struct Bet { amount: i64 }
/// # impl dispatchio_core::ContentType for Bet { const TYPE_NAME: &'static str = "Bet"; }
/// # impl dispatchio_core::Fields for Bet {
/// #     fn field(&self, name: &str) -> Option<dispatchio_core::Value<'_>> {
/// #         (name == "amount").then_some(dispatchio_core::Value::Int(self.amount))
/// #     }
/// # }
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("game.route");
/// std::fs::write(&path, "message Card { card: int }\nlistener player { rule deal when type == Card => call deal }")?;
/// // `deal` is given `Card`s, not `Bet`s.
/// let built = interp::load(&path)?.typed_handler("deal", |_e: &Envelope, _bet: &Bet| Ok(Reply::Empty)).build();
/// let Err(interp::Error::Content(mismatched)) = built else { panic!("refused") };
/// let m = &mismatched.mismatches[0];
/// assert_eq!((m.handler.as_str(), m.listener.as_str(), m.rule.as_str()), ("deal", "player", "deal"));
/// assert!(m.takes.ends_with("Bet"), "{}", m.takes);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentMismatch {
    /// The handler.
    pub handler: String,
    /// The Rust type it takes.
    pub takes: String,
    /// The listener calling it.
    pub listener: String,
    /// The rule calling it (`otherwise` for the otherwise clause).
    pub rule: String,
    /// What does not fit.
    pub reason: String,
}

impl fmt::Display for ContentMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "handler `{}` takes {} (listener `{}`, rule `{}`): {}",
            self.handler, self.takes, self.listener, self.rule, self.reason
        )
    }
}

/// Every typed handler of a program that cannot take its type.
///
/// ```
/// use dispatchio_core::{Envelope, Reply};
/// use dispatchio_dsl::interp;
///
/// #[derive(Debug, serde::Serialize, serde::Deserialize)]
/// struct Card { card: String }
/// # impl dispatchio_core::ContentType for Card { const TYPE_NAME: &'static str = "Card"; }
/// # impl dispatchio_core::Fields for Card {
/// #     fn field(&self, _name: &str) -> Option<dispatchio_core::Value<'_>> { None }
/// # }
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("game.route");
/// std::fs::write(&path, "message Card { card: int }\nlistener player { rule deal when type == Card => call deal }")?;
/// // The file's `card` is an `int`; this `Card` holds a string.
/// let built = interp::load(&path)?.typed_handler("deal", |_e: &Envelope, _c: &Card| Ok(Reply::Empty)).build();
/// let Err(interp::Error::Content(mismatched)) = built else { panic!("refused") };
/// assert_eq!(mismatched.path, path);
/// assert_eq!(mismatched.mismatches.len(), 1);
/// assert!(mismatched.to_string().contains("1 typed handler(s) do not fit the file"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatched {
    /// The root file.
    pub path: PathBuf,
    /// Each mismatch, handler by handler.
    pub mismatches: Vec<ContentMismatch>,
}

impl fmt::Display for Mismatched {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} typed handler(s) do not fit the file:",
            self.path.display(),
            self.mismatches.len()
        )?;
        for m in &self.mismatches {
            write!(f, "\n  - {m}")?;
        }
        Ok(())
    }
}

/// The mismatches of every typed handler in `typed` against `program`.
pub(super) fn check(program: &Program, typed: &[(String, Takes)]) -> Vec<ContentMismatch> {
    typed.iter().flat_map(|(name, takes)| takes.mismatches(program, name)).collect()
}
