//! The wire's tests: round trips, the hand-written encoder and reader
//! against serde, and hostile bytes.

use super::*;
use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use tokio_util::codec::{Decoder, Encoder};

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Order {
    item: String,
    qty: u32,
}

fn sample_message() -> WireMessage {
    WireMessage {
        type_name: "order".into(),
        id: 42,
        source: Some(WireId::Str("shop".into())),
        dest: Some(WireId::Int(-7)),
        group: None,
        response_required: true,
        is_response: false,
        sync: false,
        blocking: true,
        seq: 9,
        content: Some(WireContent::encode("Order", &Order { item: "tea".into(), qty: 3 }).unwrap()),
    }
}

#[test]
fn the_length_of_an_announcement_is_read_from_its_header() {
    for n in [0usize, 1, 15, 16, 65_535, 65_536, 70_000] {
        let frame = Frame::Announce(vec![Announcement::Serve(WireId::Int(1)); n]);
        let bytes = encode_frame(&frame).unwrap();
        assert_eq!(announce_len(&bytes), Some(n), "{n} announcements");
    }
    for frame in sample_frames().into_iter().filter(|f| !matches!(f, Frame::Announce(_))) {
        assert_eq!(announce_len(&encode_frame(&frame).unwrap()), None, "{frame:?}");
    }
    // A header claiming more than the frame holds is still read as a
    // count: it is refused for its count, never decoded.
    assert_eq!(announce_len(b"\x81\xa8Announce\xdd\x00\x0f\x42\x40\x81"), Some(1_000_000));
    assert_eq!(announce_len(b"\x81\xa8Announce\xdd\x00"), None);
}

fn sample_frames() -> Vec<Frame> {
    vec![
        Frame::Message(sample_message()),
        Frame::Reply(WireReply {
            to: 42,
            result: ReplyResult::Err(RemoteError {
                kind: RemoteErrorKind::Handler,
                text: "out of tea".into(),
            }),
        }),
        Frame::Reply(WireReply { to: 1, result: ReplyResult::Ok(None) }),
        Frame::Announce(vec![
            Announcement::Serve(WireId::Int(1)),
            Announcement::Subscribe("news".into()),
            Announcement::Withdraw(WireId::Int(2)),
            Announcement::Unsubscribe(WireId::Int(3)),
        ]),
        Frame::Ping(5),
        Frame::Pong(5),
        Frame::Goodbye("bye".into()),
    ]
}

#[test]
fn a_borrowed_message_frame_is_byte_for_byte_the_owned_one() {
    let owned = sample_message();
    let content = owned.content.clone().unwrap();
    let borrowed = MessageOut {
        type_name: &owned.type_name,
        id: owned.id,
        source: Some(IdOut::Str("shop")),
        dest: Some(IdOut::Int(-7)),
        group: None,
        response_required: owned.response_required,
        is_response: owned.is_response,
        sync: owned.sync,
        blocking: owned.blocking,
        seq: owned.seq,
        content: Some(ContentOut { type_name: &content.type_name, bytes: BinOut(&content.bytes) }),
    };
    let expected = encode_frame(&Frame::Message(owned.clone())).unwrap();
    let mut out = Vec::new();
    encode_message_frame(&borrowed, &mut out).unwrap();
    assert_eq!(out, expected);
    let empty = MessageOut { content: None, group: Some(IdOut::Str("g")), ..borrowed };
    let mut owned_empty = owned.clone();
    owned_empty.content = None;
    owned_empty.group = Some(WireId::Str("g".into()));
    // Whatever the buffer held before is replaced.
    let mut out = vec![1, 2, 3];
    encode_message_frame(&empty, &mut out).unwrap();
    assert_eq!(out, encode_frame(&Frame::Message(owned_empty)).unwrap());
}

#[test]
fn a_received_message_borrows_the_same_fields_the_owned_decode_gives() {
    let owned = sample_message();
    let bytes = encode_frame(&Frame::Message(owned.clone())).unwrap();
    match decode_frame_in(&bytes).unwrap() {
        FrameIn::Message(m) => assert_eq!(m.to_owned_message(), owned),
        other => panic!("expected a message, got {other:?}"),
    }
    let mut trailing = bytes.to_vec();
    trailing.push(0xc0);
    assert!(matches!(decode_frame_in(&trailing), Err(WireError::TrailingBytes { extra: 1, .. })));
}

