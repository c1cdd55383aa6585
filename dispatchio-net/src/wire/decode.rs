//! Decoding exactly one value, refusing leftovers and deep nesting; the
//! errors of encoding and decoding ([`WireError`]).

use std::io::Cursor;

use serde::Deserialize;
use serde::de::DeserializeOwned;

/// Encoding or decoding a frame failed.
///
/// ```
/// use dispatchio_net::{WireContent, WireError};
/// let content = WireContent::encode("Card", &7u8)?;
/// let err = content.decode::<String>().unwrap_err(); // a 7 is no string
/// assert!(matches!(err, WireError::Decode { what: "content", .. }), "{err}");
/// let mut padded = content.clone();
/// padded.bytes = [&content.bytes[..], &[0xc0]].concat().into(); // a `nil` too many
/// assert!(matches!(padded.decode::<u8>(), Err(WireError::TrailingBytes { extra: 1, .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// A value could not be serialised.
    #[error("cannot encode {what}: {source}")]
    Encode {
        /// What was being encoded (`"frame"`, `"content"`, …).
        what: &'static str,
        /// The serialiser's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Bytes could not be deserialised.
    #[error("cannot decode {what}: {source}")]
    Decode {
        /// What was being decoded.
        what: &'static str,
        /// The deserialiser's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The operating system's random source failed (making a nonce).
    #[error("the system's random source failed")]
    Random,
    /// A value decoded but bytes were left over after it.
    #[error("cannot decode {what}: {extra} unexpected bytes after the value")]
    TrailingBytes {
        /// What was being decoded.
        what: &'static str,
        /// How many bytes were left.
        extra: usize,
    },
}

/// Decodes exactly one `T` from `bytes`, refusing leftovers (a sign of a
/// framing bug or tampering) and limiting nesting depth.
///
/// Reads the slice in place (strings and byte strings are borrowed while
/// decoding, not first copied into a scratch buffer): this runs once per
/// frame received, so its allocations are the receiving side's hot path.
pub(super) fn decode_exact<T: DeserializeOwned>(
    bytes: &[u8],
    what: &'static str,
    max_depth: usize,
) -> Result<T, WireError> {
    decode_exact_in::<T, T>(bytes, what, max_depth)
}

/// [`decode_exact`] for a `T` that may borrow from `bytes`; `Owned` is the
/// same shape owned (to count trailing bytes for the error).
pub(super) fn decode_exact_in<'a, T: Deserialize<'a>, Owned: DeserializeOwned>(
    bytes: &'a [u8],
    what: &'static str,
    max_depth: usize,
) -> Result<T, WireError> {
    let mut de = rmp_serde::Deserializer::from_read_ref(bytes);
    de.set_max_depth(max_depth);
    let value =
        T::deserialize(&mut de).map_err(|e| WireError::Decode { what, source: Box::new(e) })?;
    // The slice reader does not tell how much it consumed; a second value
    // only decodes if bytes are left over, which is the rare error path.
    match serde::de::IgnoredAny::deserialize(&mut de) {
        Err(rmp_serde::decode::Error::InvalidMarkerRead(e))
            if e.kind() == std::io::ErrorKind::UnexpectedEof =>
        {
            Ok(value)
        }
        _ => Err(WireError::TrailingBytes { what, extra: trailing_len::<Owned>(bytes, max_depth) }),
    }
}

/// How many bytes follow the first value of `bytes` (for the error message).
fn trailing_len<T: DeserializeOwned>(bytes: &[u8], max_depth: usize) -> usize {
    let mut cursor = Cursor::new(bytes);
    let mut de = rmp_serde::Deserializer::new(&mut cursor);
    de.set_max_depth(max_depth);
    if T::deserialize(&mut de).is_err() {
        return 0;
    }
    let used = usize::try_from(cursor.position()).unwrap_or(usize::MAX);
    bytes.len().saturating_sub(used)
}

/// Frames are flat structures; a small depth limit is plenty and keeps
/// decoding hostile input cheap.
pub(super) const MAX_FRAME_DEPTH: usize = 32;
