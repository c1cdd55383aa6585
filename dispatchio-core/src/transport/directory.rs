//! What this process serves, as transports announce it: the
//! [`LocalDirectory`] and a [`DirectoryWatch`] over its changes.

use std::collections::BTreeSet;

use tokio::sync::watch;

use crate::dispatcher::Dispatcher;
use crate::id::Id;

/// What this process serves itself: the destination IDs of its local
/// listeners and the groups with at least one local subscriber. What outlets
/// serve is not in it (a transport announces only what is its own to
/// announce).
///
/// ```
/// # fn inbox() -> std::sync::Arc<dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>> {
/// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
/// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::queue("inbox")]).build().unwrap();
/// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).build().unwrap())
/// # }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use dispatchio_core::{Dispatcher, Id};
/// let dispatcher = Dispatcher::new();
/// dispatcher.register("bob", inbox())?;
/// dispatcher.subscribe("bob", "All")?;
/// let mut watch = dispatcher.watch_directory();
/// watch.changes();
/// let served = watch.reported(); // what a new peer is told first
/// assert_eq!(served.destinations.iter().collect::<Vec<_>>(), [&Id::from("bob")]);
/// assert_eq!(served.groups.iter().collect::<Vec<_>>(), [&Id::from("All")]);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LocalDirectory {
    /// Destination IDs of local listeners.
    pub destinations: BTreeSet<Id>,
    /// Groups with a local subscriber.
    pub groups: BTreeSet<Id>,
}

impl LocalDirectory {
    /// What changed from `before` to `self`: registrations first, then
    /// deregistrations, groups joined, groups left (each in ID order).
    ///
    /// ```
    /// use dispatchio_core::Id;
    /// use dispatchio_core::transport::{DirectoryChange, LocalDirectory};
    /// let mut before = LocalDirectory::default();
    /// before.destinations.insert(Id::from("ann"));
    /// let mut now = LocalDirectory::default();
    /// now.destinations.insert(Id::from("bob"));
    /// now.groups.insert(Id::from("All"));
    /// assert_eq!(
    ///     now.changes_since(&before),
    ///     [
    ///         DirectoryChange::Registered(Id::from("bob")),
    ///         DirectoryChange::Deregistered(Id::from("ann")),
    ///         DirectoryChange::GroupJoined(Id::from("All")),
    ///     ]
    /// );
    /// ```
    pub fn changes_since(&self, before: &LocalDirectory) -> Vec<DirectoryChange> {
        let mut changes = Vec::new();
        let dests = (&self.destinations, &before.destinations);
        let groups = (&self.groups, &before.groups);
        changes.extend(dests.0.difference(dests.1).cloned().map(DirectoryChange::Registered));
        changes.extend(dests.1.difference(dests.0).cloned().map(DirectoryChange::Deregistered));
        changes.extend(groups.0.difference(groups.1).cloned().map(DirectoryChange::GroupJoined));
        changes.extend(groups.1.difference(groups.0).cloned().map(DirectoryChange::GroupLeft));
        changes
    }
}

/// One change to a [`LocalDirectory`].
///
/// ```
/// # fn inbox() -> std::sync::Arc<dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>> {
/// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
/// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::queue("inbox")]).build().unwrap();
/// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).build().unwrap())
/// # }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use dispatchio_core::{Dispatcher, Id};
/// use dispatchio_core::transport::DirectoryChange;
/// let dispatcher = Dispatcher::new();
/// dispatcher.register("bob", inbox())?;
/// dispatcher.subscribe("bob", "All")?;
/// let mut watch = dispatcher.watch_directory();
/// watch.changes();
/// dispatcher.deregister("bob")?; // its subscriptions go with it
/// assert_eq!(
///     watch.changes(),
///     [DirectoryChange::Deregistered(Id::from("bob")), DirectoryChange::GroupLeft(Id::from("All"))]
/// );
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DirectoryChange {
    /// A local listener now serves this destination ID.
    Registered(Id),
    /// No local listener serves this destination ID any more.
    Deregistered(Id),
    /// This group has its first local subscriber.
    GroupJoined(Id),
    /// This group has no local subscriber any more.
    GroupLeft(Id),
}