fn serde_message(bytes: &[u8]) -> Option<WireMessageRef<'_>> {
    match decode_exact_in::<FrameIn<'_>, Frame>(bytes, "frame", MAX_FRAME_DEPTH) {
        Ok(FrameIn::Message(m)) => Some(m),
        _ => None,
    }
}

fn any_id() -> impl Strategy<Value = Option<WireId>> {
    prop_oneof![
        Just(None),
        any::<i64>().prop_map(|i| Some(WireId::Int(i))),
        ".{0,40}".prop_map(|s| Some(WireId::Str(s))),
    ]
}

proptest! {
    #[test]
    fn the_direct_message_reader_agrees_with_serde(
        type_name in ".{0,40}",
        id in any::<u64>(),
        seq in any::<u64>(),
        (source, dest, group) in (any_id(), any_id(), any_id()),
        flags in any::<[bool; 4]>(),
        content in proptest::option::of((".{0,20}", proptest::collection::vec(any::<u8>(), 0..300))),
    ) {
        let m = WireMessage {
            type_name, id, source, dest, group,
            response_required: flags[0], is_response: flags[1], sync: flags[2], blocking: flags[3],
            seq,
            content: content.map(|(t, b)| WireContent { type_name: t, bytes: Bytes::from(b) }),
        };
        let bytes = encode_frame(&Frame::Message(m.clone())).unwrap();
        let fast = fast::message(&bytes);
        prop_assert_eq!(fast.as_ref().map(WireMessageRef::to_owned_message), Some(m));
        prop_assert_eq!(fast, serde_message(&bytes));
    }

    #[test]
    fn the_hand_written_message_encoder_writes_what_serde_writes(
        type_name in ".{0,40}",
        id in any::<u64>(),
        seq in any::<u64>(),
        (source, dest, group) in (any_id(), any_id(), any_id()),
        flags in any::<[bool; 4]>(),
        content in proptest::option::of((".{0,40}", proptest::collection::vec(any::<u8>(), 0..70_000))),
        small in (0u64..300, -300i64..300),
    ) {
        fn id_out(w: &Option<WireId>) -> Option<IdOut<'_>> {
            w.as_ref().map(|w| match w {
                WireId::Int(i) => IdOut::Int(*i),
                WireId::Str(s) => IdOut::Str(s),
            })
        }
        // Small numbers too: most IDs are, and each size class has its own form.
        let (id, source) = if flags[0] { (small.0, Some(WireId::Int(small.1))) } else { (id, source) };
        let m = MessageOut {
            type_name: &type_name, id,
            source: id_out(&source), dest: id_out(&dest), group: id_out(&group),
            response_required: flags[0], is_response: flags[1], sync: flags[2], blocking: flags[3],
            seq,
            content: content.as_ref().map(|(t, b)| ContentOut { type_name: t, bytes: BinOut(b) }),
        };
        let mut by_hand = Vec::new();
        encode_message_frame(&m, &mut by_hand).unwrap();
        let by_serde = rmp_serde::encode::to_vec(&FrameOut::Message(&m)).unwrap();
        prop_assert_eq!(by_hand, by_serde);
    }

    #[test]
    fn the_direct_reader_takes_nothing_serde_refuses(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
        let mut framed = b"\x81\xa7Message\x9b".to_vec();
        framed.extend_from_slice(&bytes);
        if let Some(m) = fast::message(&framed) {
            prop_assert_eq!(Some(m), serde_message(&framed));
        }
    }
}

#[test]
fn content_bytes_must_be_a_byte_string() {
    // [type name, -1] where the bytes belong: serde refuses it, so must the reader.
    let mut m = sample_message();
    m.content = None;
    let mut bytes = encode_frame(&Frame::Message(m)).unwrap().to_vec();
    assert_eq!(bytes.pop(), Some(0xc0));
    bytes.extend_from_slice(&[0x92, 0xa1, b'T', 0xff]);
    assert!(fast::message(&bytes).is_none());
    assert!(serde_message(&bytes).is_none());
}

