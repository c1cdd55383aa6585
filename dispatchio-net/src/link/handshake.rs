//! The handshake, from either side: `Hello` out or in; a `Challenge` and
//! its `Proof` when the listener requires the shared secret; `Welcome` or
//! `Refused` back (see the wire's handshake module for the scheme).

use futures::{SinkExt, StreamExt};

use super::Conn;
use crate::NetConfig;
use crate::error::HandshakeError;
use crate::tls;
use crate::wire::{
    self, Challenge, Handshake, Hello, Nonce, PROTOCOL_VERSION, Proof, RefusalReason, Refused,
    Welcome,
};

async fn read_handshake(conn: &mut Conn) -> Result<Handshake, HandshakeError> {
    match conn.next().await {
        None => Err(HandshakeError::Closed),
        // The codec refuses a TLS record's header as a frame too long;
        // its bytes are still buffered, and say what happened.
        Some(Err(_)) if tls::looks_like_tls(conn.read_buffer()) => Err(tls::unexpected_tls()),
        Some(Err(e)) => Err(tls::handshake_io_error(e)),
        Some(Ok(bytes)) => wire::decode_handshake(&bytes).map_err(HandshakeError::Malformed),
    }
}

async fn write_handshake(conn: &mut Conn, h: &Handshake) -> Result<(), HandshakeError> {
    let bytes = wire::encode_handshake(h).map_err(HandshakeError::Malformed)?;
    conn.send(bytes).await.map_err(tls::handshake_io_error)
}

fn fresh_nonce() -> Result<Nonce, HandshakeError> {
    Nonce::fresh().map_err(|_| HandshakeError::NoRandomness)
}

fn unexpected(expected: &'static str, got: &Handshake) -> HandshakeError {
    HandshakeError::Unexpected { expected, got: got.name().into() }
}

fn mismatch(theirs: u32) -> HandshakeError {
    HandshakeError::VersionMismatch { ours: PROTOCOL_VERSION, theirs }
}

/// A refusal or a version mismatch told by the listener.
fn refused(r: Refused) -> HandshakeError {
    match r.reason {
        RefusalReason::VersionMismatch { listener_version } => mismatch(listener_version),
        reason => HandshakeError::Refused { reason, text: r.text },
    }
}

/// Dialler side: Hello out; a Welcome, or a Challenge answered with our
/// Proof and then a Welcome that proves the listener's knowledge of the
/// secret. Returns the listener's name.
pub(super) async fn dial_handshake(
    conn: &mut Conn,
    config: &NetConfig,
) -> Result<String, HandshakeError> {
    let hello = Hello {
        version: PROTOCOL_VERSION,
        peer_name: config.peer_name.clone(),
        nonce: fresh_nonce()?,
    };
    write_handshake(conn, &Handshake::Hello(hello.clone())).await?;
    let challenge = match read_handshake(conn).await? {
        Handshake::Challenge(c) if c.version != PROTOCOL_VERSION => {
            return Err(mismatch(c.version));
        }
        Handshake::Challenge(c) => c,
        Handshake::Welcome(w) if w.version != PROTOCOL_VERSION => return Err(mismatch(w.version)),
        // A listener that asks for no proof cannot give one: a dialler
        // that holds a secret does not trust it (it could be anyone's).
        Handshake::Welcome(w) if config.secret.is_some() => {
            return Err(HandshakeError::ListenerHasNoSecret { peer_name: w.peer_name });
        }
        Handshake::Welcome(w) => return Ok(w.peer_name),
        Handshake::Refused(r) => return Err(refused(r)),
        other => return Err(unexpected("Challenge, Welcome or Refused", &other)),
    };
    if !challenge.nonce.is_valid() {
        return Err(HandshakeError::BadNonce { len: challenge.nonce.as_bytes().len() });
    }
    let proof = match &config.secret {
        Some(secret) => Proof::of_dialler(secret, &hello, &challenge),
        None => Proof { mac: None },
    };
    write_handshake(conn, &Handshake::Proof(proof)).await?;
    match read_handshake(conn).await? {
        Handshake::Welcome(w) => match &config.secret {
            Some(secret) if !w.proves(secret, &hello, &challenge) => {
                Err(HandshakeError::ListenerBadSecret { peer_name: challenge.peer_name })
            }
            // The name the proof covers, not the Welcome's copy of it.
            _ => Ok(challenge.peer_name),
        },
        Handshake::Refused(r) => Err(refused(r)),
        other => Err(unexpected("Welcome or Refused", &other)),
    }
}

