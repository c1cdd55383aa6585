//! The shared routing core: what every listener's routing table produces.
//!
//! Three producers build listeners: the [`RoutingTable`] built at run time
//! with a [`RoutingTableBuilder`], the interpreter that loads `.route` files,
//! and the code `include_routes!` generates. They differ only in the
//! [`Matcher`], the part that decides which rules fire for a message and so
//! which [`Step`]s run, in order. Everything after that (calling handlers,
//! queueing, forwarding, dropping, replies, reporting unrouted messages) is
//! done by one executor, [`RoutedListener`](crate::RoutedListener).
//!
//! A matcher refers to handlers, queues and forward targets by index into its
//! [`Layout`], resolved when it is built, and writes its result into a
//! caller-provided [`Fired`] buffer that the listener's task reuses, so
//! routing a message allocates nothing.
//!
//! The rule semantics (those of the `.route` language):
//!
//! * Rules are tried in order. The first rule whose condition holds runs its
//!   steps and stops the search, unless it ends with `continue`, in which
//!   case the search goes on.
//! * `otherwise` runs when no rule stopped the search (also after rules that
//!   matched with `continue`).
//! * When nothing stopped the search and there is no `otherwise`, the message
//!   is *unrouted* ([`End::Unrouted`]); the executor reports it.
//!
//! A hand-written (or generated) matcher: typed field tests, static steps,
//! no allocation.
//!
//! ```
//! use dispatchio_core::routing::{Fired, Layout, Matcher, Step};
//! use dispatchio_core::{Message, RoutedListener, Value};
//!
//! struct Player {
//!     layout: Layout,
//! }
//!
//! impl Matcher for Player {
//!     fn layout(&self) -> &Layout {
//!         &self.layout
//!     }
//!
//!     fn route(&self, msg: &Message, fired: &mut Fired) {
//!         // rule deal when type == Card and card < 52 => queue hand
//!         const DEAL: &[Step] = &[Step::Queue(0)];
//!         // otherwise => queue inbox
//!         const OTHERWISE: &[Step] = &[Step::Queue(1)];
//!         if msg.ty() == "Card" {
//!             if let Some(Value::Int(card)) = msg.content().field("card") {
//!                 if card < 52 {
//!                     return fired.stop(0, DEAL);
//!                 }
//!             }
//!         }
//!         fired.otherwise(OTHERWISE);
//!     }
//! }
//!
//! let layout = Layout {
//!     rules: vec!["deal".into()],
//!     queues: vec!["hand".into(), "inbox".into()],
//!     ..Layout::default()
//! };
//! // No `call` actions, so no handlers: `()`.
//! let player = RoutedListener::new(Player { layout }, ());
//! assert!(player.queue("hand").is_ok());
//! ```

mod cond;
mod index;
mod table;

pub use cond::{Cond, Field, Pred};
// What each test means is `dispatchio-model`'s, one implementation for the
// runtime, the interpreter and generated code.
pub use dispatchio_model::{
    Glob, GlobTok, Lit, LitRef, OwnedGlobTok, Test, contains, lit_cmp, lit_eq, match_tokens,
    not_in, with_int_text, with_text,
};
pub use index::{IndexedRule, RuleSet};
pub use table::{Action, BuildError, RoutingTable, RoutingTableBuilder};

use crate::id::SharedStr;
use crate::message::Message;

/// One thing the executor does with a message. Indices point into the
/// matcher's [`Layout`].
///
/// ```
/// use dispatchio_core::{Empty, Message, Text};
/// use dispatchio_core::routing::{Action, Cond, End, Fired, Matcher, RoutingTable, Step};
/// let table = RoutingTable::builder()
///     .rule("log", Cond::Always, [Action::queue("log"), Action::Continue])
///     .rule("text", Cond::type_is("Text"), [Action::call("greet")])
///     .build()
///     .unwrap();
/// let mut fired = Fired::new();
///
/// table.route(&Message::new(Text::from("hi")), &mut fired);
/// assert_eq!(fired.steps(), [Step::Queue(0), Step::Call(0)]);
/// assert_eq!(&*table.layout().handlers[0].name, "greet"); // what `Call(0)` calls
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    /// Run synchronous handler `n` ([`Layout::handlers`]).
    Call(usize),
    /// Run asynchronous handler `n`.
    CallAsync(usize),
    /// Push the message onto queue `n` ([`Layout::queues`]).
    Queue(usize),
    /// Hand the message to forward target `n` ([`Layout::forwards`]).
    Forward(usize),
    /// Discard the message on purpose (counted, traced).
    Drop,
}

