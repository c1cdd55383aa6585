//! The seed corpora of the wire's fuzz targets (`fuzz/seeds/frames` and
//! `fuzz/seeds/handshake`, see docs/robustness.md): what a peer sends,
//! written by this version of the wire.
//!
//! The seeds are committed so that a fresh clone can fuzz at once, and this
//! test keeps them what this crate writes: when the wire changes it fails,
//! and `DISPATCHIO_WRITE_FUZZ_SEEDS=1 cargo test -p dispatchio-net
//! fuzz_seeds` writes them anew.

use std::path::{Path, PathBuf};

use crate::wire::{
    Announcement, Challenge, Frame, Handshake, Hello, NONCE_LEN, Nonce, PROTOCOL_VERSION, Proof,
    RefusalReason, Refused, RemoteError, RemoteErrorKind, ReplyResult, Welcome, WireContent,
    WireId, WireMessage, WireReply, encode_frame,
};

/// The secret the fuzz targets' listener requires.
const SECRET: &str = "fuzz-secret";

/// A message to the fuzz targets' listener `echo` (or its group `players`).
fn message(id: u64, to: Option<WireId>, group: Option<WireId>, request: bool) -> Frame {
    #[derive(serde::Serialize)]
    struct Card {
        card: i64,
        suit: &'static str,
    }
    Frame::Message(WireMessage {
        type_name: "Card".into(),
        id,
        source: Some(WireId::Str("fuzzer".into())),
        dest: to,
        group,
        response_required: request,
        is_response: false,
        sync: false,
        blocking: id % 2 == 0,
        seq: id,
        content: Some(WireContent::encode("Card", &Card { card: 7, suit: "hearts" }).unwrap()),
    })
}

fn echo() -> Option<WireId> {
    Some(WireId::Str("echo".into()))
}

/// Frames as a peer writes them after the handshake: each a 4-byte
/// big-endian length, then the body.
fn framed(frames: &[Frame]) -> Vec<u8> {
    let mut out = Vec::new();
    for frame in frames {
        out.extend(prefixed(&encode_frame(frame).unwrap()));
    }
    out
}

fn handshake(h: &Handshake) -> Vec<u8> {
    prefixed(&h.encode().unwrap())
}

/// A 4-byte big-endian length, then `body`.
fn prefixed(body: &[u8]) -> Vec<u8> {
    let mut out = u32::try_from(body.len()).unwrap().to_be_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

fn frame_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let announce = Frame::Announce(vec![
        Announcement::Serve(WireId::Str("elsewhere".into())),
        Announcement::Subscribe(WireId::Str("players".into())),
        Announcement::Withdraw(WireId::Int(3)),
        Announcement::Unsubscribe(WireId::Str("players".into())),
    ]);
    let reply = |to, result| Frame::Reply(WireReply { to, result });
    let error = RemoteError { kind: RemoteErrorKind::Handler, text: "handler\nno".into() };
    vec![
        ("send", framed(&[message(1, echo(), None, false)])),
        ("request", framed(&[message(2, echo(), None, true)])),
        ("request_to_nobody", framed(&[message(3, Some(WireId::Int(404)), None, true)])),
        ("group_send", framed(&[message(4, None, Some(WireId::Str("players".into())), false)])),
        ("group_request", framed(&[message(5, None, Some(WireId::Str("players".into())), true)])),
        ("announce", framed(std::slice::from_ref(&announce))),
        ("replies", framed(&[reply(9, ReplyResult::Ok(None)), reply(10, ReplyResult::Err(error))])),
        ("ping_pong", framed(&[Frame::Ping(7), Frame::Pong(7)])),
        ("goodbye", framed(&[Frame::Goodbye("done".into())])),
        (
            "mixed",
            framed(&[
                announce,
                message(6, echo(), None, true),
                message(7, echo(), None, false),
                Frame::Ping(1),
                message(8, None, Some(WireId::Str("players".into())), true),
                Frame::Goodbye("done".into()),
            ]),
        ),
    ]
}

