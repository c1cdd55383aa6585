//! [`GroupError`]: the failures of a group's members.

use std::fmt;

use super::{Error, ErrorKind};
use crate::id::Id;

/// The failures of a group message or request: one entry per member that
/// failed, and how many succeeded.
///
/// ```
/// # fn echo() -> std::sync::Arc<dyn dispatchio_core::Listener> {
/// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
/// #     let table = RoutingTable::builder().rule("echo", Cond::Always, [Action::call("echo")]).build().unwrap();
/// #     let echo = dispatchio_core::RoutedListener::builder(table)
/// #         .handler("echo", |m: &dispatchio_core::Message| Ok(dispatchio_core::Reply::Content(m.content().clone())))
/// #         .build().unwrap();
/// #     std::sync::Arc::new(echo)
/// # }
/// # type Inbox = dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>;
/// # fn inbox() -> std::sync::Arc<Inbox> {
/// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
/// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::queue("inbox")]).build().unwrap();
/// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).build().unwrap())
/// # }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use dispatchio_core::{Dispatcher, Error, Id, Message, Text};
/// let dispatcher = Dispatcher::new();
/// dispatcher.register("a", echo())?;
/// dispatcher.register_bounded("b", inbox(), 1)?;
/// for member in ["a", "b"] {
///     dispatcher.subscribe(member, "Players")?;
/// }
/// dispatcher.send(Message::new(Text::from("fill")).to("b"))?; // b's mailbox is now full
/// let msg = Message::new(Text::from("ready?")).to_group("Players");
/// let Err(Error::Group(group)) = dispatcher.request_group(msg, None).await else { panic!() };
/// assert_eq!((group.group.clone(), group.succeeded), (Id::from("Players"), 1));
/// assert!(matches!(&group.failures[..], [(id, Error::MailboxFull { .. })] if *id == Id::from("b")));
/// # Ok(()) }
/// ```
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
    ///
    /// ```
    /// use std::time::Duration;
    /// use dispatchio_core::{Error, ErrorKind, GroupError, Id, MessageId};
    /// let timeout = Error::Timeout { id: MessageId(1), after: Duration::from_secs(1) };
    /// let mixed = GroupError {
    ///     group: Id::from("Players"),
    ///     failures: vec![(Id::from("a"), timeout.clone()), (Id::from("b"), Error::Shutdown)],
    ///     succeeded: 0,
    /// };
    /// assert_eq!(mixed.kind(), ErrorKind::Group); // they differ
    /// let timeouts = GroupError { failures: vec![(Id::from("a"), timeout)], ..mixed };
    /// assert_eq!(timeouts.kind(), ErrorKind::Timeout);
    /// ```
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
