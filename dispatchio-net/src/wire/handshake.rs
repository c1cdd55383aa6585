//! The handshake phase of a connection: [`Hello`], then [`Challenge`] and
//! [`Proof`] when the listener requires the shared secret, then
//! [`Welcome`] or [`Refused`], written with field names in a shape frozen
//! across protocol versions.
//!
//! # Challenge-response
//!
//! The secret never crosses the wire. Each side sends a fresh random
//! [`Nonce`]: the dialler in its `Hello`, the listener in its
//! `Challenge`. The dialler answers with a [`Proof`], an HMAC-SHA256 keyed
//! by the secret over both nonces, both names and the version; the
//! listener checks it (in constant time) and, in its `Welcome`, proves in
//! turn that it knows the secret too, with an HMAC over the same
//! transcript under another label. A recorded handshake replayed later
//! meets a fresh listener nonce, so its proof is wrong and it is refused;
//! a fake listener learns no secret, and a dialler that has a secret
//! refuses a listener that cannot prove it knows it.

use std::fmt;

use super::{MAX_FRAME_DEPTH, Secret, WireError, decode_exact};
use bytes::Bytes;
use ring::hmac;
use serde::{Deserialize, Serialize};

/// The handshake phase of a connection (written with field names; see the
/// module documentation).
///
/// ```
/// use dispatchio_net::{Handshake, Hello, Nonce, PROTOCOL_VERSION};
/// let hello = Handshake::Hello(Hello { version: PROTOCOL_VERSION, peer_name: "web".into(), nonce: Nonce::fresh()? });
/// let bytes = hello.encode()?; // the body of the connection's first frame
/// assert_eq!(Handshake::decode(&bytes)?, hello);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Handshake {
    /// Dialler → listener: who I am, what I speak, and my nonce.
    Hello(Hello),
    /// Listener → dialler: accepted.
    Welcome(Welcome),
    /// Listener → dialler: refused; the listener closes after sending it.
    Refused(Refused),
    /// Listener → dialler: prove that you know the shared secret.
    Challenge(Challenge),
    /// Dialler → listener: the answer to a [`Challenge`].
    Proof(Proof),
}

/// The length of a [`Nonce`] in bytes.
pub const NONCE_LEN: usize = 32;

/// A random number used once, so that no two handshakes have the same
/// transcript. Its `Debug` form is hex.
///
/// ```
/// use dispatchio_net::{NONCE_LEN, Nonce};
/// let (a, b) = (Nonce::fresh()?, Nonce::fresh()?);
/// assert_ne!(a, b); // fresh each handshake: a recorded one cannot be replayed
/// assert_eq!(a.as_bytes().len(), NONCE_LEN);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Nonce(Bytes);

impl Nonce {
    /// A fresh nonce of [`NONCE_LEN`] bytes from the operating system's
    /// random source.
    ///
    /// # Errors
    /// [`WireError::Random`] when the system's random source fails.
    ///
    /// ```
    /// let nonce = dispatchio_net::Nonce::fresh()?;
    /// assert!(nonce.is_valid());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn fresh() -> Result<Self, WireError> {
        use ring::rand::SecureRandom;
        let mut bytes = [0; NONCE_LEN];
        ring::rand::SystemRandom::new().fill(&mut bytes).map_err(|_| WireError::Random)?;
        Ok(Nonce(Bytes::copy_from_slice(&bytes)))
    }

    /// A nonce of these bytes (tests and fuzz seeds; a real handshake uses
    /// [`fresh`](Self::fresh)).
    ///
    /// ```
    /// use dispatchio_net::Nonce;
    /// let nonce = Nonce::from_bytes(vec![7u8; 32]);
    /// assert_eq!(nonce.as_bytes(), [7u8; 32]);
    /// ```
    pub fn from_bytes(bytes: impl Into<Bytes>) -> Self {
        Nonce(bytes.into())
    }

    /// The bytes.
    ///
    /// ```
    /// assert_eq!(dispatchio_net::Nonce::from_bytes(&b"abc"[..]).as_bytes(), b"abc");
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Whether this has the length a handshake requires ([`NONCE_LEN`]):
    /// a missing or short nonce would make transcripts repeat.
    ///
    /// ```
    /// use dispatchio_net::Nonce;
    /// assert!(Nonce::from_bytes(vec![0u8; 32]).is_valid());
    /// assert!(!Nonce::from_bytes(vec![0u8; 8]).is_valid()); // a handshake refuses it
    /// ```
    pub fn is_valid(&self) -> bool {
        self.0.len() == NONCE_LEN
    }
}

