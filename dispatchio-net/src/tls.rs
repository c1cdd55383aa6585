//! TLS for `tls:` links, with rustls and its `ring` provider: the [`Tls`]
//! settings, the rustls configurations built from them, wrapping a TCP
//! stream on either side, and what a failed TLS handshake means
//! ([`TlsFailure`], with the errors in `error.rs`).

use std::fmt;
use std::io;
use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{
    AlertDescription, CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore,
    ServerConfig, SignatureScheme,
};

use crate::error::{HandshakeError, TlsError, TlsFailure};
use crate::socket::BoxIo;

/// The TLS settings of `tls:` addresses ([`NetConfig::tls`](crate::NetConfig::tls)):
/// what this side presents and whom it trusts.
///
/// * A **listener** presents its [`identity`](Self::identity_pem) (a
///   certificate chain and its key) and, with
///   [`require_client_certs`](Self::require_client_certs), admits only
///   dialers whose certificate chains to one of its [roots](Self::trust_pem).
/// * A **dialler** checks the listener's certificate against its
///   [roots](Self::trust_pem) and the host name of the address, or accepts
///   exactly a [pinned](Self::pin_pem) certificate; it presents its
///   identity, when it has one, as its client certificate.
///
/// ```
/// use dispatchio_net::{NetConfig, Tls};
/// # fn run(ca_pem: &[u8]) -> Result<(), dispatchio_net::TlsError> {
/// let dialler = NetConfig::new("client").tls(Tls::new().trust_pem(ca_pem)?);
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct Tls {
    identity: Option<Identity>,
    roots: Vec<CertificateDer<'static>>,
    pinned: Vec<CertificateDer<'static>>,
    require_client_certs: bool,
    /// Built once, on first use, then shared by every connection (and
    /// every clone); a setter starts afresh.
    server: Arc<OnceLock<Arc<ServerConfig>>>,
    client: Arc<OnceLock<Arc<ClientConfig>>>,
}

#[derive(Clone)]
struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: Arc<PrivateKeyDer<'static>>,
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls")
            .field("identity", &self.identity.as_ref().map(|i| i.chain.len()))
            .field("roots", &self.roots.len())
            .field("pinned", &self.pinned.len())
            .field("require_client_certs", &self.require_client_certs)
            .finish()
    }
}

fn pem_error(what: &'static str) -> impl Fn(rustls::pki_types::pem::Error) -> TlsError {
    move |e| TlsError::Pem { what, detail: e.to_string() }
}

fn certificates(pem: &[u8], what: &'static str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(pem_error(what))?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate { what });
    }
    Ok(certs)
}

impl Tls {
    /// No identity, no roots, no pin, client certificates not required.
    ///
    /// ```
    /// use dispatchio_net::{NetConfig, NetError, Tls};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # struct Quiet;
    /// # impl dispatchio_net::LinkEvents for Quiet { async fn received(&self, _: &dispatchio_net::Link, _: dispatchio_net::Payload) {} }
    /// // Empty settings serve no `tls:` address: a listener needs an identity.
    /// let config = NetConfig::new("billing").secret("s").tls(Tls::new());
    /// let refused = dispatchio_net::listen(&"tls:127.0.0.1:0".parse()?, &config, std::sync::Arc::new(Quiet)).await;
    /// assert!(matches!(refused, Err(NetError::Tls { .. })));
    /// # Ok(()) }
    /// ```
    pub fn new() -> Self {
        Tls::default()
    }

    /// This side's certificate chain (its own certificate first, then any
    /// intermediates) and private key, as PEM: what a listener presents,
    /// and a dialler's client certificate.
    ///
    ///
    /// ```
    /// use dispatchio_net::{Tls, TlsError};
    /// let rcgen::CertifiedKey { cert, key_pair } = rcgen::generate_simple_self_signed(["billing.internal".to_owned()])?;
    /// let (cert, key) = (cert.pem(), key_pair.serialize_pem());
    /// let listener = Tls::new().identity_pem(cert.as_bytes(), key.as_bytes())?;
    /// assert!(format!("{listener:?}").contains("identity: Some(1)")); // a chain of one
    /// let err = Tls::new().identity_pem(b"not PEM", key.as_bytes()).unwrap_err();
    /// assert!(matches!(err, TlsError::NoCertificate { .. }), "{err}");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    /// # Errors
    /// [`TlsError::Pem`] or [`TlsError::NoCertificate`] for text that is
    /// not what it should be.
    pub fn identity_pem(mut self, chain_pem: &[u8], key_pem: &[u8]) -> Result<Self, TlsError> {
        let chain = certificates(chain_pem, "the certificate chain")?;
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(pem_error("the private key"))?;
        self.identity = Some(Identity { chain, key: Arc::new(key) });
        Ok(self.afresh())
    }