fn handshake_seeds() -> Vec<(&'static str, Vec<u8>)> {
    // Fixed nonces: a seed is the same bytes on every run. The listener's
    // nonce is fresh, so no seed's proof is right: they reach the refusals.
    let hello = |version, nonce: &[u8]| {
        Handshake::Hello(Hello {
            version,
            peer_name: "fuzzer".into(),
            nonce: Nonce::from_bytes(nonce.to_vec()),
        })
    };
    let nonce = [7; NONCE_LEN];
    let proof =
        |mac: Option<&[u8]>| Handshake::Proof(Proof { mac: mac.map(|m| m.to_vec().into()) });
    let refused = |reason| Handshake::Refused(Refused { reason, text: "no".into() });
    let welcome = Handshake::Welcome(Welcome {
        version: PROTOCOL_VERSION,
        peer_name: "fuzz".into(),
        mac: Some(vec![1; 32].into()),
    });
    let challenge = Handshake::Challenge(Challenge {
        version: PROTOCOL_VERSION,
        peer_name: "fuzz".into(),
        nonce: Nonce::from_bytes(vec![9; NONCE_LEN]),
    });
    /// The `Hello` of protocol version 1, which sent the secret itself.
    #[derive(serde::Serialize)]
    enum V1 {
        Hello { version: u32, peer_name: &'static str, secret: Option<&'static str> },
    }
    let v1 =
        rmp_serde::to_vec_named(&V1::Hello { version: 1, peer_name: "old", secret: Some(SECRET) })
            .unwrap();
    let then = |first: Vec<u8>, rest: Vec<u8>| [first, rest].concat();
    vec![
        ("hello", handshake(&hello(PROTOCOL_VERSION, &nonce))),
        (
            "hello_then_proof",
            then(handshake(&hello(PROTOCOL_VERSION, &nonce)), handshake(&proof(Some(&[3; 32])))),
        ),
        (
            "hello_proof_request",
            then(
                then(
                    handshake(&hello(PROTOCOL_VERSION, &nonce)),
                    handshake(&proof(Some(&[3; 32]))),
                ),
                framed(&[message(1, echo(), None, true)]),
            ),
        ),
        (
            "hello_then_no_proof",
            then(handshake(&hello(PROTOCOL_VERSION, &nonce)), handshake(&proof(None))),
        ),
        ("hello_short_nonce", handshake(&hello(PROTOCOL_VERSION, &[1, 2, 3]))),
        ("hello_other_version", handshake(&hello(PROTOCOL_VERSION + 1, &nonce))),
        ("hello_version_1", prefixed(&v1)),
        ("challenge", handshake(&challenge)),
        ("welcome", handshake(&welcome)),
        ("refused_secret", handshake(&refused(RefusalReason::BadSecret))),
        (
            "refused_version",
            handshake(&refused(RefusalReason::VersionMismatch { listener_version: 0 })),
        ),
    ]
}

fn seeds_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds").join(target)
}

/// Writes the seeds when asked to, and otherwise checks that the committed
/// ones are exactly what this version writes.
fn keep(target: &str, seeds: Vec<(&'static str, Vec<u8>)>) {
    let dir = seeds_dir(target);
    let write = std::env::var_os("DISPATCHIO_WRITE_FUZZ_SEEDS").is_some();
    if write {
        std::fs::create_dir_all(&dir).unwrap();
    }
    for (name, bytes) in seeds {
        let path = dir.join(name);
        if write {
            std::fs::write(&path, &bytes).unwrap();
            continue;
        }
        let committed = std::fs::read(&path).unwrap_or_else(|e| {
            panic!("{}: {e}; write the seeds with DISPATCHIO_WRITE_FUZZ_SEEDS=1", path.display())
        });
        assert!(
            committed == bytes,
            "{} is not what this wire writes; write the seeds anew with DISPATCHIO_WRITE_FUZZ_SEEDS=1",
            path.display()
        );
    }
}

#[test]
fn fuzz_seeds_of_the_frame_reader_are_what_this_wire_writes() {
    keep("frames", frame_seeds());
}

#[test]
fn fuzz_seeds_of_the_handshake_are_what_this_wire_writes() {
    keep("handshake", handshake_seeds());
}