impl fmt::Debug for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Nonce(")?;
        for b in self.0.iter() {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

/// The first frame of a connection, sent by the dialling side.
///
/// ```
/// use dispatchio_net::{Handshake, Hello, Nonce, PROTOCOL_VERSION};
/// let hello = Hello { version: PROTOCOL_VERSION, peer_name: "web".into(), nonce: Nonce::fresh()? };
/// assert_eq!(Handshake::Hello(hello).name(), "Hello");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    /// The dialler's [`PROTOCOL_VERSION`](crate::PROTOCOL_VERSION).
    pub version: u32,
    /// A human-readable name of the dialling dispatcher (for logs and events).
    pub peer_name: String,
    /// The dialler's fresh nonce. Defaulted (empty) when absent, so that a
    /// `Hello` of version 1, which had none, still decodes and is refused
    /// for its version.
    #[serde(default)]
    pub nonce: Nonce,
}

/// The listener's challenge: its name and its own fresh nonce.
///
/// ```
/// use dispatchio_net::{Challenge, Hello, Nonce, PROTOCOL_VERSION, Proof, Secret, Welcome};
/// let secret = Secret::new("a long random string");
/// let hello = Hello { version: PROTOCOL_VERSION, peer_name: "web".into(), nonce: Nonce::fresh()? };
/// let challenge = Challenge { version: PROTOCOL_VERSION, peer_name: "billing".into(), nonce: Nonce::fresh()? };
/// // A listener with a secret answers a `Hello` with its own nonce; the dialler proves.
/// let proof = Proof::of_dialler(&secret, &hello, &challenge);
/// assert!(proof.is_valid(&secret, &hello, &challenge));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    /// The listener's [`PROTOCOL_VERSION`](crate::PROTOCOL_VERSION).
    pub version: u32,
    /// The listening dispatcher's name.
    pub peer_name: String,
    /// The listener's fresh nonce.
    pub nonce: Nonce,
}

/// The dialler's answer to a [`Challenge`].
///
/// ```
/// use dispatchio_net::{Challenge, Hello, Nonce, PROTOCOL_VERSION, Proof, Secret, Welcome};
/// let secret = Secret::new("a long random string");
/// let hello = Hello { version: PROTOCOL_VERSION, peer_name: "web".into(), nonce: Nonce::fresh()? };
/// let challenge = Challenge { version: PROTOCOL_VERSION, peer_name: "billing".into(), nonce: Nonce::fresh()? };
/// let proof = Proof::of_dialler(&secret, &hello, &challenge);
/// assert!(proof.is_valid(&secret, &hello, &challenge));
/// assert!(!proof.is_valid(&Secret::new("a guess"), &hello, &challenge));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proof {
    /// The HMAC proving knowledge of the secret, or `None` when the dialler
    /// has no secret (the listener then refuses it as
    /// [`RefusalReason::MissingSecret`]).
    #[serde(default)]
    pub mac: Option<Bytes>,
}

impl fmt::Debug for Proof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mac = self.mac.as_ref().map(|m| format!("<{} bytes>", m.len()));
        f.debug_struct("Proof").field("mac", &mac).finish()
    }
}

/// The listener's acceptance.
///
/// ```
/// use dispatchio_net::{Challenge, Hello, Nonce, PROTOCOL_VERSION, Proof, Secret, Welcome};
/// let secret = Secret::new("a long random string");
/// let hello = Hello { version: PROTOCOL_VERSION, peer_name: "web".into(), nonce: Nonce::fresh()? };
/// let challenge = Challenge { version: PROTOCOL_VERSION, peer_name: "billing".into(), nonce: Nonce::fresh()? };
/// let welcome = Welcome { version: PROTOCOL_VERSION, peer_name: "billing".into(), mac: Some(Welcome::listener_mac(&secret, &hello, &challenge)) };
/// assert!(welcome.proves(&secret, &hello, &challenge)); // the listener knows it too
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    /// The listener's [`PROTOCOL_VERSION`](crate::PROTOCOL_VERSION).
    pub version: u32,
    /// The listening dispatcher's name.
    pub peer_name: String,
    /// After a [`Challenge`], the listener's proof that it knows the
    /// secret too; `None` from a listener that requires no secret.
    #[serde(default)]
    pub mac: Option<Bytes>,
}

