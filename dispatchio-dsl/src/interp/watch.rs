//! Watching a program's files: a poll of their contents on a tokio interval.
//!
//! Why polling rather than the `notify` crate: the files are few and small,
//! so hashing them every interval costs next to nothing; polling needs no
//! new dependency and no platform backend, works the same on network and
//! container filesystems where inotify events do not arrive, and handles
//! editors that save by writing a temporary file and renaming it over the
//! original (a watch on the old inode would go quiet). Hashing contents
//! rather than comparing modification times also catches two edits within
//! one timestamp tick, and ignores a `touch` that changes nothing.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{Error, Reloaded, Routes};
use crate::report::Report;

/// The files a load attempt read: the root first, then its imports.
pub(super) fn files_of(root: &Path, report: &Report) -> Vec<PathBuf> {
    let mut out = vec![root.to_path_buf()];
    for (_, f) in report.sources.files() {
        if !out.contains(&f.path) {
            out.push(f.path.clone());
        }
    }
    out
}

/// A hash of the files' contents (an unreadable file hashes as such, so a
/// file appearing or disappearing is a change too).
pub(super) fn fingerprint(files: &[PathBuf]) -> u64 {
    let mut h = DefaultHasher::new();
    for f in files {
        f.hash(&mut h);
        // Read as the loader reads: a FIFO or a device must not block or
        // exhaust the watch either.
        match crate::read::read_bytes(f) {
            Ok(bytes) => {
                0u8.hash(&mut h);
                bytes.hash(&mut h);
            }
            Err(why) => {
                1u8.hash(&mut h);
                why.to_string().hash(&mut h);
            }
        }
    }
    h.finish()
}

/// A running watch started by [`Routes::watch`]: yields the outcome of every
/// reload it made. Dropping it stops the watch.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("table.route");
/// std::fs::write(&path, "listener table { rule all when sync => queue hand }")?;
/// let routes = dispatchio_dsl::interp::load(&path)?.build()?;
/// let mut watcher = routes.watch(Duration::from_millis(10));
/// std::fs::write(&path, "listener table { rule all when sync => drop }")?;
/// assert_eq!(watcher.next().await.ok_or("the watch stopped")??.generation, 1);
/// drop(watcher); // stops the watch
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Watcher {
    events: mpsc::UnboundedReceiver<Result<Reloaded, Error>>,
    task: JoinHandle<()>,
}

impl Watcher {
    /// The outcome of the next reload the watch makes (after a change),
    /// waiting for one; `None` once the watch has stopped.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("table.route");
    /// std::fs::write(&path, "listener table { rule all when sync => queue hand }")?;
    /// let routes = dispatchio_dsl::interp::load(&path)?.build()?;
    /// let mut watcher = routes.watch(Duration::from_millis(10));
    /// // A file with an error: refused, and the old table keeps running.
    /// std::fs::write(&path, "listener table { rule all when => drop }")?;
    /// let refused = watcher.next().await.ok_or("the watch stopped")?;
    /// assert!(matches!(refused, Err(dispatchio_dsl::interp::Error::Invalid(_))));
    /// assert_eq!(routes.generation(), 0);
    /// # Ok(()) }
    /// ```
    pub async fn next(&mut self) -> Option<Result<Reloaded, Error>> {
        self.events.recv().await
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Routes {
    /// Watches the file and its imports, checking every `period` and
    /// reloading ([`reload`](Routes::reload)) when their contents changed
    /// and then stayed the same for one more `period` (so a file being
    /// written is not read half-way).
    /// A refused reload keeps the old tables running; the file is tried
    /// again when it changes again.
    ///
    /// Must be called inside a tokio runtime (the watch is a task).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("table.route");
    /// std::fs::write(&path, "listener table { rule all when sync => queue hand }")?;
    /// let routes = dispatchio_dsl::interp::load(&path)?.build()?;
    /// let mut watcher = routes.watch(Duration::from_millis(10));
    /// std::fs::write(&path, "listener table { rule all when sync and blocking => queue hand }")?;
    /// watcher.next().await.ok_or("the watch stopped")??;
    /// let program = routes.program();
    /// let rule = &program.listeners()[0].rules[0];
    /// assert_eq!(rule.name, "all");
    /// assert!(matches!(rule.cond.kind, dispatchio_dsl::program::CondKind::And(_)));
    /// # Ok(()) }
    /// ```
    pub fn watch(&self, period: Duration) -> Watcher {
        let (tx, events) = mpsc::unbounded_channel();
        let routes = self.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // Contents seen changed on the previous tick: reload only once
            // they are the same on two ticks in a row, so a file caught
            // half-written (truncated, then written) is not loaded.
            let mut pending: Option<u64> = None;
            loop {
                tick.tick().await;
                // Reading a few small files blocks for microseconds; not
                // worth a trip to the blocking pool.
                let (now, last) = routes.fingerprints();
                if now == last {
                    pending = None;
                } else if pending != Some(now) {
                    pending = Some(now);
                } else {
                    pending = None;
                    if tx.send(routes.reload()).is_err() {
                        break;
                    }
                }
            }
        });
        Watcher { events, task }
    }
}
