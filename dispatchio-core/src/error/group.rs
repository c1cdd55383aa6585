//! [`GroupError`]: the failures of a group's members.

use std::fmt;

use super::{Error, ErrorKind};
use crate::id::Id;

/// The failures of a group message or request: one entry per member that
/// failed, and how many succeeded.
#[derive(Clone, Debug)]
pub struct GroupError {
    /// The group.
    pub group: Id,
    /// Each failed member's ID and error, in the order of the group's
    /// members.
    pub failures: Vec<(Id, Error)>,
    /// The number of members that succeeded.
    pub succeeded: usize,
}

impl GroupError {
    /// The kind the failures share ([`ErrorKind::Timeout`] when every
    /// failed member timed out), or [`ErrorKind::Group`] when they differ.
    /// Members that succeeded do not count: this is the kind of the failure.
    pub fn kind(&self) -> ErrorKind {
        let mut kinds = self.failures.iter().map(|(_, e)| e.kind());
        match kinds.next() {
            Some(first) if kinds.all(|k| k == first) => first,
            _ => ErrorKind::Group,
        }
    }
}

impl fmt::Display for GroupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} of {} subscribers of group {} failed:",
            self.failures.len(),
            self.failures.len() + self.succeeded,
            self.group
        )?;
        for (id, e) in &self.failures {
            write!(f, " [{id}: {e}]")?;
        }
        Ok(())
    }
}

impl std::error::Error for GroupError {
    /// The first member's failure (every one is in
    /// [`failures`](GroupError::failures)).
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.failures.first().map(|(_, e)| e as &(dyn std::error::Error + 'static))
    }
}