/// Listener side: Hello in; checks the version; without a secret, Welcome
/// at once; with one, a Challenge, the dialler's Proof checked, and a
/// Welcome carrying our own proof. Returns the dialler's name.
pub(super) async fn accept_handshake(
    conn: &mut Conn,
    config: &NetConfig,
) -> Result<String, HandshakeError> {
    let hello =
        read_expected(conn, "Hello", "the first frame must be a valid Hello", |h| match h {
            Handshake::Hello(hello) => Ok(hello),
            other => Err(other),
        })
        .await?;
    // The version first: a Hello of version 1 has no nonce, and must hear
    // that its version differs, not that its nonce is missing.
    if hello.version != PROTOCOL_VERSION {
        let text = format!(
            "this listener speaks protocol version {PROTOCOL_VERSION}, you speak {}",
            hello.version
        );
        let reason = RefusalReason::VersionMismatch { listener_version: PROTOCOL_VERSION };
        refuse(conn, reason, &text).await;
        return Err(mismatch(hello.version));
    }
    if !hello.nonce.is_valid() {
        refuse(conn, RefusalReason::Protocol, "the Hello's nonce must be 32 bytes").await;
        return Err(HandshakeError::BadNonce { len: hello.nonce.as_bytes().len() });
    }
    let Some(secret) = &config.secret else {
        let welcome =
            Welcome { version: PROTOCOL_VERSION, peer_name: config.peer_name.clone(), mac: None };
        write_handshake(conn, &Handshake::Welcome(welcome)).await?;
        return Ok(hello.peer_name);
    };
    let challenge = Challenge {
        version: PROTOCOL_VERSION,
        peer_name: config.peer_name.clone(),
        nonce: fresh_nonce()?,
    };
    write_handshake(conn, &Handshake::Challenge(challenge.clone())).await?;
    let answer = "the answer to a Challenge must be a valid Proof";
    let proof = read_expected(conn, "Proof", answer, |h| match h {
        Handshake::Proof(proof) => Ok(proof),
        other => Err(other),
    })
    .await?;
    if proof.mac.is_none() {
        refuse(conn, RefusalReason::MissingSecret, "a shared secret is required").await;
        return Err(HandshakeError::MissingSecret { peer_name: hello.peer_name });
    }
    if !proof.is_valid(secret, &hello, &challenge) {
        refuse(conn, RefusalReason::BadSecret, "wrong shared secret").await;
        return Err(HandshakeError::BadSecret { peer_name: hello.peer_name });
    }
    let welcome = Welcome {
        version: PROTOCOL_VERSION,
        peer_name: config.peer_name.clone(),
        mac: Some(Welcome::listener_mac(secret, &hello, &challenge)),
    };
    write_handshake(conn, &Handshake::Welcome(welcome)).await?;
    Ok(hello.peer_name)
}

/// Listener side: reads the frame `pick` takes; any other frame, or one
/// that does not decode, is refused as [`RefusalReason::Protocol`] with
/// `refusal` as its text.
async fn read_expected<T>(
    conn: &mut Conn,
    expected: &'static str,
    refusal: &str,
    pick: impl FnOnce(Handshake) -> Result<T, Handshake>,
) -> Result<T, HandshakeError> {
    let error = match read_handshake(conn).await.map(pick) {
        Ok(Ok(frame)) => return Ok(frame),
        Ok(Err(other)) => unexpected(expected, &other),
        Err(e @ HandshakeError::Malformed(_)) => e,
        Err(e) => return Err(e),
    };
    refuse(conn, RefusalReason::Protocol, refusal).await;
    Err(error)
}

/// Tells the peer why it is refused. Best effort: the connection is closed
/// right after, whether or not the peer reads this.
async fn refuse(conn: &mut Conn, reason: RefusalReason, text: &str) {
    let refused = Handshake::Refused(Refused { reason, text: text.to_owned() });
    let _ = write_handshake(conn, &refused).await;
}
