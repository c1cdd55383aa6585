//! The roster: which other dispatchers of the namespace have members of
//! which groups, so that a group request waits for an answer from each of
//! them, and a process with members of its own still reaches theirs.
//!
//! Each dispatcher publishes a [`RosterNote::Here`] on the roster subject
//! (`<ns>.r`) listing its groups whenever they change, with `roll_call`
//! set when it joins (everyone answers with their own note); a
//! [`RosterNote::Gone`] when it leaves. A dispatcher killed without
//! leaving is found out by a probe on its presence subject (see
//! [`crate::inbox`]) and removed.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use dispatchio_core::Id;

/// What one dispatcher says on the roster subject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum RosterNote {
    /// `name` has local members of `groups` (all of them, not a change).
    Here {
        /// The dispatcher's name.
        name: String,
        /// Every group it has a local member of.
        groups: BTreeSet<Id>,
        /// Asks every other dispatcher to say its own note (on joining).
        roll_call: bool,
        /// JetStream mode: the groups whose messages it reads through the
        /// stream (a JetStream-mode sender publishes them there for it).
        #[serde(default)]
        streamed: BTreeSet<Id>,
    },
    /// `name` left: it has no members any more.
    Gone {
        /// The dispatcher's name.
        name: String,
    },
}

impl RosterNote {
    pub(crate) fn encode(&self) -> Bytes {
        // Serialising a note of strings and IDs into a Vec cannot fail.
        Bytes::from(rmp_serde::to_vec(self).unwrap_or_default())
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<RosterNote, rmp_serde::decode::Error> {
        rmp_serde::from_slice(bytes)
    }
}

/// The groups of every other dispatcher, as their notes said.
#[derive(Debug, Default)]
pub(crate) struct Roster {
    by_name: HashMap<String, BTreeSet<Id>>,
    /// The groups each reads through the stream: of those there, and of
    /// those found gone without leaving (killed: what is sent to their
    /// groups waits in the stream for their next life).
    streamed: HashMap<String, BTreeSet<Id>>,
}

impl Roster {
    /// Records `name`'s groups, and those of them it reads through the
    /// stream; returns whether its groups changed.
    pub(crate) fn set(&mut self, name: &str, groups: BTreeSet<Id>, streamed: BTreeSet<Id>) -> bool {
        if groups.is_empty() {
            return self.remove(name);
        }
        self.streamed.insert(name.to_owned(), streamed);
        match self.by_name.get(name) {
            Some(old) if *old == groups => false,
            _ => {
                self.by_name.insert(name.to_owned(), groups);
                true
            }
        }
    }

    /// The dispatchers with members of `group` that read it through the
    /// stream, there or [lost](Self::lose).
    pub(crate) fn streamed_of(&self, group: &Id) -> BTreeSet<String> {
        self.streamed.iter().filter(|(_, gs)| gs.contains(group)).map(|(n, _)| n.clone()).collect()
    }

    /// `name` is gone without leaving (found dead): no group request waits
    /// for it any more, but the groups it reads through the stream are
    /// still stored for it. Returns whether it was there.
    pub(crate) fn lose(&mut self, name: &str) -> bool {
        self.by_name.remove(name).is_some()
    }

    /// Forgets `name`; returns whether it was known.
    pub(crate) fn remove(&mut self, name: &str) -> bool {
        self.streamed.remove(name);
        self.by_name.remove(name).is_some()
    }

    /// The dispatchers with members of `group`.
    pub(crate) fn members_of(&self, group: &Id) -> BTreeSet<String> {
        self.by_name.iter().filter(|(_, gs)| gs.contains(group)).map(|(n, _)| n.clone()).collect()
    }

    /// Every group some other dispatcher has members of, or reads through
    /// the stream (lost or not).
    pub(crate) fn groups(&self) -> BTreeSet<Id> {
        self.by_name.values().chain(self.streamed.values()).flatten().cloned().collect()
    }

    /// Group by group, the dispatchers with members of it.
    pub(crate) fn by_group(&self) -> BTreeMap<Id, BTreeSet<String>> {
        let mut out: BTreeMap<Id, BTreeSet<String>> = BTreeMap::new();
        for (name, groups) in &self.by_name {
            for g in groups {
                out.entry(g.clone()).or_default().insert(name.clone());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_decodes_to_what_was_encoded() {
        let note = RosterNote::Here {
            name: "dealer".into(),
            groups: [Id::from("All"), Id::from(7)].into(),
            roll_call: true,
            streamed: [Id::from(7)].into(),
        };
        assert_eq!(RosterNote::decode(&note.encode()).unwrap(), note);
    }

    #[test]
    fn the_roster_lists_each_groups_dispatchers_and_forgets_one_that_has_none() {
        let mut r = Roster::default();
        assert!(r.set("a", [Id::from("g"), Id::from("h")].into(), BTreeSet::new()));
        assert!(r.set("b", [Id::from("g")].into(), BTreeSet::new()));
        assert!(!r.set("b", [Id::from("g")].into(), [Id::from("g")].into()));
        assert_eq!(r.streamed_of(&Id::from("g")), ["b".to_owned()].into());
        assert_eq!(r.members_of(&Id::from("g")), ["a".to_owned(), "b".to_owned()].into());
        assert_eq!(r.groups(), [Id::from("g"), Id::from("h")].into());
        assert!(r.set("a", BTreeSet::new(), BTreeSet::new()));
        assert_eq!(r.members_of(&Id::from("h")), BTreeSet::new());
        assert_eq!(r.by_group().len(), 1);
        // Lost (killed): no longer a member to wait for, still stored for.
        assert!(r.lose("b"));
        assert_eq!(r.members_of(&Id::from("g")), BTreeSet::new());
        assert_eq!(r.streamed_of(&Id::from("g")), ["b".to_owned()].into());
        assert_eq!(r.groups(), [Id::from("g")].into());
        // Left: forgotten.
        assert!(!r.remove("b"));
        assert_eq!(r.streamed_of(&Id::from("g")), BTreeSet::new());
    }

    #[test]
    fn a_note_of_a_dispatcher_that_says_nothing_of_the_stream_decodes_as_streaming_nothing() {
        // A note as written before `streamed` (three fields).
        #[derive(Serialize)]
        enum Old {
            Here { name: String, groups: BTreeSet<Id>, roll_call: bool },
        }
        let old = Old::Here { name: "a".into(), groups: [Id::from("g")].into(), roll_call: false };
        let note = RosterNote::decode(&rmp_serde::to_vec(&old).unwrap()).unwrap();
        let RosterNote::Here { streamed, .. } = note else { panic!("{note:?}") };
        assert!(streamed.is_empty());
    }
}