    /// Adds the root certificates (PEM, one or more) that a dialler checks
    /// the listener's certificate against, and that a listener checks
    /// client certificates against.
    ///
    ///
    /// ```
    /// use dispatchio_net::{NetConfig, Tls};
    /// let rcgen::CertifiedKey { cert: ca, .. } = rcgen::generate_simple_self_signed(["ca".to_owned()])?;
    /// let dialler = NetConfig::new("web").tls(Tls::new().trust_pem(ca.pem().as_bytes())?);
    /// # drop(dialler);
    /// assert!(Tls::new().trust_pem(b"").is_err()); // no certificate: nothing to trust
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    /// # Errors
    /// [`TlsError::Pem`] or [`TlsError::NoCertificate`].
    pub fn trust_pem(mut self, roots_pem: &[u8]) -> Result<Self, TlsError> {
        self.roots.extend(certificates(roots_pem, "the roots")?);
        Ok(self.afresh())
    }

    /// Adds a certificate (PEM) that a dialler accepts from the listener as
    /// it is, byte for byte, instead of checking a chain and a name: for a
    /// listener with a self-signed certificate. With pins, roots are not
    /// used to check the listener.
    ///
    ///
    /// ```
    /// use dispatchio_net::Tls;
    /// let rcgen::CertifiedKey { cert, key_pair } = rcgen::generate_simple_self_signed(["billing.internal".to_owned()])?;
    /// let (cert, key) = (cert.pem(), key_pair.serialize_pem());
    /// let pinned = Tls::new().pin_pem(cert.as_bytes())?; // accepts exactly that certificate
    /// assert!(format!("{pinned:?}").contains("pinned: 1"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    /// # Errors
    /// [`TlsError::Pem`] or [`TlsError::NoCertificate`].
    pub fn pin_pem(mut self, cert_pem: &[u8]) -> Result<Self, TlsError> {
        self.pinned.extend(certificates(cert_pem, "the pinned certificate")?);
        Ok(self.afresh())
    }

    /// Whether a listener requires every dialler to present a client
    /// certificate that chains to its [roots](Self::trust_pem). Such a
    /// listener needs no shared secret: the certificate authenticates.
    ///
    /// ```
    /// use dispatchio_net::{NetConfig, NetError, Tls};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # struct Quiet;
    /// # impl dispatchio_net::LinkEvents for Quiet { async fn received(&self, _: &dispatchio_net::Link, _: dispatchio_net::Payload) {} }
    /// let rcgen::CertifiedKey { cert, key_pair } = rcgen::generate_simple_self_signed(["billing.internal".to_owned()])?;
    /// let (cert, key) = (cert.pem(), key_pair.serialize_pem());
    /// let identity = Tls::new().identity_pem(cert.as_bytes(), key.as_bytes())?;
    /// // Requiring client certificates needs roots they chain to.
    /// let no_roots = NetConfig::new("billing").tls(identity.clone().require_client_certs(true));
    /// let addr = "tls:127.0.0.1:0".parse()?;
    /// let refused = dispatchio_net::listen(&addr, &no_roots, std::sync::Arc::new(Quiet)).await;
    /// assert!(matches!(refused, Err(NetError::Tls { .. })));
    /// // With them, the listener needs no secret: certificates authenticate.
    /// let mutual = identity.trust_pem(cert.as_bytes())?.require_client_certs(true);
    /// assert!(dispatchio_net::listen(&addr, &NetConfig::new("billing").tls(mutual), std::sync::Arc::new(Quiet)).await.is_ok());
    /// # Ok(()) }
    /// ```
    pub fn require_client_certs(mut self, required: bool) -> Self {
        self.require_client_certs = required;
        self.afresh()
    }

    /// Whether a listener with these settings authenticates its dialers
    /// by their certificates.
    pub(crate) fn authenticates_clients(&self) -> bool {
        self.require_client_certs
    }

    fn afresh(mut self) -> Self {
        self.server = Arc::default();
        self.client = Arc::default();
        self
    }

    fn roots(&self) -> Result<RootCertStore, TlsError> {
        let mut store = RootCertStore::empty();
        for root in &self.roots {
            store.add(root.clone()).map_err(refused)?;
        }
        Ok(store)
    }