#[test]
fn a_cut_or_padded_message_is_left_to_serde() {
    let bytes = encode_frame(&Frame::Message(sample_message())).unwrap();
    for len in 0..bytes.len() {
        assert!(fast::message(&bytes[..len]).is_none());
    }
    let mut padded = bytes.to_vec();
    padded.push(0xc0);
    assert!(fast::message(&padded).is_none());
    assert!(fast::message(&bytes).is_some());
}

#[test]
fn every_frame_kind_round_trips() {
    for frame in sample_frames() {
        let bytes = encode_frame(&frame).unwrap();
        assert_eq!(decode_frame(&bytes).unwrap(), frame);
    }
}

#[test]
fn typed_content_decodes_by_type_and_dynamically() {
    let msg = sample_message();
    let content = msg.content.unwrap();
    assert_eq!(content.type_name, "Order");
    let typed: Order = content.decode().unwrap();
    assert_eq!(typed.qty, 3);
    // A receiver that does not know `Order` still sees its fields by name.
    let dynamic: serde_json::Value = content.decode().unwrap();
    assert_eq!(dynamic["item"], "tea");
    assert_eq!(dynamic["qty"], 3);
}

#[test]
fn content_of_the_wrong_type_is_a_decode_error() {
    let content = WireContent::encode("n", &5u8).unwrap();
    let err = content.decode::<Order>().unwrap_err();
    assert!(matches!(err, WireError::Decode { what: "content", .. }), "{err}");
}

#[test]
fn ids_are_bare_integers_and_strings() {
    assert_eq!(rmp_serde::to_vec(&WireId::Int(5)).unwrap(), vec![5u8]);
    assert_eq!(rmp_serde::to_vec(&WireId::Str("a".into())).unwrap(), vec![0xa1, b'a']);
    let too_big = rmp_serde::to_vec(&u64::MAX).unwrap();
    assert!(rmp_serde::from_slice::<WireId>(&too_big).is_err());
}

#[test]
fn trailing_bytes_are_refused() {
    let mut bytes = encode_frame(&Frame::Ping(1)).unwrap().to_vec();
    bytes.push(0);
    assert!(matches!(decode_frame(&bytes), Err(WireError::TrailingBytes { extra: 1, .. })));
}

#[test]
fn hello_tolerates_fields_added_by_a_later_version() {
    // A future Hello with an extra field must still reveal its version,
    // so the mismatch can be reported instead of a decode error.
    #[derive(Serialize)]
    enum FutureHandshake {
        Hello { version: u32, peer_name: String, nonce: Bytes, compression: &'static str },
    }
    let bytes = rmp_serde::to_vec_named(&FutureHandshake::Hello {
        version: 99,
        peer_name: "next".into(),
        nonce: Bytes::from_static(&[0; 32]),
        compression: "zstd",
    })
    .unwrap();
    match decode_handshake(&bytes).unwrap() {
        Handshake::Hello(h) => assert_eq!(h.version, 99),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn secret_debug_is_redacted_and_compare_is_exact() {
    let s = Secret::new("hunter2");
    assert!(!format!("{s:?}").contains("hunter2"));
    assert!(s.matches(&Secret::new("hunter2")));
    assert!(!s.matches(&Secret::new("hunter3")));
    assert!(!s.matches(&Secret::new("hunter")));
    assert!(!s.matches(&Secret::new("")));
}

/// Runs bytes through the same pipeline as a connection's reader: the
/// length-delimited codec, then the frame decoder. Returns how many frames
/// decoded; errors are fine, panics are not.
fn feed_decoder(input: &[u8], max: usize) -> usize {
    let mut codec = codec(max);
    let mut buf = BytesMut::from(input);
    let mut frames = 0;
    loop {
        match codec.decode(&mut buf) {
            Ok(Some(body)) => {
                if decode_frame(&body).is_ok() {
                    frames += 1;
                }
                let _ = decode_handshake(&body);
            }
            Ok(None) | Err(_) => return frames,
        }
    }
}

fn framed(frames: &[Frame]) -> Vec<u8> {
    let mut codec = codec(DEFAULT_MAX_FRAME_LEN);
    let mut out = BytesMut::new();
    for f in frames {
        codec.encode(encode_frame(f).unwrap(), &mut out).unwrap();
    }
    out.to_vec()
}

#[test]
fn valid_stream_decodes_every_frame() {
    let frames = sample_frames();
    assert_eq!(feed_decoder(&framed(&frames), DEFAULT_MAX_FRAME_LEN), frames.len());
}

#[test]
fn oversized_length_prefix_is_an_error_before_buffering() {
    let mut codec = codec(1024);
    let mut buf = BytesMut::from(&[0u8, 0, 4, 1][..]);
    let err = codec.decode(&mut buf).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..512)) {
        feed_decoder(&input, 4096);
        let _ = decode_frame(&input);
        let _ = decode_handshake(&input);
    }

    #[test]
    fn mutated_valid_frames_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = framed(&sample_frames());
        for (at, byte, op) in edits {
            let i = at.index(bytes.len());
            match op {
                0 => bytes[i] = byte,
                1 => bytes.insert(i, byte),
                _ => { bytes.remove(i); }
            }
        }
        bytes.truncate(cut.index(bytes.len() + 1));
        feed_decoder(&bytes, DEFAULT_MAX_FRAME_LEN);
    }

    #[test]
    fn mutated_frame_bodies_never_panic(
        which in 0usize..7,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let mut body = encode_frame(&sample_frames()[which]).unwrap().to_vec();
        for (at, byte) in edits {
            let i = at.index(body.len());
            body[i] = byte;
        }
        if let Ok(Frame::Message(WireMessage { content: Some(c), .. })) = decode_frame(&body) {
            let _ = c.decode::<serde_json::Value>();
        }
    }
}

