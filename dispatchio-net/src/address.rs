//! Peer addresses: `unix:/path/to/socket`, `tcp:host:port` and
//! `tls:host:port`, parsed once
//! into a typed [`Address`] so that a typo is reported where the user wrote
//! it, not as an obscure I/O error later.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// Where a dispatcher listens or which peer it dials.
///
/// The text form is `unix:<path>`, `tcp:<host>:<port>` or
/// `tls:<host>:<port>`; an IPv6 host is written in brackets
/// (`tcp:[::1]:7400`). [`Display`](fmt::Display) writes the same text form
/// back.
///
/// TLS is a scheme of its own, not an option of `tcp:`, so that an address
/// says what protects it wherever it is written or logged, and a dialler
/// and a listener that disagree fail on the address, not on bytes they
/// cannot read. Its settings are in [`NetConfig::tls`](crate::NetConfig::tls).
///
/// ```
/// use dispatchio_net::Address;
/// let a: Address = "tcp:127.0.0.1:7400".parse().unwrap();
/// assert_eq!(a, Address::Tcp { host: "127.0.0.1".into(), port: 7400 });
/// let u: Address = "unix:/run/app/dispatch.sock".parse().unwrap();
/// assert_eq!(u.to_string(), "unix:/run/app/dispatch.sock");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Address {
    /// A Unix domain socket at this filesystem path.
    Unix(PathBuf),
    /// A TCP endpoint. The host is a name or an IP literal (IPv6 without its
    /// brackets); it is resolved when dialling or binding.
    Tcp {
        /// Host name or IP address.
        host: String,
        /// TCP port; `0` asks the system for a free port when listening.
        port: u16,
    },
    /// A TCP endpoint whose connections run TLS: the listener presents a
    /// certificate for `host`, which the dialler checks.
    Tls {
        /// Host name or IP address (the name the listener's certificate
        /// must carry).
        host: String,
        /// TCP port; `0` asks the system for a free port when listening.
        port: u16,
    },
}

/// Why a text is not a valid [`Address`].
///
/// ```
/// use dispatchio_net::{Address, AddressErrorKind};
/// let err = "tcp:localhost".parse::<Address>().unwrap_err();
/// assert_eq!((err.input(), err.kind()), ("tcp:localhost", &AddressErrorKind::MissingPort));
/// assert_eq!(err.to_string(), r#"invalid address "tcp:localhost": missing `:<port>` after the host"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid address {input:?}: {kind}")]
pub struct AddressError {
    input: String,
    kind: AddressErrorKind,
}

impl AddressError {
    /// The text that failed to parse.
    ///
    /// ```
    /// let err = "udp:host:1".parse::<dispatchio_net::Address>().unwrap_err();
    /// assert_eq!(err.input(), "udp:host:1");
    /// ```
    pub fn input(&self) -> &str {
        &self.input
    }

    /// What is wrong with it.
    ///
    /// ```
    /// use dispatchio_net::{Address, AddressErrorKind};
    /// let err = "udp:host:1".parse::<Address>().unwrap_err();
    /// assert_eq!(err.kind(), &AddressErrorKind::UnknownScheme("udp".into()));
    /// ```
    pub fn kind(&self) -> &AddressErrorKind {
        &self.kind
    }
}