    /// The listener's rustls configuration.
    pub(crate) fn server_config(&self) -> Result<Arc<ServerConfig>, TlsError> {
        if let Some(built) = self.server.get() {
            return Ok(built.clone());
        }
        let identity = self.identity.as_ref().ok_or(TlsError::NoIdentity)?;
        let provider = provider();
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(refused)?;
        let builder = if self.require_client_certs {
            if self.roots.is_empty() {
                return Err(TlsError::ClientCertsNeedRoots);
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(
                Arc::new(self.roots()?),
                provider.clone(),
            )
            .build()
            .map_err(refused)?;
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let config = builder
            .with_single_cert(identity.chain.clone(), identity.key.clone_key())
            .map_err(refused)?;
        let built = Arc::new(config);
        let _ = self.server.set(built.clone());
        Ok(built)
    }

    /// The dialler's rustls configuration.
    pub(crate) fn client_config(&self) -> Result<Arc<ClientConfig>, TlsError> {
        if let Some(built) = self.client.get() {
            return Ok(built.clone());
        }
        let provider = provider();
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(refused)?;
        let builder = if !self.pinned.is_empty() {
            let pinned = Pinned {
                certs: self.pinned.clone(),
                algorithms: provider.signature_verification_algorithms,
            };
            builder.dangerous().with_custom_certificate_verifier(Arc::new(pinned))
        } else if !self.roots.is_empty() {
            builder.with_root_certificates(self.roots()?)
        } else {
            return Err(TlsError::NoTrust);
        };
        let config = match &self.identity {
            Some(id) => builder
                .with_client_auth_cert(id.chain.clone(), id.key.clone_key())
                .map_err(refused)?,
            None => builder.with_no_client_auth(),
        };
        let built = Arc::new(config);
        let _ = self.client.set(built.clone());
        Ok(built)
    }
}

fn refused(e: impl fmt::Display) -> TlsError {
    TlsError::Refused { detail: e.to_string() }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The server name a dialler checks the listener's certificate against.
pub(crate) fn server_name(host: &str) -> Result<ServerName<'static>, TlsError> {
    ServerName::try_from(host.to_owned()).map_err(|_| TlsError::BadServerName { host: host.into() })
}

/// Dialler side: the TLS handshake over `io`.
pub(crate) async fn connect(
    config: Arc<ClientConfig>,
    name: ServerName<'static>,
    io: BoxIo,
) -> Result<BoxIo, HandshakeError> {
    let stream = tokio_rustls::TlsConnector::from(config)
        .connect(name, io)
        .await
        .map_err(handshake_io_error)?;
    Ok(Box::new(stream))
}

/// Listener side: the TLS handshake over `io`.
pub(crate) async fn accept(config: Arc<ServerConfig>, io: BoxIo) -> Result<BoxIo, HandshakeError> {
    let stream =
        tokio_rustls::TlsAcceptor::from(config).accept(io).await.map_err(handshake_io_error)?;
    Ok(Box::new(stream))
}

/// An I/O error of the handshake: a TLS failure when rustls is inside
/// (tokio-rustls wraps its errors so, during the TLS handshake and after
/// it, as when a listener refuses a missing client certificate once the
/// dialler already thinks itself connected).
pub(crate) fn handshake_io_error(e: io::Error) -> HandshakeError {
    match e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
        Some(tls) => HandshakeError::Tls { kind: classify(tls), detail: tls.to_string() },
        None => HandshakeError::Io(e),
    }
}

/// Whether `bytes` start like a TLS record (a handshake or an alert, of
/// TLS 1.0 to 1.3), as a TLS peer's first bytes do: read as a frame's
/// length prefix they would claim hundreds of megabytes.
pub(crate) fn looks_like_tls(bytes: &[u8]) -> bool {
    matches!(bytes, [0x15 | 0x16, 0x03, 0x01..=0x04, ..])
}

/// The error of a plaintext handshake that met TLS records.
pub(crate) fn unexpected_tls() -> HandshakeError {
    HandshakeError::Tls {
        kind: TlsFailure::UnexpectedTls,
        detail: "its first bytes are a TLS record, not a frame".into(),
    }
}

fn classify(e: &rustls::Error) -> TlsFailure {
    use rustls::Error as E;
    match e {
        E::InvalidCertificate(c) => match c {
            CertificateError::UnknownIssuer => TlsFailure::UnknownIssuer,
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                TlsFailure::WrongName
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                TlsFailure::Expired
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                TlsFailure::NotYetValid
            }
            CertificateError::ApplicationVerificationFailure => TlsFailure::NotPinned,
            _ => TlsFailure::Other,
        },
        E::NoCertificatesPresented => TlsFailure::NoClientCertificate,
        E::AlertReceived(AlertDescription::CertificateRequired) => TlsFailure::NoClientCertificate,
        E::AlertReceived(_) => TlsFailure::RefusedByPeer,
        E::InvalidMessage(_) => TlsFailure::NotTls,
        _ => TlsFailure::Other,
    }
}

/// Accepts exactly the pinned certificates. Written here because rustls
/// has no pinning verifier of its own; the handshake's signatures are still
/// checked with the provider's algorithms, so only the holder of the
/// pinned certificate's key passes.
#[derive(Debug)]
struct Pinned {
    certs: Vec<CertificateDer<'static>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.certs.iter().any(|c| c.as_ref() == end_entity.as_ref()) {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