/// The listener's refusal.
///
/// ```
/// use dispatchio_net::{Handshake, RefusalReason, Refused};
/// let refused = Handshake::Refused(Refused { reason: RefusalReason::BadSecret, text: "wrong shared secret".into() });
/// let Handshake::Refused(back) = Handshake::decode(&refused.encode()?)? else { panic!("a refusal") };
/// assert_eq!(back.reason, RefusalReason::BadSecret);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refused {
    /// Why, as a machine-readable reason.
    pub reason: RefusalReason,
    /// Why, in words, for the dialler's error message.
    pub text: String,
}

/// Machine-readable reasons for a [`Refused`] handshake.
///
/// ```
/// use dispatchio_net::{HandshakeError, RefusalReason};
/// // What a dialler makes of a refusal: `NetError::Handshake` around this.
/// let err = HandshakeError::Refused { reason: RefusalReason::MissingSecret, text: "a secret is required".into() };
/// assert!(err.to_string().contains("MissingSecret"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RefusalReason {
    /// The protocol versions differ; carries the listener's version.
    VersionMismatch {
        /// The refusing listener's [`PROTOCOL_VERSION`](crate::PROTOCOL_VERSION).
        listener_version: u32,
    },
    /// The listener requires a shared secret and none was presented.
    MissingSecret,
    /// The proof of the secret is wrong (a wrong secret, or a replayed
    /// handshake).
    BadSecret,
    /// A frame was not the well-formed handshake frame expected.
    Protocol,
}

/// Which side a MAC proves: each side's proof has its own label, so that
/// neither can be reflected back as the other's.
#[derive(Debug, Clone, Copy)]
enum Side {
    Dialler,
    Listener,
}

/// The HMAC-SHA256 of one side over the handshake's transcript: the
/// version, both names and both nonces, each length-prefixed so that no
/// two transcripts run together alike.
///
/// `ring` computes it: rustls already uses it as its crypto provider here,
/// so the handshake adds no second SHA-256 implementation.
fn mac(secret: &Secret, side: Side, hello: &Hello, challenge: &Challenge) -> hmac::Tag {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let mut ctx = hmac::Context::with_key(&key);
    let label: &[u8] = match side {
        Side::Dialler => b"dispatchio handshake: dialler",
        Side::Listener => b"dispatchio handshake: listener",
    };
    let version = challenge.version.to_be_bytes();
    for part in [
        label,
        &version,
        hello.peer_name.as_bytes(),
        hello.nonce.as_bytes(),
        challenge.peer_name.as_bytes(),
        challenge.nonce.as_bytes(),
    ] {
        ctx.update(&(part.len() as u64).to_be_bytes());
        ctx.update(part);
    }
    ctx.sign()
}

fn verify(secret: &Secret, side: Side, hello: &Hello, challenge: &Challenge, given: &[u8]) -> bool {
    // `subtle`: the comparison takes the same time wherever the two first
    // differ (only the length, public anyway, is checked first).
    use subtle::ConstantTimeEq;
    let expected = mac(secret, side, hello, challenge);
    expected.as_ref().ct_eq(given).into()
}

impl Proof {
    /// The dialler's proof that it knows `secret`, for this `hello` and the
    /// listener's `challenge` (the link computes it; public for tools that
    /// speak the handshake by hand, as the fuzz targets do).
    ///
    /// ```
    /// use dispatchio_net::{Challenge, Hello, Nonce, PROTOCOL_VERSION, Proof, Secret, Welcome};
    /// let secret = Secret::new("a long random string");
    /// let hello = Hello { version: PROTOCOL_VERSION, peer_name: "web".into(), nonce: Nonce::fresh()? };
    /// let challenge = Challenge { version: PROTOCOL_VERSION, peer_name: "billing".into(), nonce: Nonce::fresh()? };
    /// let proof = Proof::of_dialler(&secret, &hello, &challenge);
    /// assert!(proof.mac.is_some()); // an HMAC-SHA256: the secret itself never travels
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn of_dialler(secret: &Secret, hello: &Hello, challenge: &Challenge) -> Proof {
        let tag = mac(secret, Side::Dialler, hello, challenge);
        Proof { mac: Some(Bytes::copy_from_slice(tag.as_ref())) }
    }