fn handshake_pair(dialler: &str, listener: &str) -> (Hello, Challenge) {
    let hello = Hello {
        version: PROTOCOL_VERSION,
        peer_name: dialler.into(),
        nonce: Nonce::fresh().unwrap(),
    };
    let challenge = Challenge {
        version: PROTOCOL_VERSION,
        peer_name: listener.into(),
        nonce: Nonce::fresh().unwrap(),
    };
    (hello, challenge)
}

#[test]
fn a_proof_holds_for_its_own_handshake_only() {
    let secret = Secret::new("s3cret");
    let (hello, challenge) = handshake_pair("d", "l");
    let proof = Proof::of_dialler(&secret, &hello, &challenge);
    assert!(proof.is_valid(&secret, &hello, &challenge));
    assert!(!proof.is_valid(&Secret::new("s3cres"), &hello, &challenge));
    // Another nonce on either side (a replay meets a fresh listener nonce).
    let (other_hello, other_challenge) = handshake_pair("d", "l");
    assert!(!proof.is_valid(&secret, &hello, &other_challenge));
    assert!(!proof.is_valid(&secret, &other_hello, &challenge));
    // Other names, or names that run together alike ("d" + "l" vs "dl" + "").
    let renamed = Hello { peer_name: "dl".into(), ..hello.clone() };
    let emptied = Challenge { peer_name: String::new(), ..challenge.clone() };
    assert!(!proof.is_valid(&secret, &renamed, &emptied));
    assert!(!Proof { mac: None }.is_valid(&secret, &hello, &challenge));
}

#[test]
fn the_listeners_proof_is_not_a_dialler_proof_nor_the_reverse() {
    let secret = Secret::new("s3cret");
    let (hello, challenge) = handshake_pair("d", "l");
    let listener_mac = Welcome::listener_mac(&secret, &hello, &challenge);
    let reflected = Proof { mac: Some(listener_mac.clone()) };
    assert!(!reflected.is_valid(&secret, &hello, &challenge));
    let dialler_mac = Proof::of_dialler(&secret, &hello, &challenge).mac;
    let welcome = |mac| Welcome { version: PROTOCOL_VERSION, peer_name: "l".into(), mac };
    assert!(!welcome(dialler_mac).proves(&secret, &hello, &challenge));
    assert!(welcome(Some(listener_mac)).proves(&secret, &hello, &challenge));
}

#[test]
fn fresh_nonces_are_full_length_and_differ() {
    let (a, b) = (Nonce::fresh().unwrap(), Nonce::fresh().unwrap());
    assert!(a.is_valid() && b.is_valid());
    assert_ne!(a, b);
    assert!(!Nonce::default().is_valid());
}
