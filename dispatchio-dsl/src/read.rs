//! Reading `.route` files from disk, within limits.
//!
//! Every file the tools read (a root file, an import, a file the watcher
//! fingerprints) goes through [`read_bytes`]: regular files only, at most
//! [`MAX_FILE_BYTES`]. A FIFO would block the reader until some writer
//! appears (forever, for `dispatchio check` in CI); `/dev/zero` or a symlink
//! to it would be read until memory runs out. [`read_text`] adds the UTF-8
//! check, reporting the offset of the first bad byte.

use std::fs::File;
use std::io::{self, Read as _};
use std::path::Path;

/// The largest `.route` file the tools read: 16 MiB. A table of 10,000
/// rules is about 0.6 MB; a file this large is a mistake (or an attack),
/// and every later stage keeps the text and its spans in memory.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Why a file could not be read as `.route` text.
#[derive(Debug)]
pub(crate) enum Unreadable {
    /// Opening or reading failed (no such file, permissions, a dangling
    /// symlink, …).
    Io(io::Error),
    /// A symlink to nothing.
    Dangling,
    /// Not a regular file: what it is instead ("a directory", "a FIFO", …).
    NotRegular(&'static str),
    /// Larger than [`MAX_FILE_BYTES`].
    TooLarge,
    /// Not UTF-8. The text is the file with its bad sequences replaced by
    /// U+FFFD; `offset` (the first bad byte) is the same in the file and in
    /// the text, since everything before it is unchanged.
    NotUtf8 { offset: usize, text: String },
}

impl Unreadable {
    /// Whether the file is simply not there (a wrong path).
    pub(crate) fn is_not_found(&self) -> bool {
        matches!(self, Unreadable::Dangling)
            || matches!(self, Unreadable::Io(e) if e.kind() == io::ErrorKind::NotFound)
    }

    /// As an I/O error, for the public [`ReadError`](crate::ReadError).
    pub(crate) fn into_io(self) -> io::Error {
        match self {
            Unreadable::Io(e) => e,
            other => {
                let kind = match other {
                    Unreadable::TooLarge => io::ErrorKind::FileTooLarge,
                    Unreadable::NotUtf8 { .. } => io::ErrorKind::InvalidData,
                    Unreadable::Dangling => io::ErrorKind::NotFound,
                    _ => io::ErrorKind::InvalidInput,
                };
                io::Error::new(kind, other.to_string())
            }
        }
    }
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unreadable::Io(e) => write!(f, "{e}"),
            Unreadable::Dangling => write!(f, "it is a symlink to a file that does not exist"),
            Unreadable::NotRegular(what) => {
                write!(f, "it is {what}, not a regular file (only regular files are read)")
            }
            Unreadable::TooLarge => write!(
                f,
                "it is larger than {} MiB, the limit for a .route file",
                MAX_FILE_BYTES / (1024 * 1024)
            ),
            Unreadable::NotUtf8 { offset, .. } => {
                write!(f, "it is not UTF-8 text (the first invalid byte is at offset {offset})")
            }
        }
    }
}

/// The bytes of the regular file at `path` (symlinks followed), refusing
/// anything else and anything over [`MAX_FILE_BYTES`].
pub(crate) fn read_bytes(path: &Path) -> Result<Vec<u8>, Unreadable> {
    let mut file = open(path).map_err(|e| {
        let link = path.symlink_metadata().is_ok_and(|m| m.file_type().is_symlink());
        if e.kind() == io::ErrorKind::NotFound && link {
            Unreadable::Dangling
        } else {
            Unreadable::Io(e)
        }
    })?;
    // The type is checked on the open file (`fstat`), so a file swapped for
    // a FIFO after a look at the path cannot slip through.
    let meta = file.metadata().map_err(Unreadable::Io)?;
    if !meta.is_file() {
        return Err(Unreadable::NotRegular(kind_of(&meta.file_type())));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(Unreadable::TooLarge);
    }
    // The size can change while reading (or lie, as in `/proc`): read at
    // most one byte more than the limit, to tell "over it" from "at it".
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    (&mut file).take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(Unreadable::Io)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(Unreadable::TooLarge);
    }
    Ok(bytes)
}

/// The text of the regular file at `path`: [`read_bytes`], then UTF-8.
pub(crate) fn read_text(path: &Path) -> Result<String, Unreadable> {
    let bytes = read_bytes(path)?;
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        Unreadable::NotUtf8 { offset, text: String::from_utf8_lossy(e.as_bytes()).into_owned() }
    })
}

/// Opens for reading without blocking on a FIFO: `O_NONBLOCK` makes opening
/// a FIFO with no writer return at once (the type check then refuses it);
/// it changes nothing for a regular file.
#[cfg(unix)]
fn open(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path)
}

/// Opens for reading (a named pipe is refused by the type check).
#[cfg(not(unix))]
fn open(path: &Path) -> io::Result<File> {
    File::open(path)
}

fn kind_of(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
    }
    if t.is_dir() { "a directory" } else { "a special file" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_utf8_is_reported_at_its_first_byte_and_kept_lossily() {
        let dir = std::env::temp_dir().join(format!("dispatchio-read-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bad.route");
        std::fs::write(&path, b"message A {}\n\xff\xfe rest").unwrap();
        let Err(Unreadable::NotUtf8 { offset, text }) = read_text(&path) else {
            panic!("expected NotUtf8");
        };
        assert_eq!(offset, 13);
        assert!(text.starts_with("message A {}\n\u{fffd}"), "{text:?}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_directory_is_not_read() {
        let Err(Unreadable::NotRegular(what)) = read_bytes(Path::new(".")) else {
            panic!("expected NotRegular");
        };
        assert_eq!(what, "a directory");
    }
}