/// The ways an address text can be wrong.
///
/// ```
/// use dispatchio_net::{Address, AddressErrorKind as K};
/// let kind = |text: &str| text.parse::<Address>().unwrap_err().kind().clone();
/// assert_eq!(kind("/run/app.sock"), K::MissingScheme);
/// assert_eq!(kind("localhost:7400"), K::UnknownScheme("localhost".into()));
/// assert_eq!(kind("unix:"), K::EmptyPath);
/// assert_eq!(kind("tcp:host:99999"), K::BadPort("99999".into()));
/// assert_eq!(kind("tcp::7400"), K::EmptyHost);
/// assert_eq!(kind("tcp:[::1:7400"), K::UnclosedBracket);
/// assert_eq!(kind("tcp:::1:7400"), K::Ipv6NeedsBrackets);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AddressErrorKind {
    /// No `scheme:` prefix at all.
    #[error("expected `unix:<path>`, `tcp:<host>:<port>` or `tls:<host>:<port>`")]
    MissingScheme,
    /// A prefix other than `unix`, `tcp` or `tls`.
    #[error("unknown scheme `{0}` (expected `unix`, `tcp` or `tls`)")]
    UnknownScheme(String),
    /// `unix:` with nothing after it.
    #[error("the Unix socket path is empty")]
    EmptyPath,
    /// `tcp:host` without `:port`.
    #[error("missing `:<port>` after the host")]
    MissingPort,
    /// The port is not a number in 0..=65535.
    #[error("port `{0}` is not a number from 0 to 65535")]
    BadPort(String),
    /// `tcp::port` or `tcp:[]:port`.
    #[error("the host is empty")]
    EmptyHost,
    /// An IPv6 host whose `[` is not closed before the port.
    #[error("unclosed `[` in an IPv6 host")]
    UnclosedBracket,
    /// An IPv6 host written without brackets, which makes the port ambiguous.
    #[error("write an IPv6 host in brackets, as in `tcp:[::1]:7400`")]
    Ipv6NeedsBrackets,
}

impl Address {
    /// Parses the text form.
    ///
    ///
    /// ```
    /// use dispatchio_net::Address;
    /// let v6 = Address::parse("tls:[::1]:7400")?;
    /// assert_eq!(v6, Address::Tls { host: "::1".into(), port: 7400 });
    /// assert_eq!(v6.to_string(), "tls:[::1]:7400"); // written back the same
    /// assert!(Address::parse("tcp:localhost").is_err());
    /// # Ok::<(), dispatchio_net::AddressError>(())
    /// ```
    /// # Errors
    /// An [`AddressError`] naming the input and what is wrong with it.
    pub fn parse(input: &str) -> Result<Self, AddressError> {
        let err = |kind| AddressError { input: input.to_owned(), kind };
        let Some((scheme, rest)) = input.split_once(':') else {
            return Err(err(AddressErrorKind::MissingScheme));
        };
        match scheme {
            "unix" => {
                if rest.is_empty() {
                    return Err(err(AddressErrorKind::EmptyPath));
                }
                Ok(Address::Unix(PathBuf::from(rest)))
            }
            "tcp" | "tls" => {
                let (host, port) = if let Some(bracketed) = rest.strip_prefix('[') {
                    let Some((host, after)) = bracketed.split_once(']') else {
                        return Err(err(AddressErrorKind::UnclosedBracket));
                    };
                    let Some(port) = after.strip_prefix(':') else {
                        return Err(err(AddressErrorKind::MissingPort));
                    };
                    (host, port)
                } else {
                    // The last colon separates the port; a bare IPv6 literal
                    // is rejected below rather than silently misread.
                    match rest.rsplit_once(':') {
                        Some(parts) => parts,
                        None => return Err(err(AddressErrorKind::MissingPort)),
                    }
                };
                if host.is_empty() {
                    return Err(err(AddressErrorKind::EmptyHost));
                }
                if host.contains(':') && !rest.starts_with('[') {
                    return Err(err(AddressErrorKind::Ipv6NeedsBrackets));
                }
                let port = port
                    .parse::<u16>()
                    .map_err(|_| err(AddressErrorKind::BadPort(port.to_owned())))?;
                let host = host.to_owned();
                Ok(if scheme == "tls" {
                    Address::Tls { host, port }
                } else {
                    Address::Tcp { host, port }
                })
            }
            other => Err(err(AddressErrorKind::UnknownScheme(other.to_owned()))),
        }
    }

    /// Whether this is a TCP address, plain or TLS (which needs a shared
    /// secret to listen on, unless client certificates authenticate).
    ///
    /// ```
    /// use dispatchio_net::Address;
    /// assert!(Address::parse("tcp:127.0.0.1:7400")?.is_tcp());
    /// assert!(Address::parse("tls:example.com:7400")?.is_tcp()); // TLS runs over TCP
    /// assert!(!Address::parse("unix:/run/app.sock")?.is_tcp());
    /// # Ok::<(), dispatchio_net::AddressError>(())
    /// ```
    pub fn is_tcp(&self) -> bool {
        matches!(self, Address::Tcp { .. } | Address::Tls { .. })
    }

