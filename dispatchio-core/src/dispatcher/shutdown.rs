//! Shutdown: every task stopped, every waiting sender told.

use std::sync::atomic::Ordering;

use super::{Dispatcher, Route};
use crate::error::Error;

impl Dispatcher {
    /// Stops everything: no more sends or registrations; every listener task
    /// is stopped (work in progress is abandoned); every outstanding request
    /// and deferred reply ends with [`Error::Shutdown`]; queues close. Returns
    /// once the tasks are gone.
    ///
    /// ```
    /// # type Inbox = dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>;
    /// # fn inbox() -> std::sync::Arc<Inbox> {
    /// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::queue("inbox")]).build().unwrap();
    /// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).build().unwrap())
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::{Dispatcher, Error, Message, Text};
    /// let dispatcher = Dispatcher::new();
    /// let player = inbox();
    /// dispatcher.register("player", player.clone())?;
    /// dispatcher.shutdown().await;
    /// assert!(dispatcher.is_shut_down());
    /// let err = dispatcher.send(Message::new(Text::from("hi")).to("player")).unwrap_err();
    /// assert!(matches!(err, Error::Shutdown));
    /// assert!(player.queue("inbox")?.is_closed());
    /// # Ok(()) }
    /// ```
    pub async fn shutdown(&self) {
        self.inner.closed.store(true, Ordering::Release);
        let routes = std::mem::take(&mut *self.inner.routes.write());
        self.inner.groups.write().clear();
        self.inner.fallback.write().take();
        self.changed();
        let mut tasks = std::mem::take(&mut *self.inner.retired.lock());
        for route in routes.values() {
            if let Route::Local(mb) = route {
                mb.wake_waiting();
                mb.listener.close();
                if let Some(t) = mb.task.lock().take() {
                    tasks.push(t);
                }
            }
        }
        for t in &tasks {
            t.abort();
        }
        drop(routes);
        let deferred = std::mem::take(&mut *self.inner.deferred.lock());
        for (_, d) in deferred {
            d.reply.send(Err(Error::Shutdown));
        }
        for t in tasks {
            // An aborted task ends at its next poll; a task that panicked has
            // nothing left to clean up.
            let _ = t.await;
        }
        tracing::debug!("dispatcher shut down");
    }
}