/// Watches a dispatcher's [`LocalDirectory`] (made by
/// [`Dispatcher::watch_directory`]).
///
/// It keeps the directory as it last reported it; [`changes`](Self::changes)
/// compares that with the directory now. Changes in between are folded
/// together (a listener registered and gone again is no change), so a
/// transport that announces at its own pace never falls behind, and the
/// watch holds one directory however fast listeners come and go.
///
/// ```
/// # fn inbox() -> std::sync::Arc<dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>> {
/// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
/// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::queue("inbox")]).build().unwrap();
/// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).build().unwrap())
/// # }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use dispatchio_core::{Dispatcher, Id};
/// use dispatchio_core::transport::DirectoryChange;
/// let dispatcher = Dispatcher::new();
/// let mut watch = dispatcher.watch_directory();
/// // A transport's announcing task: wait for a change, tell the peers what it is.
/// let (tx, mut announced) = tokio::sync::mpsc::unbounded_channel();
/// tokio::spawn(async move {
///     loop {
///         for change in watch.changes() {
///             let _ = tx.send(change); // a transport writes it to every peer
///         }
///         watch.changed().await;
///     }
/// });
/// dispatcher.register("bob", inbox())?;
/// assert_eq!(announced.recv().await, Some(DirectoryChange::Registered(Id::from("bob"))));
/// # Ok(()) }
/// ```
pub struct DirectoryWatch {
    dispatcher: Dispatcher,
    changed: watch::Receiver<u64>,
    reported: LocalDirectory,
    /// The directory must be read at the next `changes` (at first, and
    /// after `changed` saw a change).
    dirty: bool,
}

impl std::fmt::Debug for DirectoryWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectoryWatch").field("reported", &self.reported).finish()
    }
}

impl DirectoryWatch {
    pub(super) fn new(dispatcher: Dispatcher) -> DirectoryWatch {
        let changed = dispatcher.route_changes();
        DirectoryWatch { dispatcher, changed, reported: LocalDirectory::default(), dirty: true }
    }

    /// The directory as last reported (empty before the first
    /// [`changes`](Self::changes)).
    ///
    /// ```
    /// # fn inbox() -> std::sync::Arc<dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>> {
    /// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::queue("inbox")]).build().unwrap();
    /// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).build().unwrap())
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::{Dispatcher, Id};
    /// let dispatcher = Dispatcher::new();
    /// dispatcher.register("bob", inbox())?;
    /// let mut watch = dispatcher.watch_directory();
    /// assert!(watch.reported().destinations.is_empty()); // nothing reported yet
    /// watch.changes();
    /// assert!(watch.reported().destinations.contains(&Id::from("bob")));
    /// # Ok(()) }
    /// ```
    pub fn reported(&self) -> &LocalDirectory {
        &self.reported
    }

    /// What changed since the last call (everything served, at the first);
    /// empty when nothing did. Cheap when nothing changed: the directory is
    /// only read after a registration, subscription or claim.
    ///
    /// ```
    /// # fn inbox() -> std::sync::Arc<dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>> {
    /// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::queue("inbox")]).build().unwrap();
    /// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).build().unwrap())
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::{Dispatcher, Id};
    /// use dispatchio_core::transport::DirectoryChange;
    /// let dispatcher = Dispatcher::new();
    /// dispatcher.register("bob", inbox())?;
    /// let mut watch = dispatcher.watch_directory();
    /// assert_eq!(watch.changes(), [DirectoryChange::Registered(Id::from("bob"))]); // all, at first
    /// dispatcher.register("ann", inbox())?;
    /// dispatcher.deregister("ann")?;
    /// assert!(watch.changes().is_empty()); // came and went: no change to announce
    /// # Ok(()) }
    /// ```
    pub fn changes(&mut self) -> Vec<DirectoryChange> {
        if !std::mem::take(&mut self.dirty) && !self.changed.has_changed().unwrap_or(true) {
            return Vec::new();
        }
        self.changed.mark_unchanged();
        let (destinations, groups) = self.dispatcher.served_here();
        let now = LocalDirectory { destinations, groups };
        let changes = now.changes_since(&self.reported);
        self.reported = now;
        changes
    }

    /// Waits until the dispatcher's destinations or groups change (locally
    /// or by an outlet's claim), or it shuts down; then [`changes`](Self::changes)
    /// says what, for this process.
    ///
    /// ```
    /// # fn inbox() -> std::sync::Arc<dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>> {
    /// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::queue("inbox")]).build().unwrap();
    /// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).build().unwrap())
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// use dispatchio_core::{Dispatcher, Id};
    /// use dispatchio_core::transport::DirectoryChange;
    /// let dispatcher = Dispatcher::new();
    /// let mut watch = dispatcher.watch_directory();
    /// watch.changes();
    /// let later = dispatcher.clone();
    /// tokio::spawn(async move { later.register("bob", inbox()) });
    /// tokio::time::timeout(Duration::from_secs(5), watch.changed()).await?;
    /// assert_eq!(watch.changes(), [DirectoryChange::Registered(Id::from("bob"))]);
    /// # Ok(()) }
    /// ```
    pub async fn changed(&mut self) {
        // Never an error: the watch holds the dispatcher, and so its sender.
        let _ = self.changed.changed().await;
        self.dirty = true;
    }
}
