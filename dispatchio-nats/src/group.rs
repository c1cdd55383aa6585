//! A group request's answers from several dispatchers, gathered into the
//! one answer the outlet gives the dispatcher (which counts the outlet as
//! one member of the group).
//!
//! Each dispatcher with members answers once for all of its own (the
//! inlet's rule: the first answer when all succeed, the failure itself
//! when its only member failed, [`Error::Group`] otherwise). Gathered
//! here the same way: the first answer when every dispatcher succeeded,
//! else one [`Error::Group`] listing every member's failure from every
//! dispatcher (a dispatcher that failed as a whole, gone or unable to
//! deliver, is listed under its outlet-style name `nats:<ns>/<name>`).

use std::collections::BTreeSet;

use dispatchio_core::{Error, GroupError, Id, Message};

/// The answers a group request waits for.
pub(crate) struct GroupWait {
    pub(crate) group: Id,
    /// The dispatchers the roster said have members, not answered yet.
    pub(crate) waiting_for: BTreeSet<String>,
    /// JetStream mode: those the request went to through the stream.
    pub(crate) streamed: BTreeSet<String>,
    answers: Vec<(String, Result<Message, Error>)>,
}

impl GroupWait {
    pub(crate) fn new(group: Id, waiting_for: BTreeSet<String>) -> GroupWait {
        GroupWait { group, waiting_for, streamed: BTreeSet::new(), answers: Vec::new() }
    }

    /// `name`, no longer on the roster (found dead), was sent the request
    /// through the stream: its part fails now as `why` (its next life's
    /// answer would come to nobody). Returns whether the request is
    /// complete.
    pub(crate) fn absent(&mut self, name: &str, why: Error) -> bool {
        self.answers.push((name.to_owned(), Err(why)));
        self.waiting_for.is_empty()
    }

    /// Nobody is subscribed to the group subject (the server's
    /// no-responders): no answer comes from those the request did not
    /// reach through the stream. Returns whether the request is complete.
    pub(crate) fn nobody_on_the_subject(&mut self) -> bool {
        let streamed = &self.streamed;
        self.waiting_for.retain(|n| streamed.contains(n));
        self.waiting_for.is_empty()
    }

    /// Records `from`'s answer; returns whether the request is complete.
    /// An answer from a dispatcher the roster did not know of yet counts
    /// too; with nobody known, the first answer completes the request.
    pub(crate) fn answer(&mut self, from: &str, answer: Result<Message, Error>) -> bool {
        self.waiting_for.remove(from);
        self.answers.push((from.to_owned(), answer));
        self.waiting_for.is_empty()
    }

    /// `name` is gone: its answer will not come. Returns whether the
    /// request is complete.
    pub(crate) fn gone(&mut self, name: &str, why: Error) -> bool {
        if self.waiting_for.remove(name) {
            self.answers.push((name.to_owned(), Err(why)));
            self.waiting_for.is_empty()
        } else {
            false
        }
    }

    /// The one answer; `outlet_of` names a dispatcher that failed as a
    /// whole. With no answer at all, nobody has members:
    /// [`Error::NoSubscribers`].
    pub(crate) fn finish(mut self, outlet_of: impl Fn(&str) -> Id) -> Result<Message, Error> {
        if self.answers.len() == 1 {
            // One dispatcher's answer, as it is (it gathered its own).
            return self.answers.remove(0).1;
        }
        let mut first = None;
        let mut succeeded = 0;
        let mut failures = Vec::new();
        for (from, answer) in self.answers {
            match answer {
                Ok(m) => {
                    succeeded += 1;
                    first.get_or_insert(m);
                }
                Err(Error::Group(g)) => {
                    succeeded += g.succeeded;
                    failures.extend(g.failures);
                }
                Err(e) => failures.push((outlet_of(&from), e)),
            }
        }
        match first {
            Some(m) if failures.is_empty() => Ok(m),
            None if failures.is_empty() => Err(Error::NoSubscribers(self.group)),
            _ => Err(Error::Group(GroupError { group: self.group, failures, succeeded })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dispatchio_core::Text;

    fn names(ns: &[&str]) -> BTreeSet<String> {
        ns.iter().map(|s| (*s).to_owned()).collect()
    }

    fn outlet(name: &str) -> Id {
        Id::from(format!("nats:test/{name}"))
    }

    #[test]
    fn a_group_request_completes_only_when_every_known_dispatcher_answered() {
        let mut w = GroupWait::new(Id::from("g"), names(&["a", "b"]));
        assert!(!w.answer("a", Ok(Message::new(Text::from("x")))));
        assert!(w.answer("b", Ok(Message::new(Text::from("y")))));
        let m = w.finish(outlet).unwrap();
        assert_eq!(m.content_as::<Text>(), Some(&Text::from("x")));
    }

    #[test]
    fn every_dispatchers_failures_are_listed_in_one_group_error() {
        let mut w = GroupWait::new(Id::from("g"), names(&["a", "b", "c"]));
        let inner = GroupError {
            group: Id::from("g"),
            failures: vec![(Id::from("m1"), Error::Shutdown)],
            succeeded: 2,
        };
        w.answer("a", Err(Error::Group(inner)));
        w.answer("b", Ok(Message::new(Text::from("ok"))));
        assert!(w.gone("c", Error::Shutdown));
        let Err(Error::Group(g)) = w.finish(outlet) else { panic!("not a group error") };
        assert_eq!(g.succeeded, 3);
        let failed: Vec<Id> = g.failures.iter().map(|f| f.0.clone()).collect();
        assert_eq!(failed, vec![Id::from("m1"), outlet("c")]);
    }

    #[test]
    fn no_responders_on_the_group_subject_leaves_the_wait_for_those_reached_through_the_stream() {
        let mut w = GroupWait::new(Id::from("g"), names(&["core", "js"]));
        w.streamed = names(&["js"]);
        assert!(!w.nobody_on_the_subject());
        assert_eq!(w.waiting_for, names(&["js"]));
        assert!(w.answer("js", Ok(Message::new(Text::from("x")))));
        let mut w = GroupWait::new(Id::from("g"), names(&["core"]));
        assert!(w.nobody_on_the_subject(), "nobody through the stream: complete");
    }

    #[test]
    fn no_answer_at_all_is_no_subscribers() {
        let w = GroupWait::new(Id::from("g"), BTreeSet::new());
        assert!(matches!(w.finish(outlet), Err(Error::NoSubscribers(g)) if g == "g"));
    }
}