/// How the search for rules ended.
///
/// ```
/// use dispatchio_core::{Empty, Message, Text};
/// use dispatchio_core::routing::{Action, Cond, End, Fired, Matcher, RoutingTable, Step};
/// let table = RoutingTable::builder()
///     .rule("log", Cond::Always, [Action::queue("log"), Action::Continue])
///     .rule("text", Cond::type_is("Text"), [Action::call("greet")])
///     .build()
///     .unwrap();
/// let mut fired = Fired::new();
///
/// table.route(&Message::new(Text::from("hi")), &mut fired);
/// assert_eq!(fired.end(), End::Stopped(1));
/// fired.clear();
/// table.route(&Message::new(Empty), &mut fired); // only `log` (which continues) matched
/// assert_eq!(fired.end(), End::Unrouted);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum End {
    /// Rule `n` matched without `continue`.
    Stopped(usize),
    /// No rule stopped the search; `otherwise` ran.
    Otherwise,
    /// No rule stopped the search and there is no `otherwise`.
    #[default]
    Unrouted,
}

/// The result of routing one message: the rules that fired, the steps to run
/// in order, and how the search ended. A reusable buffer: [`Fired::clear`]
/// keeps its capacity.
///
/// Its getters ([`rules`](Self::rules), [`steps`](Self::steps),
/// [`end`](Self::end)) after routing, and [`clear`](Self::clear):
///
/// ```
/// use dispatchio_core::{Empty, Message, Text};
/// use dispatchio_core::routing::{Action, Cond, End, Fired, Matcher, RoutingTable, Step};
/// let table = RoutingTable::builder()
///     .rule("log", Cond::Always, [Action::queue("log"), Action::Continue])
///     .rule("text", Cond::type_is("Text"), [Action::call("greet")])
///     .build()
///     .unwrap();
/// let mut fired = Fired::new();
///
/// table.route(&Message::new(Text::from("hi")), &mut fired);
/// assert_eq!(fired.rules(), [0, 1]);
/// assert_eq!(fired.steps(), [Step::Queue(0), Step::Call(0)]);
/// assert_eq!(fired.end(), End::Stopped(1));
/// fired.clear();
/// assert_eq!(fired, Fired::new());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fired {
    rules: Vec<usize>,
    steps: Vec<Step>,
    end: End,
}

impl Fired {
    /// An empty buffer: no rule fired, no step, unrouted.
    ///
    /// ```
    /// use dispatchio_core::routing::{End, Fired};
    /// let fired = Fired::new();
    /// assert!(fired.rules().is_empty() && fired.steps().is_empty());
    /// assert_eq!(fired.end(), End::Unrouted);
    /// ```
    pub fn new() -> Fired {
        Fired::default()
    }

    /// Empties the buffer, keeping its allocation.
    ///
    /// ```
    /// use dispatchio_core::routing::{Fired, Step};
    /// let mut fired = Fired::new();
    /// fired.stop(0, &[Step::Queue(0)]);
    /// fired.clear(); // before routing the next message into it
    /// assert_eq!(fired, Fired::new());
    /// ```
    pub fn clear(&mut self) {
        self.rules.clear();
        self.steps.clear();
        self.end = End::Unrouted;
    }

