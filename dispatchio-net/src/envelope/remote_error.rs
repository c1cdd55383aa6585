//! Errors across the wire: a local error as the remote requester receives
//! it, and back into the same [`Error`] variant.

use super::{core_id, wire_id};
use crate::wire::{RemoteError, RemoteErrorKind, WireId};
use dispatchio_core::{
    Envelope, Error, GroupError, HandlerError, SyncError, TransportError, TransportErrorKind,
};

/// The transport's error, from the outlet named `outlet`.
fn link_error(outlet: &str, kind: TransportErrorKind, message: String) -> Error {
    TransportError::new(outlet.to_owned(), kind, message).into()
}

/// What a peer's error answer becomes when it has no better form.
fn remote_error(outlet: &str, text: &str) -> Error {
    link_error(
        outlet,
        TransportErrorKind::Remote,
        format!("the peer answered with an error: {text}"),
    )
}

/// The [`Error`] a remote answer `e` to `request` stands for: the same
/// variant the answering side had (a handler error with the handler's
/// name, unrouted, dropped, a full mailbox, a group's failures, …), or an
/// [`Error::Transport`] from `outlet` when it has no local form.
///
/// ```
/// use dispatchio_core::{Error, Message, Text};
/// use dispatchio_net::envelope::{error_from_remote, error_to_remote};
/// let request = Message::new(Text::from("deal")).to("dealer").with_id(7);
/// let unrouted = Error::Unrouted { id: request.id(), ty: "Text".into(), listener: Some("dealer".into()) };
/// let travelled = error_to_remote(&unrouted); // what the answering side writes back
/// let back = error_from_remote(travelled, request.envelope(), "tcp:table-2");
/// assert!(matches!(back, Error::Unrouted { ref ty, .. } if ty == "Text"), "{back}");
/// ```
pub fn error_from_remote(e: RemoteError, request: &Envelope, outlet: &str) -> Error {
    let (tag, text) = match e.text.split_once('\n') {
        Some((tag, text)) => (tag, text.to_owned()),
        None => ("", e.text.clone()),
    };
    let id = request.id;
    let dest = || request.dest.clone();
    match e.kind {
        RemoteErrorKind::NoRoute => match (&request.dest, &request.group) {
            (_, Some(g)) => Error::NoSubscribers(g.clone()),
            (Some(d), None) => Error::UnknownDestination(d.clone()),
            (None, None) => remote_error(outlet, &text),
        },
        RemoteErrorKind::Handler => {
            Error::Handler { handler: tag.to_owned(), error: HandlerError::new(text) }
        }
        RemoteErrorKind::Unsupported => Error::Sync(SyncError::Remote),
        RemoteErrorKind::Shutdown => link_error(
            outlet,
            TransportErrorKind::PeerShutdown,
            "the peer's dispatcher is shut down".to_owned(),
        ),
        RemoteErrorKind::PeerLost => {
            link_error(outlet, TransportErrorKind::Remote, format!("further along: {text}"))
        }
        _ => match tag {
            "unrouted" => Error::Unrouted { id, ty: request.ty.to_string(), listener: dest() },
            "dropped" => Error::Dropped { id, listener: dest() },
            "no-reply" => Error::NoReply { id },
            "mailbox-full" => match (request.dest.clone(), text.split_once('\n')) {
                (Some(dest), Some((capacity, _))) => match capacity.parse() {
                    Ok(capacity) => Error::MailboxFull { dest, capacity },
                    Err(_) => remote_error(outlet, &text),
                },
                _ => remote_error(outlet, &text),
            },
            "group" => group_error_from_remote(&text, request, outlet),
            _ => remote_error(outlet, &text),
        },
    }
}

fn group_error_from_remote(text: &str, request: &Envelope, outlet: &str) -> Error {
    let decoded = text
        .rsplit_once('\n')
        .and_then(|(_, encoded)| unhex(encoded))
        .and_then(|bytes| rmp_serde::from_slice::<WireGroupFailures>(&bytes).ok());
    let (Some((succeeded, failures)), Some(group)) = (decoded, request.group.clone()) else {
        return remote_error(outlet, text);
    };
    let failures = failures
        .into_iter()
        .map(|(member, e)| {
            let member = core_id(member);
            // Each failure is that member's, as if it had been asked alone.
            let mut as_member = request.clone();
            as_member.group = None;
            as_member.dest = Some(member.clone());
            (member, error_from_remote(e, &as_member, outlet))
        })
        .collect();
    Error::Group(GroupError { group, failures, succeeded: succeeded as usize })
}

/// The failures of a group request as they travel: the number of members
/// that succeeded, and each failed member with its error.
type WireGroupFailures = (u64, Vec<(WireId, RemoteError)>);

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    let text = text.as_bytes();
    if text.len() % 2 != 0 {
        return None;
    }
    text.chunks(2)
        .map(|pair| std::str::from_utf8(pair).ok().and_then(|p| u8::from_str_radix(p, 16).ok()))
        .collect()
}

/// How a local error travels back to a remote requester: a kind, and a text
/// whose first line is a tag the requesting side turns back into the same
/// [`Error`] variant (for handler errors, the handler's name) with
/// [`error_from_remote`].
///
/// ```
/// use dispatchio_core::{Error, HandlerError};
/// use dispatchio_net::RemoteErrorKind;
/// use dispatchio_net::envelope::error_to_remote;
/// let failed = Error::Handler { handler: "deal".into(), error: HandlerError::new("no cards left") };
/// let remote = error_to_remote(&failed);
/// assert_eq!((remote.kind, remote.text.as_str()), (RemoteErrorKind::Handler, "deal\nno cards left"));
/// ```
pub fn error_to_remote(e: &Error) -> RemoteError {
    let (kind, tag) = match e {
        Error::UnknownDestination(_) | Error::NoSubscribers(_) => {
            (RemoteErrorKind::NoRoute, "no-route")
        }
        Error::Handler { handler, error } => {
            return RemoteError {
                kind: RemoteErrorKind::Handler,
                text: format!("{handler}\n{}", error.message()),
            };
        }
        Error::Timeout { .. } => (RemoteErrorKind::Timeout, "timeout"),
        Error::MailboxFull { capacity, .. } => {
            // The capacity on a line of its own, for the requesting side.
            return RemoteError {
                kind: RemoteErrorKind::Other,
                text: format!("mailbox-full\n{capacity}\n{e}"),
            };
        }
        Error::Sync(_) => (RemoteErrorKind::Unsupported, "sync"),
        Error::Shutdown => (RemoteErrorKind::Shutdown, "shutdown"),
        Error::Unrouted { .. } => (RemoteErrorKind::Other, "unrouted"),
        Error::Dropped { .. } => (RemoteErrorKind::Other, "dropped"),
        Error::NoReply { .. } => (RemoteErrorKind::Other, "no-reply"),
        Error::Transport(_) => (RemoteErrorKind::PeerLost, "link"),
        Error::Group(g) => {
            // A summary line for people, then the failures in full (hex of
            // MessagePack) for the requesting side to rebuild.
            let failures: WireGroupFailures = (
                g.succeeded as u64,
                g.failures.iter().map(|(id, e)| (wire_id(id), error_to_remote(e))).collect(),
            );
            let encoded = rmp_serde::to_vec(&failures).map(|b| hex(&b)).unwrap_or_default();
            return RemoteError {
                kind: RemoteErrorKind::Other,
                text: format!("group\n{}\n{encoded}", e.to_string().replace('\n', " ")),
            };
        }
        _ => (RemoteErrorKind::Other, "other"),
    };
    RemoteError { kind, text: format!("{tag}\n{e}") }
}
