//! Announcements: what a peer says it serves, claimed for it through its
//! link's [`Attachment`](dispatchio_core::transport::Attachment) (or
//! refused as a conflict), and what this process announces.

use std::collections::HashSet;
use std::sync::atomic::Ordering;

use super::{Attached, Peers};
use crate::envelope::{core_id, wire_id};
use crate::wire::Announcement;
use dispatchio_core::transport::{Attachment, DirectoryChange};
use dispatchio_core::{Error, Id};

/// What a peer announced on one link.
pub(super) struct Claims {
    /// What the link serves in the dispatcher; `None` once it is detached.
    pub(super) attachment: Option<Attachment>,
    /// Destinations routed to this link.
    pub(super) served: HashSet<Id>,
    /// Destinations refused because someone else serves them.
    pub(super) refused: HashSet<Id>,
    /// Groups this link is a member of.
    pub(super) groups: HashSet<Id>,
    /// After a reconnect: what the link served before, until the peer's
    /// first frame (its full snapshot) says what is still true.
    pub(super) stale: Option<(HashSet<Id>, HashSet<Id>)>,
}

impl Peers {
    pub(super) fn apply(&self, a: &Attached, changes: Vec<Announcement>) {
        let link = &*a.link;
        let mut freed = Vec::new();
        // Claims past the link's limit, and conflicts, of this frame.
        let (mut over, mut conflicts) = (0u64, 0u64);
        {
            let mut claims = a.claims.lock();
            let stale = claims.stale.take();
            a.stale.store(false, Ordering::Release);
            let (mut stale_dests, mut stale_groups) = stale.clone().unwrap_or_default();
            for change in changes {
                // What this peer has announced and we hold: bounded.
                let held = claims.served.len() + claims.refused.len() + claims.groups.len();
                match change {
                    Announcement::Serve(w) => {
                        let id = core_id(w);
                        stale_dests.remove(&id);
                        if claims.served.contains(&id) {
                            continue;
                        }
                        // A claim refused before is tried again (its holder
                        // may be gone), and is held already.
                        let known = claims.refused.contains(&id);
                        if !known && held >= a.max_announced {
                            over += 1;
                            continue;
                        }
                        match claims.claim(id.clone()) {
                            Ok(()) => {
                                if known {
                                    claims.refused.remove(&id);
                                    self.forget_conflict(&id, link);
                                }
                                claims.served.insert(id);
                            }
                            Err(_) => {
                                claims.refused.insert(id.clone());
                                conflicts += 1;
                                self.report_conflict(&id, link, conflicts <= CONFLICTS_LOGGED);
                            }
                        }
                    }
                    Announcement::Withdraw(w) => {
                        let id = core_id(w);
                        if claims.refused.remove(&id) {
                            self.forget_conflict(&id, link);
                        }
                        if claims.served.remove(&id) {
                            claims.withdraw(&id);
                            freed.push(id);
                        }
                    }
                    Announcement::Subscribe(w) => {
                        let g = core_id(w);
                        stale_groups.remove(&g);
                        if claims.groups.contains(&g) {
                            continue;
                        }
                        if held >= a.max_announced {
                            over += 1;
                            continue;
                        }
                        claims.join_group(g.clone());
                        claims.groups.insert(g);
                    }
                    Announcement::Unsubscribe(w) => {
                        let g = core_id(w);
                        if claims.groups.remove(&g) {
                            claims.leave_group(&g);
                        }
                    }
                }
            }
            if stale.is_some() {
                freed.extend(claims.forget_stale(stale_dests, stale_groups));
            }
        }
        if conflicts > CONFLICTS_LOGGED {
            tracing::error!(
                link = %link.name,
                more = conflicts - CONFLICTS_LOGGED,
                "more destination IDs of one announcement are served by another process; refused"
            );
        }
        if over > 0 {
            self.stats.announcements_refused.fetch_add(over, Ordering::Relaxed);
            tracing::error!(
                link = %link.name,
                refused = over,
                limit = a.max_announced,
                "announced destination IDs and groups refused: the peer has announced as many as a link may hold (RemoteConfig::max_announced)"
            );
        }
        self.retry_refused(&freed);
    }
}

impl Claims {
    pub(super) fn new(attachment: Attachment) -> Claims {
        Claims {
            attachment: Some(attachment),
            served: HashSet::new(),
            refused: HashSet::new(),
            groups: HashSet::new(),
            stale: None,
        }
    }

    /// Claims `id` for the link (refused once the link is detached).
    pub(super) fn claim(&self, id: Id) -> Result<(), Error> {
        match &self.attachment {
            Some(a) => a.claim(id),
            None => Err(Error::DestinationTaken(id)),
        }
    }

    /// Removes the route of `id` if it is still this link's.
    fn withdraw(&self, id: &Id) {
        if let Some(a) = &self.attachment {
            a.withdraw(id);
        }
    }

    fn join_group(&self, group: Id) {
        if let Some(a) = &self.attachment {
            a.join_group(group);
        }
    }

    fn leave_group(&self, group: &Id) {
        if let Some(a) = &self.attachment {
            a.leave_group(group);
        }
    }

    /// Drops what a reconnected link served before and no longer announces;
    /// returns the destinations freed.
    fn forget_stale(&mut self, dests: HashSet<Id>, groups: HashSet<Id>) -> Vec<Id> {
        let mut freed = Vec::new();
        for id in dests {
            if self.served.remove(&id) {
                self.withdraw(&id);
                freed.push(id);
            }
        }
        for g in groups {
            if self.groups.remove(&g) {
                self.leave_group(&g);
            }
        }
        freed
    }
}

/// What a change to the local directory is announced as.
pub(super) fn announcement(change: &DirectoryChange) -> Option<Announcement> {
    Some(match change {
        DirectoryChange::Registered(d) => Announcement::Serve(wire_id(d)),
        DirectoryChange::Deregistered(d) => Announcement::Withdraw(wire_id(d)),
        DirectoryChange::GroupJoined(g) => Announcement::Subscribe(wire_id(g)),
        DirectoryChange::GroupLeft(g) => Announcement::Unsubscribe(wire_id(g)),
        #[allow(unreachable_patterns, reason = "the change enum is non-exhaustive")]
        _ => return None,
    })
}

/// Conflicts of one announcement logged one by one; the rest are logged as
/// a count (every one is counted and listed in [`RemoteStats::conflicts`]).
pub(super) const CONFLICTS_LOGGED: u64 = 16;
