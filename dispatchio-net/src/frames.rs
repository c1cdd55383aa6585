//! The read half of a link's connection, framed by hand.
//!
//! Frames are [`wire::codec`](crate::wire::codec)'s: a 4-byte big-endian
//! length, then that many bytes. tokio-util's `FramedRead` hands out every
//! frame as its own `BytesMut` (split off a shared buffer: two reference
//! count updates and a drop per frame), which a link reading millions of
//! small frames a second pays for on every one. [`FrameReader`] keeps one
//! buffer, finds frames in place and lends each out as a slice until the
//! next is asked for: the reader decodes frames by borrowing anyway.

use std::io;
use std::ops::Range;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt};

/// Bytes of the length before every frame.
const HEADER: usize = 4;

/// The buffer's size to begin with, and the least room a read is given:
/// one read takes hundreds of small frames.
const READ_SIZE: usize = 64 * 1024;

/// A buffer grown past this for a big frame shrinks back once it is empty.
const KEEP: usize = 1024 * 1024;

/// Why a frame could not be read.
#[derive(Debug)]
pub(super) enum ReadError {
    /// The socket failed.
    Io(io::Error),
    /// A frame's length is over the limit; the connection cannot go on.
    TooLarge,
    /// The peer closed the connection in the middle of a frame.
    Truncated,
}

/// Reads length-prefixed frames from `io` into one reused buffer.
pub(super) struct FrameReader<R> {
    io: R,
    /// `buf[start..end]` is read and not yet handed out.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    max_frame_len: usize,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    /// Reads from `io`, taking `read_ahead` (bytes a handshake's framing read
    /// past its last frame) first.
    pub(super) fn new(io: R, read_ahead: BytesMut, max_frame_len: usize) -> FrameReader<R> {
        let mut buf = read_ahead.to_vec();
        let end = buf.len();
        buf.resize(end.max(READ_SIZE), 0);
        FrameReader { io, buf, start: 0, end, max_frame_len }
    }

    /// The next frame already in the buffer, as a range of
    /// [`frame`](Self::frame); `None` when it needs more bytes
    /// ([`fill`](Self::fill)).
    pub(super) fn buffered(&mut self) -> Result<Option<Range<usize>>, ReadError> {
        let Some(len) = self.next_len()? else { return Ok(None) };
        let body = self.start + HEADER..self.start + HEADER + len;
        if body.end > self.end {
            return Ok(None);
        }
        self.start = body.end;
        Ok(Some(body))
    }

    /// The bytes of a frame [`buffered`](Self::buffered) returned.
    pub(super) fn frame(&self, range: Range<usize>) -> &[u8] {
        &self.buf[range]
    }

    /// Reads more bytes from the socket (at least one, or the end of the
    /// stream): `Ok(false)` when the peer closed the connection between
    /// frames.
    pub(super) async fn fill(&mut self) -> Result<bool, ReadError> {
        self.make_room()?;
        let n = self.io.read(&mut self.buf[self.end..]).await.map_err(ReadError::Io)?;
        if n == 0 {
            return if self.start == self.end { Ok(false) } else { Err(ReadError::Truncated) };
        }
        self.end += n;
        Ok(true)
    }

    /// The length of the next frame, once its header is in.
    fn next_len(&self) -> Result<Option<usize>, ReadError> {
        let Some(header) = self.buf[self.start..self.end].first_chunk::<HEADER>() else {
            return Ok(None);
        };
        let len = u32::from_be_bytes(*header) as usize;
        if len > self.max_frame_len {
            return Err(ReadError::TooLarge);
        }
        Ok(Some(len))
    }

