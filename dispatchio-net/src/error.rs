//! The errors of the network layer, one type per question: could the
//! listener or dial be set up ([`NetError`]), did the handshake succeed
//! ([`HandshakeError`]), could a frame be queued ([`SendError`]), and why
//! did a link go down ([`DownReason`], reported in
//! [`PeerLost`](crate::PeerLost)).

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use crate::address::AddressError;
use crate::wire::{RefusalReason, WireError};

/// Setting up a listener or dialling a peer failed.
///
/// ```
/// # use std::sync::Arc;
/// # use dispatchio_net::{self as net, Address, Link, LinkEvents, NetConfig, Payload};
/// # struct Quiet;
/// # impl LinkEvents for Quiet { async fn received(&self, _: &Link, _: Payload) {} }
/// # fn socket(name: &str) -> Address {
/// #     let path = std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id()));
/// #     format!("unix:{}", path.display()).parse().unwrap()
/// # }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use dispatchio_net::NetError;
/// let nobody = net::connect(&socket("nobody-here"), &NetConfig::new("web"), Arc::new(Quiet)).await;
/// let Err(err @ NetError::Io { .. }) = &nobody else { panic!("{nobody:?}") };
/// assert!(err.to_string().starts_with("cannot connect to unix:"), "{err}"); // what, and where
/// let tcp = net::listen(&"tcp:127.0.0.1:0".parse()?, &NetConfig::new("dev"), Arc::new(Quiet)).await;
/// assert!(matches!(tcp, Err(NetError::ListenerNeedsSecret { .. }))); // no secret, no option
/// # Ok(()) }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// The address text is invalid.
    #[error(transparent)]
    Address(#[from] AddressError),
    /// A socket operation failed.
    #[error("cannot {action} {address}: {source}")]
    Io {
        /// What was being done (`"bind"`, `"connect"`, …).
        action: &'static str,
        /// The address concerned.
        address: String,
        /// The operating system's error.
        source: io::Error,
    },
    /// The connection was made but the handshake failed.
    #[error("handshake with {address} failed: {source}")]
    Handshake {
        /// The peer's address.
        address: String,
        /// What went wrong.
        source: HandshakeError,
    },
    /// A TCP listener was asked for without a shared secret.
    #[error(
        "refusing to listen on {address} without a shared secret: set NetConfig::secret, \
         or NetConfig::allow_unauthenticated(true) on a trusted network"
    )]
    ListenerNeedsSecret {
        /// The TCP address.
        address: String,
    },
    /// The TLS settings cannot serve this `tls:` address.
    #[error("cannot use TLS for {address}: {source}")]
    Tls {
        /// The address.
        address: String,
        /// What is wrong with the settings.
        source: TlsError,
    },
    /// Another live process already listens on this Unix socket path.
    #[error("{} is in use by a running listener", path.display())]
    SocketPathInUse {
        /// The socket path.
        path: PathBuf,
    },
    /// The Unix socket path exists and is not a socket; it is left alone.
    #[error("{} exists and is not a socket; not replacing it", path.display())]
    NotASocket {
        /// The path.
        path: PathBuf,
    },
}

