//! Flushing: waiting until listeners have handled everything sent to them.

use super::Dispatcher;
use super::mailbox::Flush;
use crate::error::Error;
use crate::id::Id;
use crate::message::Message;

impl Dispatcher {
    /// Waits until the local listener `dest` has handled every message sent
    /// to it before this call: delivered each (run its synchronous handlers,
    /// queued it, forwarded it) and finished the asynchronous work they
    /// started. Messages sent meanwhile wait behind the flush, as behind a
    /// blocking message; a destination held by a blocking message is
    /// flushed once that is answered.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// # use dispatchio_core::{Dispatcher, Message, RoutedListener, Text};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let table = RoutingTable::builder().rule("all", Cond::Always, [Action::queue("inbox")]).build()?;
    /// let listener = Arc::new(RoutedListener::builder(table).build()?);
    /// let d = Dispatcher::new();
    /// d.register("player", listener.clone())?;
    /// for card in ["7", "8", "9"] {
    ///     d.send(Message::new(Text::from(card)).to("player"))?;
    /// }
    /// d.flush("player").await?;
    /// assert_eq!(listener.queue("inbox")?.len(), 3); // no polling
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::UnknownDestination`] when no listener of this process is
    /// `dest` (a destination another process serves is flushed there, by
    /// that process); otherwise as [`request`](Self::request) (a full bounded
    /// mailbox refuses the flush, as it refuses a request; shutdown ends it).
    pub async fn flush(&self, dest: impl Into<Id>) -> Result<(), Error> {
        let dest = dest.into();
        if self.local_route(&dest).is_none() {
            return Err(Error::UnknownDestination(dest));
        }
        self.request(Message::new(Flush).to(dest), None).await.map(drop)
    }

    /// [`flush`](Self::flush) of every listener of this process, at once.
    ///
    /// # Errors
    ///
    /// The first listener's failure, as [`flush`](Self::flush).
    ///
    /// # Examples
    ///
    /// ```
    /// # type Inbox = dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>;
    /// # fn inbox() -> std::sync::Arc<Inbox> {
    /// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::queue("inbox")]).build().unwrap();
    /// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).build().unwrap())
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::{Dispatcher, Message, Text};
    /// let dispatcher = Dispatcher::new();
    /// let (a, b) = (inbox(), inbox());
    /// dispatcher.register("a", a.clone())?;
    /// dispatcher.register("b", b.clone())?;
    /// dispatcher.send(Message::new(Text::from("one")).to("a"))?;
    /// dispatcher.send(Message::new(Text::from("two")).to("b"))?;
    /// dispatcher.flush_all().await?;
    /// assert_eq!((a.queue("inbox")?.len(), b.queue("inbox")?.len()), (1, 1));
    /// # Ok(()) }
    /// ```
    pub async fn flush_all(&self) -> Result<(), Error> {
        let local = self.local_destinations();
        futures::future::try_join_all(local.into_iter().map(|dest| self.flush(dest))).await?;
        Ok(())
    }
}
