//! Opening sockets: binding a Unix socket with owner-only permissions,
//! replacing a stale socket file safely, binding TCP, dialling, accepting.
//! Everything returns one boxed byte stream type so the rest of the layer is
//! transport-agnostic.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};

use crate::address::Address;
use crate::error::NetError;

/// A connected byte stream of any transport (TLS included).
pub(crate) trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

pub(crate) type BoxIo = Box<dyn Io>;

fn io_err(action: &'static str, address: &Address, source: io::Error) -> NetError {
    NetError::Io { action, address: address.to_string(), source }
}

/// Dials `address`.
pub(crate) async fn dial(address: &Address) -> Result<BoxIo, NetError> {
    match address {
        Address::Unix(path) => UnixStream::connect(path)
            .await
            .map(|s| Box::new(s) as BoxIo)
            .map_err(|e| io_err("connect to", address, e)),
        Address::Tcp { host, port } | Address::Tls { host, port } => {
            let stream = TcpStream::connect((host.as_str(), *port))
                .await
                .map_err(|e| io_err("connect to", address, e))?;
            // Frames are written whole and flushed in batches; Nagle's delay
            // would only add latency to request/response round trips.
            stream.set_nodelay(true).map_err(|e| io_err("configure", address, e))?;
            Ok(Box::new(stream))
        }
    }
}

/// A bound listening socket of either transport.
pub(crate) enum BoundSocket {
    Tcp(TcpListener),
    Unix(UnixListener),
}

impl BoundSocket {
    /// Accepts one connection, with a description of the remote end for logs.
    pub(crate) async fn accept(&self) -> io::Result<(BoxIo, String)> {
        match self {
            BoundSocket::Tcp(l) => {
                let (s, peer) = l.accept().await?;
                s.set_nodelay(true)?;
                Ok((Box::new(s), format!("tcp:{peer}")))
            }
            BoundSocket::Unix(l) => {
                // Dialling Unix sockets are unnamed; the local path is the
                // most useful thing to log.
                let (s, _) = l.accept().await?;
                let local = l
                    .local_addr()
                    .ok()
                    .and_then(|a| a.as_pathname().map(|p| p.display().to_string()))
                    .unwrap_or_default();
                Ok((Box::new(s), format!("unix peer on {local}")))
            }
        }
    }
}

