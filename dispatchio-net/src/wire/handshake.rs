//! The handshake phase of a connection: [`Hello`], then [`Welcome`] or
//! [`Refused`], written with field names in a shape frozen across
//! protocol versions.

use super::{MAX_FRAME_DEPTH, Secret, WireError, decode_exact};
use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// The handshake phase of a connection (written with field names; see the
/// module documentation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Handshake {
    /// Dialler → listener: who I am and what I speak.
    Hello(Hello),
    /// Listener → dialler: accepted.
    Welcome(Welcome),
    /// Listener → dialler: refused; the listener closes after sending it.
    Refused(Refused),
}

/// The first frame of a connection, sent by the dialling side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    /// The dialler's [`PROTOCOL_VERSION`](crate::PROTOCOL_VERSION).
    pub version: u32,
    /// A human-readable name of the dialling dispatcher (for logs and events).
    pub peer_name: String,
    /// The shared secret, when the dialler was configured with one.
    #[serde(default)]
    pub secret: Option<Secret>,
}

/// The listener's acceptance of a [`Hello`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    /// The listener's [`PROTOCOL_VERSION`](crate::PROTOCOL_VERSION).
    pub version: u32,
    /// The listening dispatcher's name.
    pub peer_name: String,
}

/// The listener's refusal of a [`Hello`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refused {
    /// Why, as a machine-readable reason.
    pub reason: RefusalReason,
    /// Why, in words, for the dialler's error message.
    pub text: String,
}

/// Machine-readable reasons for a [`Refused`] handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RefusalReason {
    /// The protocol versions differ; carries the listener's version.
    VersionMismatch {
        /// The refusing listener's [`PROTOCOL_VERSION`](crate::PROTOCOL_VERSION).
        listener_version: u32,
    },
    /// The listener requires a shared secret and none was presented.
    MissingSecret,
    /// The presented secret is wrong.
    BadSecret,
    /// The first frame was not a well-formed [`Hello`].
    Protocol,
}

impl Handshake {
    /// Encodes this handshake frame's body (without the length prefix).
    ///
    /// # Errors
    /// [`WireError::Encode`] (not expected for these plain types).
    pub fn encode(&self) -> Result<Bytes, WireError> {
        rmp_serde::to_vec_named(self)
            .map(Bytes::from)
            .map_err(|e| WireError::Encode { what: "handshake", source: Box::new(e) })
    }

    /// Decodes a handshake frame's body.
    ///
    /// # Errors
    /// [`WireError::Decode`] or [`WireError::TrailingBytes`] for bytes that
    /// are not exactly one handshake frame.
    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        decode_exact(bytes, "handshake", MAX_FRAME_DEPTH)
    }
}

pub(crate) fn encode_handshake(h: &Handshake) -> Result<Bytes, WireError> {
    h.encode()
}

pub(crate) fn decode_handshake(bytes: &[u8]) -> Result<Handshake, WireError> {
    Handshake::decode(bytes)
}
