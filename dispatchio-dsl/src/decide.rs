//! What a checked program decides for one [`Sample`], by the model's
//! evaluation (`dispatchio-model`): how the analyser checks each witness
//! before it reports it, with the same tests the runtime, the interpreter
//! and generated code run.
//!
//! The reference evaluator (`dispatchio-oracle`) is written apart from
//! this on purpose and is for tests only: the analyser's tests check every
//! witness against it too, so a bug in the model shows as a difference
//! there rather than being confirmed by itself here.

use dispatchio_model::{AsValue, Fields, Value};

use crate::concrete::{self, Sample};
use crate::program::{ActionKind, Cond, CondKind, FieldRef, ListenerDef, Pred};

/// What a listener does with one message.
///
/// ```
/// use dispatchio_dsl::{Sample, decide, program::ActionKind};
///
/// let program = dispatchio_dsl::load_str(
///     "game.route",
///     "listener l {\n rule count when sync => call count, continue\n rule urgent when blocking => queue urgent\n}",
/// )?
/// .program;
/// let mut msg = Sample::new("Ping");
/// msg.sync = true;
/// let d = decide::route(program.listener("l").unwrap(), &msg);
/// assert_eq!(d.fired, [0]);
/// assert_eq!(d.actions, [ActionKind::Call { handler: "count".into(), is_async: false }]);
/// // `count` continued, nothing else matched, and there is no `otherwise`.
/// assert!(d.unrouted && !d.otherwise);
/// # Ok::<(), dispatchio_dsl::LoadError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// Indices of the rules that fired, in order (the last one stopped the
    /// search unless it continued).
    pub fired: Vec<usize>,
    /// The actions run, in order, `otherwise`'s included; `continue` is not an
    /// action that runs and is left out.
    pub actions: Vec<ActionKind>,
    /// Whether the `otherwise` clause ran.
    pub otherwise: bool,
    /// Whether nothing stopped the search and there is no `otherwise`.
    pub unrouted: bool,
}

impl Decision {
    /// No rule tried yet.
    pub(crate) fn new() -> Decision {
        Decision { fired: Vec::new(), actions: Vec::new(), otherwise: false, unrouted: false }
    }
}

/// Whether `cond` holds for `msg`.
///
/// ```
/// use dispatchio_dsl::{Sample, Value, decide};
///
/// let program = dispatchio_dsl::load_str(
///     "game.route",
///     "message Card { card: int, suit: string? }\n\
///      listener l { rule plain when type == Card and not (suit == \"hearts\") => drop }",
/// )?
/// .program;
/// let cond = &program.listeners()[0].rules[0].cond;
/// let mut card = Sample::new("Card");
/// card.content.insert("card".into(), Value::Int(7));
/// // No suit: `suit == "hearts"` is false, so its negation holds.
/// assert!(decide::holds(cond, &card));
/// card.content.insert("suit".into(), Value::Str("hearts".into()));
/// assert!(!decide::holds(cond, &card));
/// # Ok::<(), dispatchio_dsl::LoadError>(())
/// ```
pub fn holds(cond: &Cond, msg: &Sample) -> bool {
    match &cond.kind {
        CondKind::Pred(p) => pred_holds(p, msg),
        CondKind::And(cs) => cs.iter().all(|c| holds(c, msg)),
        CondKind::Or(cs) => cs.iter().any(|c| holds(c, msg)),
        CondKind::Not(c) => !holds(c, msg),
    }
}

