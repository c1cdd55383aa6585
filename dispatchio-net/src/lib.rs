//! The Unix-socket, TCP and TLS transport of dispatchio: listening on and
//! dialling Unix sockets and TCP addresses (plain or TLS), the handshake, the frame format
//! and the links that carry messages between dispatchers.
//!
//! A crate of its own, on top of `dispatchio-core`: it plugs into the
//! dispatcher through the core's public transport seam
//! ([`dispatchio_core::transport`]) and nothing else, as any other
//! transport would.
//!
//! # From the dispatcher
//!
//! [`NetExt::listen`] and [`NetExt::connect`] (and their `_with` variants
//! taking a [`RemoteConfig`]) put a dispatcher on the network. From then
//! on, destination IDs and groups served by peers are routed to them:
//! sending to one is the same call, with the same results and errors, as
//! sending to a local listener.
//!
//! ```no_run
//! use dispatchio_core::{Dispatcher, Message, Text};
//! use dispatchio_net::NetExt;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let server = Dispatcher::new();
//! // Keep the listener: dropping it stops accepting peers.
//! let _listening = server.listen("unix:/run/app/dispatch.sock").await?;
//!
//! let client = Dispatcher::new();
//! let _peer = client.connect("unix:/run/app/dispatch.sock").await?;
//! client.send(Message::new(Text::from("hi")).to("player-1"))?; // served by `server`
//! # Ok(()) }
//! ```
//!
//! The rest of this module is the network layer underneath, usable on its
//! own. The dispatcher plugs in through two seams:
//!
//! * it implements [`LinkEvents`] to receive what arrives on a link (messages,
//!   replies, announcements, in the order the peer sent them) and to learn
//!   when a link comes up or goes down ([`PeerLost`], with the requests that
//!   were in flight on it);
//! * it sends through a [`Link`] handle: [`Link::send`] waits for room in the
//!   link's bounded queue, [`Link::try_send`] fails at once when it is full.
//!
//! ```no_run
//! use std::sync::Arc;
//! use dispatchio_net::{self as net, Address, Link, LinkEvents, NetConfig, Payload};
//!
//! struct Printer;
//! impl LinkEvents for Printer {
//!     async fn received(&self, link: &Link, payload: Payload) {
//!         println!("{}: {payload:?}", link.peer_name());
//!     }
//! }
//!
//! # async fn run() -> Result<(), net::NetError> {
//! let addr: Address = "unix:/tmp/app.sock".parse()?;
//! let config = NetConfig::new("server");
//! let listener = net::listen(&addr, &config, Arc::new(Printer)).await?;
//! let link = net::connect(&addr, &NetConfig::new("client"), Arc::new(Printer)).await?;
//! # drop((listener, link)); Ok(()) }
//! ```
//!
//! # How the dispatcher plugs in
//!
//! * **IDs**: [`WireId`] mirrors the core's ID (an `i64` or a string) and
//!   converts one to one.
//! * **Announcements**: [`LinkEvents::announcements`] returns everything the
//!   dispatcher serves (destination IDs, subscribed groups); it is sent as the
//!   first frame of every connection, including after a reconnect. Each later
//!   change is sent to every link as a [`Payload::Announce`]. Received
//!   announcements say what the peer on that link serves; an ID served by two
//!   links (or by a link and locally) is the conflict to report.
//!   [`LinkEvents::link_down`] means: forget what that link announced.
//! * **Messages**: the dispatcher fills a [`WireMessage`] from its envelope
//!   and encodes typed content with
//!   [`Content::encode`](dispatchio_core::Content::encode) (so the core's
//!   content abstraction needs a way to serialise itself when it crosses a
//!   process boundary). The receiving dispatcher decodes [`WireContent`] into the
//!   Rust type registered for its type name, or into its dynamic value type.
//!   A synchronous send to a remote destination is refused by the dispatcher
//!   before it reaches a link; the `sync` flag is carried for fidelity.
//! * **Requests**: the dispatcher keeps its pending requests keyed by link
//!   and message ID, completes them on [`Payload::Reply`], fails those listed
//!   in [`PeerLost::pending_requests`], and calls [`Link::forget_request`]
//!   when it gives up on one (timeout). The link tracks which requests were
//!   actually written to the lost connection; requests still queued on a
//!   reconnecting link stay queued and are sent after the reconnect.
//! * **Order**: frames of one link are written and delivered in order, so
//!   sending one sender's messages to one peer through one link keeps
//!   per-sender order; [`WireMessage::seq`] lets the receiver check it.
//!
//! # Who may connect
//!
//! * A Unix socket is created with owner-only permissions (`0o600`), so only
//!   the same user (and root) can connect. See [`listen`] for how the socket
//!   file is created without a window in which it is open to others.
//! * A TCP listener requires a shared secret ([`NetConfig::secret`]),
//!   proven by challenge-response (HMAC-SHA256 over fresh nonces of both
//!   sides, checked in constant time): it never crosses the wire, a
//!   replayed handshake is refused, and the dialler checks the listener's
//!   proof too. [`listen`] refuses to open a TCP listener without one unless
//!   [`NetConfig::allow_unauthenticated`] says so, or a `tls:` listener
//!   requires client certificates ([`Tls::require_client_certs`]).
//! * The secret is not encryption: a plaintext `tcp:` listener warns so at
//!   start ([`NetConfig::allow_plaintext`] for loopback). A `tls:` address
//!   runs TLS (rustls): the listener presents a certificate, the dialler
//!   checks it against its roots and the host name or a pinned
//!   certificate ([`Tls`]). `docs/security.md` says what each
//!   mode protects against and what it does not (in the repository).
#![forbid(unsafe_code)]
#![deny(missing_docs, rustdoc::broken_intra_doc_links)]

mod address;
mod config;
pub mod envelope;
mod error;
mod frames;
#[cfg(test)]
mod fuzz_seeds;
mod link;
mod peer;
mod socket;
mod tls;
mod wire;

pub use address::{Address, AddressError, AddressErrorKind};
pub use config::{DEFAULT_MAX_ANNOUNCEMENTS, NetConfig};
pub use error::{DownReason, HandshakeError, NetError, SendError, TlsError, TlsFailure};
pub use link::{
    Acceptor, Direction, Link, LinkEvents, LinkId, LinkState, PeerLost, connect, listen,
};
pub use peer::{Conflict, NetExt, Peer, RemoteAcceptor, RemoteConfig, RemoteStats};
pub use tls::Tls;
pub use wire::{
    Announcement, Challenge, DEFAULT_MAX_FRAME_LEN, Handshake, Hello, NONCE_LEN, Nonce,
    PROTOCOL_VERSION, Payload, Proof, RefusalReason, Refused, RemoteError, RemoteErrorKind,
    ReplyResult, Secret, Welcome, WireContent, WireContentRef, WireError, WireId, WireIdRef,
    WireMessage, WireMessageRef, WireReply, codec,
};
