//! Shutdown: every task stopped, every waiting sender told.

use std::sync::atomic::Ordering;

use super::{Dispatcher, Route};
use crate::error::Error;

impl Dispatcher {
    /// Stops everything: no more sends or registrations; every listener task
    /// is stopped (work in progress is abandoned); every outstanding request
    /// and deferred reply ends with [`Error::Shutdown`]; queues close. Returns
    /// once the tasks are gone.
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