/// Routes `msg` through `listener`: rules top to bottom, the first stopping
/// rule ends the search, `otherwise` when nothing stopped it.
///
/// ```
/// use dispatchio_dsl::{Sample, Value, decide, program::ActionKind};
///
/// let program = dispatchio_dsl::load_str(
///     "game.route",
///     "message Card { card: int }\n\
///      listener player {\n\
///          rule deal when type == Card and card < 52 => queue hand\n\
///          otherwise => drop\n\
///      }",
/// )?
/// .program;
/// let player = program.listener("player").unwrap();
/// let mut card = Sample::new("Card");
/// card.content.insert("card".into(), Value::Int(7));
/// assert_eq!(decide::route(player, &card).actions, [ActionKind::Queue("hand".into())]);
/// card.content.insert("card".into(), Value::Int(60));
/// assert!(decide::route(player, &card).otherwise);
/// # Ok::<(), dispatchio_dsl::LoadError>(())
/// ```
pub fn route(listener: &ListenerDef, msg: &Sample) -> Decision {
    route_rules(listener, 0..listener.rules.len(), msg)
}

/// [`route`] trying only the rules `among` (ascending indices).
pub(crate) fn route_rules(
    listener: &ListenerDef,
    among: impl IntoIterator<Item = usize>,
    msg: &Sample,
) -> Decision {
    let mut d = Decision::new();
    for i in among {
        let rule = &listener.rules[i];
        if !holds(&rule.cond, msg) {
            continue;
        }
        d.fired.push(i);
        d.actions.extend(
            rule.actions.iter().map(|a| &a.kind).filter(|k| **k != ActionKind::Continue).cloned(),
        );
        if !rule.continues() {
            return d;
        }
    }
    match &listener.otherwise {
        Some(o) => {
            d.otherwise = true;
            d.actions.extend(o.actions.iter().map(|a| a.kind.clone()));
        }
        None => d.unrouted = true,
    }
    d
}

fn pred_holds(p: &Pred, msg: &Sample) -> bool {
    p.test.eval(read(&p.field, msg), p.field.is_id())
}

/// The model's view of a field of `msg`, `None` when absent.
pub(crate) fn read<'a>(field: &FieldRef, msg: &'a Sample) -> Option<Value<'a>> {
    let id = |v: &'a Option<concrete::Value>| v.as_ref().and_then(AsValue::as_value);
    match field {
        FieldRef::Type => Some(Value::Str(&msg.ty)),
        FieldRef::Id => Some(Value::Int(msg.id)),
        FieldRef::Source => id(&msg.source),
        FieldRef::Dest => id(&msg.dest),
        FieldRef::Group => id(&msg.group),
        FieldRef::ResponseRequired => Some(Value::Bool(msg.response_required)),
        FieldRef::IsResponse => Some(Value::Bool(msg.is_response)),
        FieldRef::Sync => Some(Value::Bool(msg.sync)),
        FieldRef::Blocking => Some(Value::Bool(msg.blocking)),
        FieldRef::Content { path, .. } | FieldRef::Dynamic { path } => {
            dispatchio_model::at(msg, path)
        }
    }
}

/// A sample's content fields, as the model reads a message's content.
impl Fields for Sample {
    fn field(&self, name: &str) -> Option<Value<'_>> {
        self.content.get(name).and_then(AsValue::as_value)
    }

    fn field_names(&self) -> Vec<String> {
        self.content.keys().cloned().collect()
    }
}

impl AsValue for concrete::Value {
    fn as_value(&self) -> Option<Value<'_>> {
        Some(match self {
            concrete::Value::Bool(b) => Value::Bool(*b),
            concrete::Value::Int(i) => Value::Int(*i),
            concrete::Value::Float(x) => Value::Float(*x),
            concrete::Value::Str(s) => Value::Str(s),
            concrete::Value::List(items) => Value::List(items),
            concrete::Value::Record(_) => Value::Record(self),
        })
    }
}

/// A record's fields; every other value has none.
impl Fields for concrete::Value {
    fn field(&self, name: &str) -> Option<Value<'_>> {
        match self {
            concrete::Value::Record(fields) => fields.get(name).and_then(AsValue::as_value),
            _ => None,
        }
    }

    fn field_names(&self) -> Vec<String> {
        match self {
            concrete::Value::Record(fields) => fields.keys().cloned().collect(),
            _ => Vec::new(),
        }
    }
}