    /// Records that rule `rule` matched, with its steps (without `continue`).
    ///
    /// With [`stop`](Self::stop), [`otherwise`](Self::otherwise) and
    /// [`unrouted`](Self::unrouted): what a [`Matcher`] records.
    ///
    /// ```
    /// use dispatchio_core::routing::{End, Fired, Step};
    /// let mut fired = Fired::new();
    /// fired.rule(0, &[Step::Queue(0)]); // matched, `continue`
    /// fired.stop(2, &[Step::Drop]); // matched, stopped the search
    /// assert_eq!((fired.rules(), fired.end()), (&[0, 2][..], End::Stopped(2)));
    /// assert_eq!(fired.steps(), [Step::Queue(0), Step::Drop]);
    /// let mut none = Fired::new();
    /// none.otherwise(&[Step::Queue(1)]);
    /// assert_eq!(none.end(), End::Otherwise);
    /// none.clear();
    /// none.unrouted();
    /// assert_eq!((none.end(), none.steps().len()), (End::Unrouted, 0));
    /// ```
    pub fn rule(&mut self, rule: usize, steps: &[Step]) {
        self.rules.push(rule);
        self.steps.extend_from_slice(steps);
    }

    /// Records that rule `rule` matched and stopped the search.
    ///
    /// ```
    /// use dispatchio_core::routing::{End, Fired, Step};
    /// let mut fired = Fired::new();
    /// fired.stop(3, &[Step::Call(0), Step::Queue(1)]);
    /// assert_eq!((fired.rules(), fired.end()), (&[3][..], End::Stopped(3)));
    /// assert_eq!(fired.steps(), [Step::Call(0), Step::Queue(1)]);
    /// ```
    pub fn stop(&mut self, rule: usize, steps: &[Step]) {
        self.rule(rule, steps);
        self.end = End::Stopped(rule);
    }

    /// Records that `otherwise` ran, with its steps.
    ///
    /// ```
    /// use dispatchio_core::routing::{End, Fired, Step};
    /// let mut fired = Fired::new();
    /// fired.rule(0, &[Step::Queue(0)]); // a rule that ends with `continue`
    /// fired.otherwise(&[Step::Drop]);
    /// assert_eq!(fired.end(), End::Otherwise);
    /// assert_eq!(fired.rules(), [0]); // `otherwise` is no rule
    /// assert_eq!(fired.steps(), [Step::Queue(0), Step::Drop]);
    /// ```
    pub fn otherwise(&mut self, steps: &[Step]) {
        self.steps.extend_from_slice(steps);
        self.end = End::Otherwise;
    }

    /// Records that the message is unrouted.
    ///
    /// ```
    /// use dispatchio_core::routing::{End, Fired, Step};
    /// let mut fired = Fired::new();
    /// fired.rule(0, &[Step::Queue(0)]); // matched with `continue`, then nothing
    /// fired.unrouted();
    /// assert_eq!(fired.end(), End::Unrouted); // the executor reports it
    /// assert_eq!(fired.steps(), [Step::Queue(0)]); // after running what did fire
    /// ```
    pub fn unrouted(&mut self) {
        self.end = End::Unrouted;
    }

    /// The rules that matched, in order (indices into [`Layout::rules`]).
    ///
    /// ```
    /// use dispatchio_core::{Message, Text};
    /// use dispatchio_core::routing::{Action, Cond, Fired, Matcher, RoutingTable};
    /// let table = RoutingTable::builder()
    ///     .rule("log", Cond::Always, [Action::queue("log"), Action::Continue])
    ///     .rule("text", Cond::type_is("Text"), [Action::queue("inbox")])
    ///     .build()
    ///     .unwrap();
    /// let mut fired = Fired::new();
    /// table.route(&Message::new(Text::from("hi")), &mut fired);
    /// let names: Vec<_> = fired.rules().iter().map(|&r| &*table.layout().rules[r]).collect();
    /// assert_eq!(names, ["log", "text"]);
    /// ```
    pub fn rules(&self) -> &[usize] {
        &self.rules
    }

