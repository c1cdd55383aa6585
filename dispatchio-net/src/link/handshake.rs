//! The handshake, from either side: `Hello` out or in, `Welcome` or
//! `Refused` back.

use futures::{SinkExt, StreamExt};

use super::Conn;
use crate::NetConfig;
use crate::error::HandshakeError;
use crate::wire::{self, Handshake, Hello, PROTOCOL_VERSION, RefusalReason, Refused, Welcome};

async fn read_handshake(conn: &mut Conn) -> Result<Handshake, HandshakeError> {
    match conn.next().await {
        None => Err(HandshakeError::Closed),
        Some(Err(e)) => Err(HandshakeError::Io(e)),
        Some(Ok(bytes)) => wire::decode_handshake(&bytes).map_err(HandshakeError::Malformed),
    }
}

async fn write_handshake(conn: &mut Conn, h: &Handshake) -> Result<(), HandshakeError> {
    let bytes = wire::encode_handshake(h).map_err(HandshakeError::Malformed)?;
    conn.send(bytes).await.map_err(HandshakeError::Io)
}

/// Dialler side: Hello out, Welcome or Refused back.
pub(super) async fn dial_handshake(
    conn: &mut Conn,
    config: &NetConfig,
) -> Result<String, HandshakeError> {
    let hello = Handshake::Hello(Hello {
        version: PROTOCOL_VERSION,
        peer_name: config.peer_name.clone(),
        secret: config.secret.clone(),
    });
    write_handshake(conn, &hello).await?;
    match read_handshake(conn).await? {
        Handshake::Welcome(w) if w.version == PROTOCOL_VERSION => Ok(w.peer_name),
        Handshake::Welcome(w) => {
            Err(HandshakeError::VersionMismatch { ours: PROTOCOL_VERSION, theirs: w.version })
        }
        Handshake::Refused(Refused {
            reason: RefusalReason::VersionMismatch { listener_version },
            ..
        }) => Err(HandshakeError::VersionMismatch {
            ours: PROTOCOL_VERSION,
            theirs: listener_version,
        }),
        Handshake::Refused(r) => Err(HandshakeError::Refused { reason: r.reason, text: r.text }),
        Handshake::Hello(_) => {
            Err(HandshakeError::Unexpected { expected: "Welcome or Refused", got: "Hello".into() })
        }
    }
}

/// Listener side: Hello in; checks version then secret; Welcome or Refused out.
pub(super) async fn accept_handshake(
    conn: &mut Conn,
    config: &NetConfig,
) -> Result<String, HandshakeError> {
    let hello = match read_handshake(conn).await {
        Ok(Handshake::Hello(h)) => h,
        Ok(other) => {
            let got = match other {
                Handshake::Welcome(_) => "Welcome",
                _ => "Refused",
            };
            refuse(conn, RefusalReason::Protocol, "the first frame must be Hello").await;
            return Err(HandshakeError::Unexpected { expected: "Hello", got: got.into() });
        }
        Err(e @ HandshakeError::Malformed(_)) => {
            refuse(conn, RefusalReason::Protocol, "the first frame is not a valid Hello").await;
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    if hello.version != PROTOCOL_VERSION {
        let text = format!(
            "this listener speaks protocol version {PROTOCOL_VERSION}, you speak {}",
            hello.version
        );
        let reason = RefusalReason::VersionMismatch { listener_version: PROTOCOL_VERSION };
        refuse(conn, reason, &text).await;
        return Err(HandshakeError::VersionMismatch {
            ours: PROTOCOL_VERSION,
            theirs: hello.version,
        });
    }
    if let Some(expected) = &config.secret {
        match &hello.secret {
            None => {
                refuse(conn, RefusalReason::MissingSecret, "a shared secret is required").await;
                return Err(HandshakeError::MissingSecret { peer_name: hello.peer_name });
            }
            Some(given) if !expected.matches(given) => {
                refuse(conn, RefusalReason::BadSecret, "wrong shared secret").await;
                return Err(HandshakeError::BadSecret { peer_name: hello.peer_name });
            }
            Some(_) => {}
        }
    }
    let welcome = Handshake::Welcome(Welcome {
        version: PROTOCOL_VERSION,
        peer_name: config.peer_name.clone(),
    });
    write_handshake(conn, &welcome).await?;
    Ok(hello.peer_name)
}

/// Tells the peer why it is refused. Best effort: the connection is closed
/// right after, whether or not the peer reads this.
async fn refuse(conn: &mut Conn, reason: RefusalReason, text: &str) {
    let refused = Handshake::Refused(Refused { reason, text: text.to_owned() });
    let _ = write_handshake(conn, &refused).await;
}