/// Binds `address`; returns the acceptor, the actual address (the port the
/// system chose for `tcp:…:0`) and, for a Unix socket, the file to remove
/// when the listener goes away.
pub(crate) async fn bind(
    address: &Address,
) -> Result<(BoundSocket, Address, Option<SocketFile>), NetError> {
    match address {
        Address::Tcp { host, port } | Address::Tls { host, port } => {
            let l = TcpListener::bind((host.as_str(), *port))
                .await
                .map_err(|e| io_err("bind", address, e))?;
            let local = l.local_addr().map_err(|e| io_err("bind", address, e))?;
            let (host, port) = (local.ip().to_string(), local.port());
            let actual = match address {
                Address::Tls { .. } => Address::Tls { host, port },
                _ => Address::Tcp { host, port },
            };
            Ok((BoundSocket::Tcp(l), actual, None))
        }
        Address::Unix(path) => {
            let (l, file) = bind_unix(path).await?;
            Ok((BoundSocket::Unix(l), address.clone(), Some(file)))
        }
    }
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Binds a Unix socket at `path` that only the owner can connect to.
///
/// Binding creates the socket file with the process umask's permissions, and
/// a `chmod` afterwards would leave a moment in which another user could
/// connect. So the socket is bound inside a fresh directory that only the
/// owner can enter (`0o700`), made `0o600` there, and then renamed into
/// place; a rename is atomic and replaces a stale socket file in the same
/// step. Only where the temporary path would be too long for a socket address
/// (about 108 bytes) does it fall back to bind-then-chmod, with that window.
///
/// An existing file at `path` is replaced only if it is a socket that nobody
/// listens on (a connection to it is refused): a live listener is reported as
/// [`NetError::SocketPathInUse`], anything that is not a socket as
/// [`NetError::NotASocket`]. Two processes racing to replace the same stale
/// socket cannot both be told "stale" and then both serve: the later rename
/// wins the path, and the earlier listener is left unreachable; avoid the
/// race by giving each service its own path.
async fn bind_unix(path: &Path) -> Result<(UnixListener, SocketFile), NetError> {
    let address = Address::Unix(path.to_owned());
    match fs::symlink_metadata(path) {
        Ok(meta) if !meta.file_type().is_socket() => {
            return Err(NetError::NotASocket { path: path.to_owned() });
        }
        Ok(_) => match UnixStream::connect(path).await {
            Ok(_) => {
                return Err(NetError::SocketPathInUse { path: path.to_owned() });
            }
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                tracing::info!(path = %path.display(), "replacing a stale socket file");
            }
            Err(e) => return Err(io_err("probe the existing socket", &address, e)),
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err("inspect", &address, e)),
    }

    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let private_dir = |n: u64| parent.join(format!(".dio{:x}-{n:x}", std::process::id()));
    let mut n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let temp_socket = private_dir(n).join("s");

    let std_listener = if temp_socket.as_os_str().len() < 100 {
        // A leftover directory of a crashed process with our pid: try the
        // next name rather than touch it.
        let mut tries = 0;
        let private_dir = loop {
            let dir = private_dir(n);
            match fs::DirBuilder::new().mode(0o700).create(&dir) {
                Ok(()) => break dir,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && tries < 16 => {
                    tries += 1;
                    n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => return Err(io_err("create a private directory for", &address, e)),
            }
        };
        let temp_socket = private_dir.join("s");
        let bound = bind_private(&temp_socket, path);
        // The directory is empty again after the rename (or was never used);
        // removing it cannot fail in a way that matters to the caller.
        let _ = fs::remove_file(&temp_socket);
        let _ = fs::remove_dir(&private_dir);
        bound.map_err(|e| io_err("bind", &address, e))?
    } else {
        let _ = fs::remove_file(path);
        let l = std::os::unix::net::UnixListener::bind(path)
            .map_err(|e| io_err("bind", &address, e))?;
        fs::set_permissions(path, fs::Permissions::from_mode(0o600))
            .map_err(|e| io_err("restrict permissions of", &address, e))?;
        l
    };

    std_listener.set_nonblocking(true).map_err(|e| io_err("bind", &address, e))?;
    let listener = UnixListener::from_std(std_listener).map_err(|e| io_err("bind", &address, e))?;
    let meta = fs::symlink_metadata(path).map_err(|e| io_err("bind", &address, e))?;
    Ok((listener, SocketFile { path: path.to_owned(), dev: meta.dev(), ino: meta.ino() }))
}

fn bind_private(temp: &Path, target: &Path) -> io::Result<std::os::unix::net::UnixListener> {
    let l = std::os::unix::net::UnixListener::bind(temp)?;
    fs::set_permissions(temp, fs::Permissions::from_mode(0o600))?;
    fs::rename(temp, target)?;
    Ok(l)
}

/// The socket file a listener created; removed when the listener goes away,
/// but only if the path still names *our* socket (same device and inode), so
/// a newer listener that replaced it is not disturbed.
#[derive(Debug)]
pub(crate) struct SocketFile {
    path: PathBuf,
    dev: u64,
    ino: u64,
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        if let Ok(meta) = fs::symlink_metadata(&self.path) {
            if meta.dev() == self.dev && meta.ino() == self.ino {
                let _ = fs::remove_file(&self.path);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_path(tag: &str) -> PathBuf {
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        std::env::temp_dir().join(format!("dio-sock-{tag}-{}-{n}.sock", std::process::id()))
    }

    #[tokio::test]
    async fn unix_socket_is_owner_only_and_removed_on_drop() {
        let path = temp_path("perm");
        let (l, file) = bind_unix(&path).await.unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // The renamed socket still accepts connections at its final path.
        let (client, accepted) = tokio::join!(UnixStream::connect(&path), l.accept());
        client.unwrap();
        accepted.unwrap();
        drop(file);
        assert!(!path.exists());
    }

    #[tokio::test]
    async fn stale_socket_is_replaced_but_live_one_and_plain_file_are_not() {
        let path = temp_path("stale");
        // A stale socket: bound, then its listener dropped without unlinking.
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        let (live, file) = bind_unix(&path).await.unwrap();
        assert!(matches!(bind_unix(&path).await, Err(NetError::SocketPathInUse { .. })));
        drop((live, file));

        fs::write(&path, b"not a socket").unwrap();
        assert!(matches!(bind_unix(&path).await, Err(NetError::NotASocket { .. })));
        assert_eq!(fs::read(&path).unwrap(), b"not a socket");
        fs::remove_file(&path).unwrap();
    }

    #[tokio::test]
    async fn dropping_an_old_guard_leaves_a_newer_socket_alone() {
        let path = temp_path("newer");
        let (l1, f1) = bind_unix(&path).await.unwrap();
        drop(l1);
        // The first socket is now stale; a second listener replaces it.
        let (_l2, f2) = bind_unix(&path).await.unwrap();
        drop(f1);
        assert!(path.exists(), "the newer socket must survive the old guard");
        drop(f2);
        assert!(!path.exists());
    }
}
