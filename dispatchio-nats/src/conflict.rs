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