/// Why a handshake failed, as seen by the side that reports it.
///
/// ```
/// # use std::sync::Arc;
/// # use dispatchio_net::{self as net, Address, Link, LinkEvents, NetConfig, Payload};
/// # struct Quiet;
/// # impl LinkEvents for Quiet { async fn received(&self, _: &Link, _: Payload) {} }
/// # fn socket(name: &str) -> Address {
/// #     let path = std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id()));
/// #     format!("unix:{}", path.display()).parse().unwrap()
/// # }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use dispatchio_net::{HandshakeError, NetError, RefusalReason};
/// let addr = socket("handshake-error");
/// let _listening = net::listen(&addr, &NetConfig::new("billing").secret("s3cret"), Arc::new(Quiet)).await?;
/// let err = net::connect(&addr, &NetConfig::new("web"), Arc::new(Quiet)).await.unwrap_err();
/// let NetError::Handshake { source, .. } = &err else { panic!("{err}") };
/// // The listener refused us, and said why.
/// assert!(matches!(source, HandshakeError::Refused { reason: RefusalReason::MissingSecret, .. }), "{source}");
/// # Ok(()) }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The two sides speak different protocol versions (reported on both sides).
    #[error("protocol version mismatch: this side speaks version {ours}, the peer speaks {theirs}")]
    VersionMismatch {
        /// This side's version.
        ours: u32,
        /// The peer's version.
        theirs: u32,
    },
    /// Dialler side: the listener refused us for this reason.
    #[error("refused by the listener ({reason:?}): {text}")]
    Refused {
        /// The listener's reason.
        reason: RefusalReason,
        /// The listener's explanation.
        text: String,
    },
    /// Listener side: the peer presented no secret but one is required.
    #[error("peer {peer_name:?} presented no shared secret")]
    MissingSecret {
        /// The name the peer gave.
        peer_name: String,
    },
    /// Listener side: the peer presented a wrong secret.
    #[error("peer {peer_name:?} presented a wrong shared secret")]
    BadSecret {
        /// The name the peer gave.
        peer_name: String,
    },
    /// Dialler side: we hold a shared secret, and the listener welcomed us
    /// without asking for a proof, so it cannot prove that it knows the
    /// secret either (it may be anyone's listener).
    #[error("listener {peer_name:?} asked for no shared secret, so it cannot prove it knows ours")]
    ListenerHasNoSecret {
        /// The name the listener gave.
        peer_name: String,
    },
    /// Dialler side: the listener's proof of the shared secret is wrong
    /// (it does not know the secret).
    #[error("listener {peer_name:?} could not prove that it knows the shared secret")]
    ListenerBadSecret {
        /// The name the listener gave.
        peer_name: String,
    },
    /// The peer's handshake nonce has the wrong length.
    #[error("the peer's handshake nonce has {len} bytes, not 32")]
    BadNonce {
        /// Its length.
        len: usize,
    },
    /// The system's random source failed, so no nonce could be made.
    #[error("the system's random source failed; no handshake nonce")]
    NoRandomness,
    /// The TLS handshake failed, or the peer ended the TLS session during
    /// ours (as a listener does that refuses our certificate).
    #[error("TLS: {kind} ({detail})")]
    Tls {
        /// What went wrong, to decide on.
        kind: TlsFailure,
        /// rustls's account of it.
        detail: String,
    },
    /// A frame was not the expected handshake frame.
    #[error("expected {expected}, got {got}")]
    Unexpected {
        /// What was expected.
        expected: &'static str,
        /// What came instead.
        got: String,
    },
    /// A handshake frame did not decode.
    #[error("malformed handshake frame: {0}")]
    Malformed(#[source] WireError),
    /// The peer closed the connection during the handshake.
    #[error("the connection closed during the handshake")]
    Closed,
    /// The handshake did not complete in time.
    #[error("no handshake within {after:?}")]
    Timeout {
        /// The configured timeout.
        after: Duration,
    },
    /// Reading or writing failed (including an oversized frame).
    #[error("I/O error during the handshake: {0}")]
    Io(#[source] io::Error),
}

/// A frame could not be queued on a link.
///
/// ```
/// # use std::sync::Arc;
/// # use dispatchio_net::{self as net, Address, Link, LinkEvents, NetConfig, Payload};
/// # struct Quiet;
/// # impl LinkEvents for Quiet { async fn received(&self, _: &Link, _: Payload) {} }
/// # fn socket(name: &str) -> Address {
/// #     let path = std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id()));
/// #     format!("unix:{}", path.display()).parse().unwrap()
/// # }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use dispatchio_net::{SendError, WireContent, WireMessage};
/// let addr = socket("send-error");
/// let _listening = net::listen(&addr, &NetConfig::new("billing"), Arc::new(Quiet)).await?;
/// let link = net::connect(&addr, &NetConfig::new("web").max_frame_len(256), Arc::new(Quiet)).await?;
/// let big = WireMessage::new(1, "Blob", Some(WireContent::encode("Blob", &vec![0u8; 1000])?));
/// assert!(matches!(link.try_send(Payload::Message(big)), Err(SendError::TooLarge { max: 256, .. })));
/// link.close("done").await;
/// let closed = link.try_send(Payload::Message(WireMessage::new(2, "Tick", None)));
/// assert!(matches!(closed, Err(SendError::Closed)));
/// # Ok(()) }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The link is up but its queue is full ([`Link::try_send`](crate::Link::try_send) only).
    #[error("the link's outgoing queue is full ({capacity} frames)")]
    Full {
        /// The queue's capacity.
        capacity: usize,
    },
    /// The link is down (reconnecting) and its queue is full.
    #[error("the link is down and its outgoing queue is full ({capacity} frames)")]
    DownAndFull {
        /// The queue's capacity.
        capacity: usize,
    },
    /// The link was closed for good.
    #[error("the link is closed")]
    Closed,
    /// The encoded frame is larger than the configured maximum.
    #[error("frame of {len} bytes exceeds the maximum of {max} bytes")]
    TooLarge {
        /// The encoded length.
        len: usize,
        /// The configured maximum.
        max: usize,
    },
    /// The frame could not be encoded.
    #[error(transparent)]
    Encode(#[from] WireError),
}

/// Why a connection ended.
///
/// ```
/// # use std::sync::Arc;
/// # use dispatchio_net::{self as net, Address, Link, LinkEvents, NetConfig, Payload};
/// # struct Quiet;
/// # impl LinkEvents for Quiet { async fn received(&self, _: &Link, _: Payload) {} }
/// # fn socket(name: &str) -> Address {
/// #     let path = std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id()));
/// #     format!("unix:{}", path.display()).parse().unwrap()
/// # }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use dispatchio_net::{DownReason, PeerLost};
/// /// Tells why each connection went down.
/// struct Downs(tokio::sync::mpsc::UnboundedSender<DownReason>);
/// impl LinkEvents for Downs {
///     async fn received(&self, _: &Link, _: Payload) {}
///     fn link_down(&self, _: &Link, lost: &PeerLost) {
///         let _ = self.0.send(lost.reason.clone());
///     }
/// }
/// let (tx, mut downs) = tokio::sync::mpsc::unbounded_channel();
/// let addr = socket("down-reason");
/// let _listening = net::listen(&addr, &NetConfig::new("billing"), Arc::new(Downs(tx))).await?;
/// let link = net::connect(&addr, &NetConfig::new("web"), Arc::new(Quiet)).await?;
/// link.close("the game is over").await; // a goodbye, with a reason
/// assert_eq!(downs.recv().await, Some(DownReason::Goodbye("the game is over".into())));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DownReason {
    /// The peer closed the connection without saying goodbye (for example
    /// because its process died).
    #[error("the peer closed the connection")]
    PeerClosed,
    /// The peer said goodbye.
    #[error("the peer said goodbye: {0}")]
    Goodbye(String),
    /// This side closed the link.
    #[error("closed locally")]
    LocalClose,
    /// The peer sent a frame longer than the limit.
    #[error("the peer sent a frame larger than {max} bytes")]
    FrameTooLarge {
        /// The configured maximum.
        max: usize,
    },
    /// The peer sent a frame that does not decode.
    #[error("the peer sent a malformed frame: {0}")]
    Malformed(String),
    /// Nothing arrived from the peer for too long.
    #[error("nothing received from the peer for {after:?}")]
    KeepaliveTimeout {
        /// How long the link waited.
        after: Duration,
    },
    /// Reading or writing failed.
    #[error("I/O error ({kind:?}): {text}")]
    Io {
        /// The error's kind.
        kind: io::ErrorKind,
        /// The error's message.
        text: String,
    },
}