    /// Whether this proves that the dialler of `hello` knows `secret`.
    ///
    /// ```
    /// use dispatchio_net::{Challenge, Hello, Nonce, PROTOCOL_VERSION, Proof, Secret, Welcome};
    /// let secret = Secret::new("a long random string");
    /// let hello = Hello { version: PROTOCOL_VERSION, peer_name: "web".into(), nonce: Nonce::fresh()? };
    /// let challenge = Challenge { version: PROTOCOL_VERSION, peer_name: "billing".into(), nonce: Nonce::fresh()? };
    /// let proof = Proof::of_dialler(&secret, &hello, &challenge);
    /// let replayed = Challenge { nonce: Nonce::fresh()?, ..challenge.clone() }; // another handshake
    /// assert!(proof.is_valid(&secret, &hello, &challenge));
    /// assert!(!proof.is_valid(&secret, &hello, &replayed));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_valid(&self, secret: &Secret, hello: &Hello, challenge: &Challenge) -> bool {
        self.mac.as_ref().is_some_and(|m| verify(secret, Side::Dialler, hello, challenge, m))
    }
}

impl Welcome {
    /// The listener's proof that it knows `secret`, for this handshake.
    ///
    /// ```
    /// use dispatchio_net::{Challenge, Hello, Nonce, PROTOCOL_VERSION, Proof, Secret, Welcome};
    /// let secret = Secret::new("a long random string");
    /// let hello = Hello { version: PROTOCOL_VERSION, peer_name: "web".into(), nonce: Nonce::fresh()? };
    /// let challenge = Challenge { version: PROTOCOL_VERSION, peer_name: "billing".into(), nonce: Nonce::fresh()? };
    /// let mac = Welcome::listener_mac(&secret, &hello, &challenge);
    /// let dialler = Proof::of_dialler(&secret, &hello, &challenge);
    /// assert_ne!(Some(&mac), dialler.mac.as_ref()); // each side proves with a MAC of its own
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn listener_mac(secret: &Secret, hello: &Hello, challenge: &Challenge) -> Bytes {
        Bytes::copy_from_slice(mac(secret, Side::Listener, hello, challenge).as_ref())
    }

    /// Whether this welcome's MAC proves that the listener knows `secret`.
    ///
    /// ```
    /// use dispatchio_net::{Challenge, Hello, Nonce, PROTOCOL_VERSION, Proof, Secret, Welcome};
    /// let secret = Secret::new("a long random string");
    /// let hello = Hello { version: PROTOCOL_VERSION, peer_name: "web".into(), nonce: Nonce::fresh()? };
    /// let challenge = Challenge { version: PROTOCOL_VERSION, peer_name: "billing".into(), nonce: Nonce::fresh()? };
    /// let without = Welcome { version: PROTOCOL_VERSION, peer_name: "billing".into(), mac: None };
    /// assert!(!without.proves(&secret, &hello, &challenge)); // a listener with no secret proves nothing
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn proves(&self, secret: &Secret, hello: &Hello, challenge: &Challenge) -> bool {
        self.mac.as_ref().is_some_and(|m| verify(secret, Side::Listener, hello, challenge, m))
    }
}

impl Handshake {
    /// Encodes this handshake frame's body (without the length prefix).
    ///
    /// # Errors
    /// [`WireError::Encode`] (not expected for these plain types).
    ///
    /// ```
    /// use dispatchio_net::{Handshake, Proof};
    /// let proof = Handshake::Proof(Proof { mac: None });
    /// assert_eq!(Handshake::decode(&proof.encode()?)?, proof);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
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
    ///
    /// ```
    /// use dispatchio_net::{Handshake, Proof, WireError};
    /// let mut bytes = Handshake::Proof(Proof { mac: None }).encode()?.to_vec();
    /// bytes.push(0xc0); // one byte too many
    /// assert!(matches!(Handshake::decode(&bytes), Err(WireError::TrailingBytes { .. })));
    /// assert!(Handshake::decode(b"GET / HTTP/1.1").is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        decode_exact(bytes, "handshake", MAX_FRAME_DEPTH)
    }

    /// The frame's name, for errors that say what came instead.
    ///
    /// ```
    /// use dispatchio_net::{Handshake, Proof};
    /// assert_eq!(Handshake::Proof(Proof { mac: None }).name(), "Proof");
    /// ```
    pub fn name(&self) -> &'static str {
        match self {
            Handshake::Hello(_) => "Hello",
            Handshake::Welcome(_) => "Welcome",
            Handshake::Refused(_) => "Refused",
            Handshake::Challenge(_) => "Challenge",
            Handshake::Proof(_) => "Proof",
        }
    }
}

pub(crate) fn encode_handshake(h: &Handshake) -> Result<Bytes, WireError> {
    h.encode()
}

pub(crate) fn decode_handshake(bytes: &[u8]) -> Result<Handshake, WireError> {
    Handshake::decode(bytes)
}