    /// The steps to run, in order.
    ///
    /// ```
    /// use dispatchio_core::{Message, Text};
    /// use dispatchio_core::routing::{Action, Cond, Fired, Matcher, RoutingTable, Step};
    /// let table = RoutingTable::builder()
    ///     .rule("text", Cond::type_is("Text"), [Action::queue("inbox"), Action::call("greet")])
    ///     .build()
    ///     .unwrap();
    /// let mut fired = Fired::new();
    /// table.route(&Message::new(Text::from("hi")), &mut fired);
    /// assert_eq!(fired.steps(), [Step::Queue(0), Step::Call(0)]); // in the rule's order
    /// ```
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// How the search ended.
    ///
    /// ```
    /// use dispatchio_core::{Empty, Message, Text};
    /// use dispatchio_core::routing::{Action, Cond, End, Fired, Matcher, RoutingTable};
    /// let table = RoutingTable::builder()
    ///     .rule("text", Cond::type_is("Text"), [Action::queue("inbox")])
    ///     .build()
    ///     .unwrap();
    /// let mut fired = Fired::new();
    /// table.route(&Message::new(Text::from("hi")), &mut fired);
    /// assert_eq!(fired.end(), End::Stopped(0));
    /// fired.clear();
    /// table.route(&Message::new(Empty), &mut fired); // no rule, no `otherwise`
    /// assert_eq!(fired.end(), End::Unrouted);
    /// ```
    pub fn end(&self) -> End {
        self.end
    }
}

/// A handler slot of a [`Layout`].
///
/// ```
/// use dispatchio_core::routing::{Action, Cond, HandlerSlot, Matcher, RoutingTable};
/// let table = RoutingTable::builder()
///     .rule("a", Cond::Always, [Action::call("log"), Action::call_async("fetch")])
///     .build()
///     .unwrap();
/// assert_eq!(
///     table.layout().handlers,
///     [
///         HandlerSlot { name: "log".into(), is_async: false },
///         HandlerSlot { name: "fetch".into(), is_async: true },
///     ]
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HandlerSlot {
    /// The handler's name (`call name`).
    pub name: SharedStr,
    /// Declared `call async`.
    pub is_async: bool,
}

/// The names a matcher's indices refer to, fixed when it is built.
///
/// With its lookups [`handler`](Self::handler), [`queue`](Self::queue) and
/// [`forward`](Self::forward):
///
/// ```
/// use dispatchio_core::routing::{Action, Cond, HandlerSlot, Matcher, RoutingTable};
/// let table = RoutingTable::builder()
///     .rule("a", Cond::Always, [Action::call_async("fetch"), Action::queue("done"), Action::forward("audit")])
///     .build()
///     .unwrap();
/// let layout = table.layout();
/// assert_eq!(layout.handlers, [HandlerSlot { name: "fetch".into(), is_async: true }]);
/// assert_eq!((layout.handler("fetch"), layout.queue("done"), layout.forward("audit")), (Some(0), Some(0), Some(0)));
/// assert_eq!(layout.queue("nope"), None);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Layout {
    /// Rule names, in order (for traces and per-rule hit counters).
    pub rules: Vec<SharedStr>,
    /// Handlers, by [`Step::Call`] / [`Step::CallAsync`] index.
    pub handlers: Vec<HandlerSlot>,
    /// Queue names, by [`Step::Queue`] index.
    pub queues: Vec<SharedStr>,
    /// Forward target names, by [`Step::Forward`] index.
    pub forwards: Vec<SharedStr>,
}

impl Layout {
    /// The index of handler `name`.
    ///
    /// ```
    /// use dispatchio_core::routing::{HandlerSlot, Layout};
    /// let layout = Layout {
    ///     handlers: vec![HandlerSlot { name: "deal".into(), is_async: false }],
    ///     ..Layout::default()
    /// };
    /// assert_eq!(layout.handler("deal"), Some(0)); // what `Step::Call(0)` calls
    /// assert_eq!(layout.handler("shuffle"), None);
    /// ```
    pub fn handler(&self, name: &str) -> Option<usize> {
        self.handlers.iter().position(|h| &*h.name == name)
    }