impl DownReason {
    pub(crate) fn io(e: &io::Error) -> Self {
        DownReason::Io { kind: e.kind(), text: e.to_string() }
    }
}

/// TLS settings that cannot serve: unreadable PEM, or what a side needs
/// is missing.
///
/// ```
/// use dispatchio_net::{Tls, TlsError};
/// let err = Tls::new().trust_pem(b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n").unwrap_err();
/// assert!(matches!(err, TlsError::Pem { what: "the roots", .. }), "{err}");
/// let none = Tls::new().pin_pem(b"").unwrap_err();
/// assert_eq!(none.to_string(), "no certificate in the PEM text of the pinned certificate");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// PEM text did not parse.
    #[error("cannot read {what} from PEM: {detail}")]
    Pem {
        /// What was being read (`"the certificate chain"`, …).
        what: &'static str,
        /// The parser's message.
        detail: String,
    },
    /// PEM text held no certificate where at least one is needed.
    #[error("no certificate in the PEM text of {what}")]
    NoCertificate {
        /// Which certificates (`"the certificate chain"`, `"the roots"`, …).
        what: &'static str,
    },
    /// A `tls:` listener has no certificate to present.
    #[error("a tls: listener needs a certificate and key: set Tls::identity_pem")]
    NoIdentity,
    /// A `tls:` dialler has nothing to check the listener's certificate against.
    #[error(
        "a tls: dialler needs roots to trust (Tls::trust_pem) or a pinned certificate (Tls::pin_pem)"
    )]
    NoTrust,
    /// Client certificates are required but no roots say which to accept.
    #[error(
        "Tls::require_client_certs needs the roots client certificates chain to (Tls::trust_pem)"
    )]
    ClientCertsNeedRoots,
    /// The host of the address is not a valid DNS name or IP address for TLS.
    #[error("{host:?} is not a host name TLS can verify")]
    BadServerName {
        /// The host.
        host: String,
    },
    /// rustls refused the settings (a key that does not fit the
    /// certificate, a certificate it cannot use).
    #[error("the TLS settings are refused: {detail}")]
    Refused {
        /// rustls's message.
        detail: String,
    },
}

