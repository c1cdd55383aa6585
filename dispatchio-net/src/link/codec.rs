//! The link's framing over a socket: the length-delimited codec, batches
//! of frames already prefixed, and the split into read and write halves.

use bytes::{Bytes, BytesMut};
use tokio::io::{ReadHalf, WriteHalf};
use tokio_util::codec::{Decoder, Encoder, Framed, FramedWrite, LengthDelimitedCodec};

use crate::frames::FrameReader;
use crate::socket::BoxIo;

pub(super) type Conn = Framed<BoxIo, LinkCodec>;

/// A connection's halves after the handshake. Split at the socket, not
/// at the framing (as `StreamExt::split` would): the reader takes the
/// frames already buffered without a lock per frame, and the writers
/// share the write half under `Shared::direct`.
pub(super) type ReadSide = FrameReader<ReadHalf<BoxIo>>;
pub(super) type WriteSide = FramedWrite<WriteHalf<BoxIo>, LinkCodec>;

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
