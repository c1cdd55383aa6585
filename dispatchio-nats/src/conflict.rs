//! What claims are about, without the claiming: a [`Conflict`] (which the
//! outlet lists and the claims make) and how often a claim is asked again.
//! A module of its own so that the outlet, the serving loops and the claims
//! depend on it, not on each other.

use std::time::Duration;

use dispatchio_core::Id;

/// How often a dispatcher asks again for the IDs another one holds.
pub(crate) const RETRY_INTERVAL: Duration = Duration::from_millis(500);

/// An ID two dispatchers of the namespace want to serve: listed by both
/// ([`Nats::conflicts`](crate::Nats::conflicts)) while it lasts.
///
/// ```
/// use dispatchio_core::Dispatcher;
/// use dispatchio_nats::{NatsConfig, NatsExt};
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let dispatcher = Dispatcher::new();
/// let nats = dispatcher.join_nats(NatsConfig::new("nats://127.0.0.1:4222").name("table-2")).await?;
/// for conflict in nats.conflicts() {
///     // Only one dispatcher serves an ID on the cluster: the holder.
///     assert!(conflict.holder == "table-2" || conflict.claimant == "table-2");
///     eprintln!("{:?} is held by {}, wanted by {}", conflict.id, conflict.holder, conflict.claimant);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub struct Conflict {
    /// The destination ID.
    pub id: Id,
    /// The dispatcher that serves it.
    pub holder: String,
    /// The dispatcher that wants to serve it too and does not.
    pub claimant: String,
}
