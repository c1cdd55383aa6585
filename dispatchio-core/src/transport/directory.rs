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
    pub fn reported(&self) -> &LocalDirectory {
        &self.reported
    }

    /// What changed since the last call (everything served, at the first);
    /// empty when nothing did. Cheap when nothing changed: the directory is
    /// only read after a registration, subscription or claim.
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
    pub async fn changed(&mut self) {
        // Never an error: the watch holds the dispatcher, and so its sender.
        let _ = self.changed.changed().await;
        self.dirty = true;
    }
}