    /// Moves the unread bytes to the front and makes room for the next read:
    /// at least [`READ_SIZE`], and for a frame longer than that, as much
    /// again as has arrived of it, up to its end.
    ///
    /// The room grows with the bytes that came, not with what a frame's
    /// header claims: a peer that sends the header of an 8 MiB frame and
    /// stalls costs one read's worth, not 8 MiB of zeroed buffer. Doubling
    /// keeps a real big frame to a few reallocations, each copying only
    /// what arrived.
    fn make_room(&mut self) -> Result<(), ReadError> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            if self.buf.len() > KEEP {
                self.buf = vec![0; READ_SIZE];
            }
        } else if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let frame = self.next_len()?.map_or(0, |len| HEADER + len);
        let wanted = frame.min(2 * self.end).max(self.end + READ_SIZE / 4).max(READ_SIZE);
        if self.buf.len() < wanted {
            self.buf.resize(wanted, 0);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    fn framed(bodies: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for b in bodies {
            out.extend_from_slice(&(b.len() as u32).to_be_bytes());
            out.extend_from_slice(b);
        }
        out
    }

    /// Every frame, in order, until the peer closes between frames.
    async fn read_all<R: AsyncRead + Unpin>(
        reader: &mut FrameReader<R>,
    ) -> Result<Vec<Vec<u8>>, ReadError> {
        let mut frames = Vec::new();
        loop {
            match reader.buffered()? {
                Some(range) => frames.push(reader.frame(range).to_vec()),
                None if reader.fill().await? => {}
                None => return Ok(frames),
            }
        }
    }

    #[tokio::test]
    async fn frames_cut_anywhere_by_the_socket_come_out_whole_and_in_order() {
        let big = vec![7u8; 3 * READ_SIZE + 5];
        let bodies: Vec<&[u8]> = vec![b"one", b"", &big, b"two", b"three"];
        let bytes = framed(&bodies);
        let (mut tx, rx) = tokio::io::duplex(1000);
        let writer = tokio::spawn(async move {
            // Odd-sized writes cut headers and bodies at every offset.
            for chunk in bytes.chunks(7) {
                tx.write_all(chunk).await.unwrap();
            }
        });
        let mut reader = FrameReader::new(rx, BytesMut::new(), 4 * READ_SIZE);
        let frames = read_all(&mut reader).await.unwrap();
        writer.await.unwrap();
        let expected: Vec<Vec<u8>> = bodies.iter().map(|b| b.to_vec()).collect();
        assert_eq!(frames, expected);
        // The buffer grown for the big frame went back to its usual size.
        assert!(reader.buf.len() <= KEEP, "kept {} bytes", reader.buf.len());
    }

    #[tokio::test]
    async fn bytes_read_ahead_by_the_handshake_come_first() {
        let ahead = framed(&[b"early", b"par"]);
        // The second frame is cut short in the read-ahead; the socket has the rest.
        let (ahead, rest) = ahead.split_at(ahead.len() - 1);
        let mut socket = rest.to_vec();
        socket.extend(framed(&[b"late"]));
        let mut reader = FrameReader::new(&socket[..], BytesMut::from(ahead), 1024);
        let frames = read_all(&mut reader).await.unwrap();
        assert_eq!(frames, vec![b"early".to_vec(), b"par".to_vec(), b"late".to_vec()]);
    }

    #[tokio::test]
    async fn a_frame_over_the_limit_is_refused_from_its_header() {
        let mut bytes = 2000u32.to_be_bytes().to_vec();
        bytes.extend_from_slice(b"only the header and a little");
        let mut reader = FrameReader::new(&bytes[..], BytesMut::new(), 1024);
        assert!(matches!(read_all(&mut reader).await, Err(ReadError::TooLarge)));
    }

    #[tokio::test]
    async fn a_stalled_big_frame_costs_what_arrived_not_what_its_header_claims() {
        // A peer announces an 8 MiB frame, sends one byte of it and stalls:
        // the buffer must not be sized (and zero-filled) for the whole frame.
        let limit = 8 * 1024 * 1024;
        let mut bytes = (limit as u32).to_be_bytes().to_vec();
        bytes.push(1);
        let (mut tx, rx) = tokio::io::duplex(1024);
        tx.write_all(&bytes).await.unwrap();
        let mut reader = FrameReader::new(rx, BytesMut::new(), limit);
        assert!(reader.fill().await.unwrap());
        assert!(reader.buffered().unwrap().is_none(), "the frame is not complete");
        // The next read is where the room for the frame was made.
        let more = tokio::time::timeout(std::time::Duration::from_millis(50), reader.fill()).await;
        assert!(more.is_err(), "the peer stalls: nothing more to read");
        assert!(
            reader.buf.capacity() <= 2 * READ_SIZE,
            "{} bytes held for 5 bytes received",
            reader.buf.capacity()
        );
        // As the frame does arrive, the buffer grows with it, and the frame
        // comes out whole.
        let rest = vec![7u8; limit - 1];
        let writer = tokio::spawn(async move {
            tx.write_all(&rest).await.unwrap();
            tx
        });
        let frame = loop {
            match reader.buffered().unwrap() {
                Some(range) => break reader.frame(range).to_vec(),
                None => assert!(reader.fill().await.unwrap()),
            }
        };
        drop(writer.await.unwrap());
        assert_eq!(frame.len(), limit);
        assert_eq!((frame[0], frame[limit - 1]), (1, 7));
    }

    #[tokio::test]
    async fn a_connection_closed_inside_a_frame_is_reported_as_truncated() {
        let bytes = framed(&[b"whole", b"cut short"]);
        let cut = &bytes[..bytes.len() - 3];
        let mut reader = FrameReader::new(cut, BytesMut::new(), 1024);
        assert!(reader.fill().await.unwrap());
        assert_eq!(
            reader.buffered().unwrap().map(|r| reader.frame(r).to_vec()),
            Some(b"whole".to_vec())
        );
        assert!(matches!(read_all(&mut reader).await, Err(ReadError::Truncated)));
    }
}