    /// Whether this is a `tls:` address.
    ///
    /// ```
    /// use dispatchio_net::Address;
    /// assert!(Address::parse("tls:example.com:7400")?.is_tls());
    /// assert!(!Address::parse("tcp:example.com:7400")?.is_tls());
    /// # Ok::<(), dispatchio_net::AddressError>(())
    /// ```
    pub fn is_tls(&self) -> bool {
        matches!(self, Address::Tls { .. })
    }
}

impl FromStr for Address {
    type Err = AddressError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Address::parse(s)
    }
}

impl TryFrom<&str> for Address {
    type Error = AddressError;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Address::parse(s)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Unix(path) => write!(f, "unix:{}", path.display()),
            Address::Tcp { host, port } if host.contains(':') => write!(f, "tcp:[{host}]:{port}"),
            Address::Tcp { host, port } => write!(f, "tcp:{host}:{port}"),
            Address::Tls { host, port } if host.contains(':') => write!(f, "tls:[{host}]:{port}"),
            Address::Tls { host, port } => write!(f, "tls:{host}:{port}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(input: &str) -> AddressErrorKind {
        Address::parse(input).unwrap_err().kind().clone()
    }

    #[test]
    fn parses_unix_and_tcp_forms() {
        assert_eq!(
            Address::parse("unix:/tmp/x.sock").unwrap(),
            Address::Unix("/tmp/x.sock".into())
        );
        assert_eq!(
            Address::parse("tcp:localhost:80").unwrap(),
            Address::Tcp { host: "localhost".into(), port: 80 }
        );
        assert_eq!(
            Address::parse("tcp:[::1]:7400").unwrap(),
            Address::Tcp { host: "::1".into(), port: 7400 }
        );
        assert_eq!(
            Address::parse("tls:example.org:7400").unwrap(),
            Address::Tls { host: "example.org".into(), port: 7400 }
        );
        assert!(Address::parse("tls:h:1").unwrap().is_tls());
        assert!(Address::parse("tls:h:1").unwrap().is_tcp());
        assert!(!Address::parse("tcp:h:1").unwrap().is_tls());
    }

    #[test]
    fn display_round_trips() {
        for text in
            ["unix:/a/b.sock", "tcp:127.0.0.1:0", "tcp:[::1]:9", "tls:host:1", "tls:[::1]:9"]
        {
            assert_eq!(Address::parse(text).unwrap().to_string(), text);
        }
    }

    #[test]
    fn each_mistake_has_its_own_error() {
        assert_eq!(kind("/tmp/x.sock"), AddressErrorKind::MissingScheme);
        assert_eq!(kind("udp:1.2.3.4:5"), AddressErrorKind::UnknownScheme("udp".into()));
        assert_eq!(kind("unix:"), AddressErrorKind::EmptyPath);
        assert_eq!(kind("tcp:localhost"), AddressErrorKind::MissingPort);
        assert_eq!(kind("tcp:host:99999"), AddressErrorKind::BadPort("99999".into()));
        assert_eq!(kind("tcp:host:http"), AddressErrorKind::BadPort("http".into()));
        assert_eq!(kind("tcp::80"), AddressErrorKind::EmptyHost);
        assert_eq!(kind("tcp:[::1:80"), AddressErrorKind::UnclosedBracket);
        assert_eq!(kind("tcp:::1:80"), AddressErrorKind::Ipv6NeedsBrackets);
        assert_eq!(kind("tls:localhost"), AddressErrorKind::MissingPort);
        assert_eq!(kind("tls::80"), AddressErrorKind::EmptyHost);
    }

    #[test]
    fn error_message_names_the_input() {
        let e = Address::parse("tcp:host").unwrap_err();
        assert_eq!(e.to_string(), "invalid address \"tcp:host\": missing `:<port>` after the host");
    }
}
