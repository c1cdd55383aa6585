//! The link's framing over a socket: the length-delimited codec, batches
//! of frames already prefixed, and the split into read and write halves.

use bytes::{Bytes, BytesMut};
use tokio::io::{ReadHalf, WriteHalf};
use tokio_util::codec::{Decoder, Encoder, Framed, FramedWrite, LengthDelimitedCodec};

use crate::frames::FrameReader;
use crate::socket::BoxIo;
use crate::wire;

pub(super) type Conn = Framed<BoxIo, LinkCodec>;

/// A connection's halves after the handshake. Split at the socket, not
/// at the framing (as `StreamExt::split` would): the reader takes the
/// frames already buffered without a lock per frame, and the writers
/// share the write half under `Shared::direct`.
pub(super) type ReadSide = FrameReader<ReadHalf<BoxIo>>;
pub(super) type WriteSide = FramedWrite<WriteHalf<BoxIo>, LinkCodec>;

/// The largest handshake frame either side reads or writes, whatever the
/// link's `max_frame_len`: a `Hello` with its 32-byte nonce is about 70
/// bytes with a short name, so a smaller message limit (64 is allowed) must
/// not stop the link from being made. Room for names of a few thousand
/// bytes; still a small bound on what an unauthenticated peer can make a
/// listener buffer.
const HANDSHAKE_FRAME_LEN: usize = 4096;

/// A fresh connection's framing for its handshake: frames up to the larger
/// of `max_frame_len` and [`HANDSHAKE_FRAME_LEN`]. [`message_framing`]
/// holds the link to `max_frame_len` once the handshake is done.
pub(super) fn handshake_framing(io: BoxIo, max_frame_len: usize) -> Conn {
    Framed::new(io, LinkCodec(wire::codec(max_frame_len.max(HANDSHAKE_FRAME_LEN))))
}

/// After the handshake: every frame of the link (and what the handshake
/// read ahead) is held to `max_frame_len`.
pub(super) fn message_framing(conn: &mut Conn, max_frame_len: usize) {
    conn.codec_mut().0.set_max_frame_length(max_frame_len);
}

/// Splits a connection into its halves, keeping what either had buffered.
pub(super) fn split_conn(conn: Conn) -> (ReadSide, WriteSide) {
    let parts = conn.into_parts();
    let (read, write) = tokio::io::split(parts.io);
    // Frames the handshake read ahead (the peer's announcements) come first.
    let reader = FrameReader::new(read, parts.read_buf, parts.codec.0.max_frame_length());
    let mut writer = FramedWrite::new(write, parts.codec);
    writer.write_buffer_mut().extend_from_slice(&parts.write_buf);
    (reader, writer)
}

/// The link's framing: [`wire::codec`] (a 4-byte big-endian length before
/// every frame), plus whole batches of frames already length-prefixed by the
/// link's queue ([`Outbox`]), written as they are.
pub(super) struct LinkCodec(pub(super) LengthDelimitedCodec);

/// What the link's writers hand to the codec.
pub(super) enum Out {
    /// One frame body, to be length-prefixed.
    Frame(Bytes),
    /// Frames already length-prefixed, in order.
    Batch(BytesMut),
}

impl Decoder for LinkCodec {
    type Item = BytesMut;
    type Error = std::io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<BytesMut>, std::io::Error> {
        self.0.decode(src)
    }
}

impl Encoder<Bytes> for LinkCodec {
    type Error = std::io::Error;

    fn encode(&mut self, item: Bytes, dst: &mut BytesMut) -> Result<(), std::io::Error> {
        self.0.encode(item, dst)
    }
}

impl Encoder<Out> for LinkCodec {
    type Error = std::io::Error;

    fn encode(&mut self, item: Out, dst: &mut BytesMut) -> Result<(), std::io::Error> {
        match item {
            Out::Frame(bytes) => self.0.encode(bytes, dst),
            Out::Batch(mut batch) => {
                if dst.is_empty() {
                    // Nothing buffered: take the batch's buffer as is and
                    // hand back the empty one, so neither is copied.
                    std::mem::swap(dst, &mut batch);
                } else {
                    dst.extend_from_slice(&batch);
                }
                Ok(())
            }
        }
    }
}