/// Why a TLS handshake failed, as seen by the side that reports it
/// ([`HandshakeError::Tls`]).
///
/// ```
/// # use std::sync::Arc;
/// # use dispatchio_net::{self as net, Address, Link, LinkEvents, NetConfig, Payload};
/// # struct Quiet;
/// # impl LinkEvents for Quiet { async fn received(&self, _: &Link, _: Payload) {} }
/// # fn socket(name: &str) -> Address {
/// #     let path = std::env::temp_dir().join(format!("dispatchio-doc-{}-{name}.sock", std::process::id()));
/// #     format!("unix:{}", path.display()).parse().unwrap()
/// # }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use dispatchio_net::{HandshakeError, NetError, Tls, TlsFailure};
/// let cert = |name: &str| rcgen::generate_simple_self_signed([name.to_owned()]).map(|c| (c.cert.pem(), c.key_pair.serialize_pem()));
/// let (billing, key) = cert("billing.internal")?;
/// let (stranger, _) = cert("stranger.internal")?;
/// let server = NetConfig::new("billing").secret("s").tls(Tls::new().identity_pem(billing.as_bytes(), key.as_bytes())?);
/// let listening = net::listen(&"tls:localhost:0".parse()?, &server, Arc::new(Quiet)).await?;
/// // A dialler that pinned another certificate refuses this listener.
/// let pinned_other = NetConfig::new("web").secret("s").tls(Tls::new().pin_pem(stranger.as_bytes())?);
/// let err = net::connect(listening.local_addr(), &pinned_other, Arc::new(Quiet)).await.unwrap_err();
/// let NetError::Handshake { source: HandshakeError::Tls { kind, .. }, .. } = &err else { panic!("{err}") };
/// assert_eq!(*kind, TlsFailure::NotPinned);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsFailure {
    /// The peer's certificate does not chain to a trusted root.
    UnknownIssuer,
    /// The listener's certificate does not name the host dialled.
    WrongName,
    /// The peer's certificate has expired.
    Expired,
    /// The peer's certificate is not valid yet.
    NotYetValid,
    /// The listener's certificate is not the pinned one.
    NotPinned,
    /// The listener requires a client certificate and none was presented.
    NoClientCertificate,
    /// The peer refused the handshake or our certificate (a TLS alert;
    /// its own side of the story has the reason).
    RefusedByPeer,
    /// The peer does not speak TLS (or its bytes are not TLS records).
    NotTls,
    /// The peer speaks TLS where plaintext was expected: a `tls:` listener
    /// dialled at a `tcp:` address, or a `tls:` dialler at a `tcp:`
    /// listener.
    UnexpectedTls,
    /// Anything else; the error's text tells.
    Other,
}

impl fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TlsFailure::UnknownIssuer => "the peer's certificate is not signed by a trusted root",
            TlsFailure::WrongName => "the listener's certificate does not name the host dialled",
            TlsFailure::Expired => "the peer's certificate has expired",
            TlsFailure::NotYetValid => "the peer's certificate is not valid yet",
            TlsFailure::NotPinned => "the listener's certificate is not the pinned one",
            TlsFailure::NoClientCertificate => "the listener requires a client certificate",
            TlsFailure::RefusedByPeer => "the peer refused the TLS handshake",
            TlsFailure::NotTls => "the peer does not speak TLS",
            TlsFailure::UnexpectedTls => {
                "the peer speaks TLS where plaintext was expected (tls: on one side, tcp: on the other)"
            }
            TlsFailure::Other => "TLS failed",
        })
    }
}
