//! Claims, in core mode: a dispatcher serves a destination on the cluster
//! only once it holds the destination's claim, and an ID wanted by two
//! dispatchers is a [`Conflict`] both report, never a message delivered
//! twice (destination subscriptions are queue subscriptions besides).
//!
//! The holder of destination X subscribes to X's claim subject
//! (`<ns>.c.…`) and answers there with its name. A dispatcher that comes
//! to serve X asks there first: an answer means someone holds X (a
//! conflict: it does not serve X, and asks again at each retry until
//! nobody answers, the holder having let X go or died); the server's
//! no-responders means nobody does, and it subscribes to the claim subject
//! and asks once more, saying it holds X now. Two that asked at the same
//! moment both get that far; each then hears of the other (the second
//! one's ask reaches the first one's claim subscription), and the
//! dispatcher with the smaller name keeps X while the other lets it go.
//! An established holder never loses X to a newcomer.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use crate::conflict::Conflict;
use crate::outlet::NatsOutlet;
use crate::serve::{Serving, Stopped, next_or_drain};
use crate::stats::bump;
use crate::{NatsError, SubjectKind};
use dispatchio_core::Id;

/// What is said on a claim subject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum ClaimMsg {
    /// `name` wants the ID (a request: the holder answers with a
    /// [`ClaimMsg::Held`]); `holding` when it subscribed to the claim
    /// subject already (it found nobody holding the ID a moment ago).
    Ask { name: String, holding: bool },
    /// The answer: `name` holds the ID; `durable` when it reads its
    /// JetStream stream (JetStream mode).
    Held { name: String, durable: bool },
    /// `name`, which asked before, does not want the ID any more.
    Withdrawn { name: String },
    /// Who holds the ID? (A request, answered as an ask is, that claims
    /// nothing: a sender checking the ID is still served.)
    Who,
}

impl ClaimMsg {
    pub(crate) fn encode(&self) -> bytes::Bytes {
        // Serialising strings and booleans into a Vec cannot fail.
        bytes::Bytes::from(rmp_serde::to_vec(self).unwrap_or_default())
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<ClaimMsg, rmp_serde::decode::Error> {
        rmp_serde::from_slice(bytes)
    }
}

/// What one ask on a claim subject found.
enum Asked {
    /// Nobody holds the ID.
    Free,
    /// `holder` does.
    Held(String),
    /// No answer in time, or the connection failed: unknown, asked again
    /// at the next retry.
    Unknown,
}

impl Serving {
    /// Claims destination `id` and serves it on the cluster if this
    /// dispatcher holds it; otherwise records the conflict and leaves `id`
    /// to the retries.
    pub(crate) async fn claim(&mut self, id: Id) -> Result<(), NatsError> {
        let Ok(subject) = self.outlet.ns.subject(SubjectKind::Claim, &id) else {
            // Too long to be on the cluster: subscribe says so, loudly.
            return self.subscribe(SubjectKind::Destination, id).await;
        };
        let me = self.outlet.dispatcher_name.clone();
        match self.ask(&subject, false).await {
            Asked::Held(holder) => {
                self.lost(id, holder);
                return Ok(());
            }
            Asked::Unknown => {
                self.contested.insert(id);
                return Ok(());
            }
            Asked::Free => {}
        }
        self.subscribe_claim(id.clone(), subject.clone()).await?;
        match self.ask(&subject, true).await {
            // The other one asked at the same moment: the smaller name keeps it.
            Asked::Held(other) if other < me => {
                self.unsubscribe(SubjectKind::Claim, id.clone());
                self.lost(id, other);
                return Ok(());
            }
            Asked::Held(other) => {
                self.outlet.add_conflict(Conflict { id: id.clone(), holder: me, claimant: other });
            }
            Asked::Free | Asked::Unknown => {}
        }
        self.won(&id);
        self.subscribe(SubjectKind::Destination, id).await
    }

    /// Asks again for every ID another dispatcher held.
    pub(crate) async fn retry_claims(&mut self) -> Result<(), NatsError> {
        let contested = std::mem::take(&mut self.contested);
        for id in contested {
            if self.watch.reported().destinations.contains(&id) {
                self.claim(id).await?;
            }
        }
        Ok(())
    }

    /// Stops wanting `id` (its listener is gone): the holder is told, the
    /// conflict is over.
    pub(crate) fn withdraw(&mut self, id: &Id) {
        if self.contested.remove(id) {
            if let Ok(subject) = self.outlet.ns.subject(SubjectKind::Claim, id) {
                let note = ClaimMsg::Withdrawn { name: self.outlet.dispatcher_name.clone() };
                self.outlet.publish_plain(&subject, note.encode());
            }
        }
        self.unsubscribe(SubjectKind::Claim, id.clone());
        self.outlet.remove_conflicts(|c| c.id == *id);
    }

    /// This dispatcher gave way to `holder` in the tie-break (told by its
    /// claim reader): it stops serving `id` on the cluster.
    pub(crate) fn yield_to(&mut self, id: Id, holder: String) {
        self.unsubscribe(SubjectKind::Destination, id.clone());
        self.unsubscribe(SubjectKind::Claim, id.clone());
        // Those who wanted it from this dispatcher want it from the new holder.
        let me = &self.outlet.dispatcher_name;
        self.outlet.remove_conflicts(|c| c.id == id && c.holder == *me);
        self.lost(id, holder);
    }