    /// The index of queue `name`.
    ///
    /// ```
    /// use dispatchio_core::routing::Layout;
    /// let layout = Layout { queues: vec!["hand".into(), "inbox".into()], ..Layout::default() };
    /// assert_eq!(layout.queue("inbox"), Some(1)); // what `Step::Queue(1)` pushes onto
    /// assert_eq!(layout.queue("spam"), None);
    /// ```
    pub fn queue(&self, name: &str) -> Option<usize> {
        self.queues.iter().position(|q| &**q == name)
    }

    /// The index of forward target `name`.
    ///
    /// ```
    /// use dispatchio_core::routing::Layout;
    /// let layout = Layout { forwards: vec!["audit".into()], ..Layout::default() };
    /// assert_eq!(layout.forward("audit"), Some(0)); // what `Step::Forward(0)` hands to
    /// assert_eq!(layout.forward("billing"), None);
    /// ```
    pub fn forward(&self, name: &str) -> Option<usize> {
        self.forwards.iter().position(|f| &**f == name)
    }
}

/// Decides which rules fire for a message. The only part of a listener that
/// differs between the builder, the interpreter and generated code.
///
/// Implementations must be pure functions of the message: the executor may
/// route one message more than once (never in practice today, but a
/// transport may re-route after a failed hop).
///
/// A matcher by hand (usually the builder's [`RoutingTable`],
/// the interpreter or generated code is one):
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use dispatchio_core::{Dispatcher, Message, RoutedListener, Text};
/// use dispatchio_core::routing::{Fired, Layout, Matcher, Step};
/// /// Queues text into "inbox" and everything else into "other".
/// struct ByType(Layout);
/// impl Matcher for ByType {
///     fn layout(&self) -> &Layout { &self.0 }
///     fn route(&self, msg: &Message, fired: &mut Fired) {
///         let (rule, queue) = if msg.ty() == "Text" { (0, 0) } else { (1, 1) };
///         fired.stop(rule, &[Step::Queue(queue)]);
///     }
/// }
/// let layout = Layout {
///     rules: vec!["text".into(), "rest".into()],
///     queues: vec!["inbox".into(), "other".into()],
///     ..Layout::default()
/// };
/// let player = Arc::new(RoutedListener::new(ByType(layout), ()));
/// let dispatcher = Dispatcher::new();
/// dispatcher.register("player", player.clone())?;
/// dispatcher.send(Message::new(Text::from("hi")).to("player"))?;
/// assert!(player.queue("inbox")?.recv().await.is_some());
/// assert_eq!(player.rule_hits(), [("text".into(), 1), ("rest".into(), 0)]);
/// # Ok(()) }
/// ```
pub trait Matcher: Send + Sync + 'static {
    /// The names behind the indices this matcher emits.
    ///
    /// ```
    /// use dispatchio_core::routing::{Action, Cond, Matcher, RoutingTable};
    /// let table = RoutingTable::builder()
    ///     .rule("deal", Cond::type_is("Card"), [Action::queue("hand")])
    ///     .otherwise([Action::queue("inbox")])
    ///     .build()
    ///     .unwrap();
    /// let layout = table.layout();
    /// assert_eq!(layout.rules, ["deal".into()]);
    /// assert_eq!(layout.queues, ["hand".into(), "inbox".into()]);
    /// ```
    fn layout(&self) -> &Layout;

    /// Routes `msg`: records the matching rules, their steps and the end of
    /// the search into `fired`, which the caller has cleared.
    ///
    /// ```
    /// use dispatchio_core::{Message, Text};
    /// use dispatchio_core::routing::{Action, Cond, End, Fired, Matcher, RoutingTable, Step};
    /// let table = RoutingTable::builder()
    ///     .rule("deal", Cond::type_is("Card"), [Action::queue("hand")])
    ///     .otherwise([Action::queue("inbox")])
    ///     .build()
    ///     .unwrap();
    /// let mut fired = Fired::new();
    /// table.route(&Message::new(Text::from("hi")), &mut fired);
    /// assert_eq!((fired.end(), fired.steps()), (End::Otherwise, &[Step::Queue(1)][..]));
    /// ```
    fn route(&self, msg: &Message, fired: &mut Fired);
}