    fn lost(&mut self, id: Id, holder: String) {
        let claimant = self.outlet.dispatcher_name.clone();
        let conflict = Conflict { id: id.clone(), holder, claimant };
        if self.outlet.add_conflict(conflict.clone()) {
            tracing::error!(nats = %self.outlet.outlet_name, id = %id, holder = %conflict.holder, "conflict: another dispatcher serves this ID on the cluster; not serving it there until that one lets it go");
        }
        self.contested.insert(id);
    }

    fn won(&self, id: &Id) {
        let me = &self.outlet.dispatcher_name;
        let resolved = self.outlet.remove_conflicts(|c| c.id == *id && c.claimant == *me);
        if resolved {
            tracing::info!(nats = %self.outlet.outlet_name, id = %id, "conflict over: this dispatcher holds the ID now");
        }
    }

    async fn ask(&self, subject: &str, holding: bool) -> Asked {
        let ask = ClaimMsg::Ask { name: self.outlet.dispatcher_name.clone(), holding };
        let request = async_nats::Request::new().payload(ask.encode()).timeout(Some(ASK_TIMEOUT));
        match self.client.send_request(subject.to_owned(), request).await {
            Ok(msg) => match ClaimMsg::decode(&msg.payload) {
                Ok(ClaimMsg::Held { name, .. }) => Asked::Held(name),
                _ => {
                    bump(&self.outlet.counters.bad_frames);
                    tracing::warn!(nats = %self.outlet.outlet_name, subject, "an answer on a claim subject that is not a claim's");
                    Asked::Unknown
                }
            },
            Err(e) if e.kind() == async_nats::RequestErrorKind::NoResponders => Asked::Free,
            Err(e) => {
                tracing::warn!(nats = %self.outlet.outlet_name, subject, error = %e, "a claim went unanswered; asked again later");
                Asked::Unknown
            }
        }
    }

    async fn subscribe_claim(&mut self, id: Id, subject: String) -> Result<(), NatsError> {
        let sub = self.client.subscribe(subject.clone()).await.map_err(|e| {
            NatsError::new(
                crate::NatsErrorKind::Subscribe,
                format!("cannot subscribe to {subject}"),
            )
            .with_source(e)
        })?;
        let (stop, stopped) = oneshot::channel();
        let reader = tokio::spawn(read_claims(
            self.outlet.clone(),
            id.clone(),
            sub,
            stopped,
            self.yields.clone(),
        ));
        if let Some((old, _)) = self.readers.insert((SubjectKind::Claim, id), (reader, stop)) {
            old.abort();
        }
        Ok(())
    }
}

/// How long an ask on a claim subject waits for the holder's answer.
pub(crate) const ASK_TIMEOUT: Duration = Duration::from_secs(5);

/// Answers the asks on the claim subject of `id`, which this dispatcher
/// holds; records each claimant's conflict; tells the serving task on
/// `yields` when a claimant that asked at the same moment wins the
/// tie-break.
async fn read_claims(
    outlet: Arc<NatsOutlet>,
    id: Id,
    mut sub: async_nats::Subscriber,
    mut stop: Stopped,
    yields: mpsc::UnboundedSender<(Id, String)>,
) {
    let me = outlet.dispatcher_name.clone();
    let mut draining = false;
    while let Some(msg) = next_or_drain(&mut sub, &mut stop, &mut draining).await {
        match ClaimMsg::decode(&msg.payload) {
            Ok(ClaimMsg::Ask { name, holding }) => {
                if let Some(reply) = &msg.reply {
                    outlet.publish_reply(reply, outlet.held().encode());
                }
                if holding && name < me {
                    let _ = yields.send((id.clone(), name));
                    continue;
                }
                let conflict = Conflict { id: id.clone(), holder: me.clone(), claimant: name };
                if outlet.add_conflict(conflict.clone()) {
                    tracing::error!(nats = %outlet.outlet_name, id = %id, claimant = %conflict.claimant, "conflict: another dispatcher wants to serve an ID this one serves; it does not");
                }
            }
            Ok(ClaimMsg::Who) => {
                if let Some(reply) = &msg.reply {
                    outlet.publish_reply(reply, outlet.held().encode());
                }
            }
            Ok(ClaimMsg::Withdrawn { name }) => {
                outlet.remove_conflicts(|c| c.id == id && c.claimant == name);
            }
            Ok(ClaimMsg::Held { .. }) | Err(_) => {
                bump(&outlet.counters.bad_frames);
                tracing::warn!(nats = %outlet.outlet_name, subject = %msg.subject, "a message on a claim subject that is not a claim's (ignored)");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_message_decodes_to_what_was_encoded() {
        for m in [
            ClaimMsg::Ask { name: "a".into(), holding: true },
            ClaimMsg::Held { name: "b".into(), durable: true },
            ClaimMsg::Withdrawn { name: "c".into() },
            ClaimMsg::Who,
        ] {
            assert_eq!(ClaimMsg::decode(&m.encode()).unwrap(), m);
        }
    }
}
