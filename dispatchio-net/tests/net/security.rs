//! Issue 17: links an eavesdropper cannot join or read. The secret is
//! proven by challenge-response and never sent; TLS (`tls:` addresses)
//! hides everything; failures of either are clear errors on both sides.

use std::net::SocketAddr;

use rcgen::{
    BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::*;
use dispatchio_net::{HandshakeError, Tls, TlsError, TlsFailure};

const SECRET: &str = "a secret nobody on the path may learn 4f1c";
const CONTENT: &str = "message content nobody on the path may read 77ab";

// ---------------------------------------------------------------- certificates

/// A certificate authority made in the test, and certificates it signs.
struct Pki {
    ca: rcgen::Certificate,
    key: KeyPair,
}

/// A certificate and its key, as PEM.
struct Identity {
    cert: String,
    key: String,
}

impl Pki {
    fn new(name: &str) -> Pki {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.distinguished_name.push(rcgen::DnType::CommonName, name);
        Pki { ca: params.self_signed(&key).unwrap(), key }
    }

    fn root_pem(&self) -> Vec<u8> {
        self.ca.pem().into_bytes()
    }

    fn issue(&self, names: &[&str], purpose: ExtendedKeyUsagePurpose, expired: bool) -> Identity {
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params.extended_key_usages = vec![purpose];
        if expired {
            params.not_before = rcgen::date_time_ymd(2000, 1, 1);
            params.not_after = rcgen::date_time_ymd(2001, 1, 1);
        }
        let cert = params.signed_by(&key, &self.ca, &self.key).unwrap();
        Identity { cert: cert.pem(), key: key.serialize_pem() }
    }

    /// A listener's certificate for 127.0.0.1 and localhost.
    fn server(&self) -> Identity {
        self.issue(&["127.0.0.1", "localhost"], ExtendedKeyUsagePurpose::ServerAuth, false)
    }

    fn client(&self) -> Identity {
        self.issue(&["client"], ExtendedKeyUsagePurpose::ClientAuth, false)
    }
}

fn presenting(id: &Identity) -> Tls {
    Tls::new().identity_pem(id.cert.as_bytes(), id.key.as_bytes()).unwrap()
}

fn trusting(pki: &Pki) -> Tls {
    Tls::new().trust_pem(&pki.root_pem()).unwrap()
}

fn tls_any() -> Address {
    Address::Tls { host: "127.0.0.1".into(), port: 0 }
}

fn tls_to(addr: &Address) -> Address {
    let Address::Tls { port, .. } = addr else { panic!("not a tls: address: {addr}") };
    Address::Tls { host: "127.0.0.1".into(), port: *port }
}

/// The handshake error of a failed `connect`.
fn handshake_error(err: NetError) -> HandshakeError {
    match err {
        NetError::Handshake { source, .. } => source,
        other => panic!("expected a handshake error, got {other:?}"),
    }
}

/// A `tls:` listener presenting `listener` (and requiring [`SECRET`]),
/// dialled with `dialler` (and the secret): what `connect` gave, and the
/// listener's events (while the returned listener is kept).
async fn tls_dial(listener: Tls, dialler: Tls) -> (Result<Link, NetError>, Events, net::Acceptor) {
    let (events, server) = recorder(vec![], false);
    let config = NetConfig::new("server").secret(SECRET).tls(listener);
    let acceptor = net::listen(&tls_any(), &config, events).await.unwrap();
    let (events, _rx) = recorder(vec![], false);
    let dial = NetConfig::new("client").secret(SECRET).tls(dialler);
    let connected = net::connect(&tls_to(acceptor.local_addr()), &dial, events).await;
    (connected, server, acceptor)
}

fn tls_kind(err: NetError) -> TlsFailure {
    match handshake_error(err) {
        HandshakeError::Tls { kind, .. } => kind,
        other => panic!("expected a TLS failure, got {other:?}"),
    }
}

// ---------------------------------------------------------------- the recording proxy

/// Relays TCP connections from a port of its own to `target`, recording
/// what each side sent.
struct Proxy {
    addr: SocketAddr,
    /// What the diallers sent, connection after connection.
    up: Arc<parking_lot::Mutex<Vec<u8>>>,
    /// What the listener sent.
    down: Arc<parking_lot::Mutex<Vec<u8>>>,
}

impl Proxy {
    async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(parking_lot::Mutex::new(Vec::new()));
        let down = Arc::new(parking_lot::Mutex::new(Vec::new()));
        let (u, d) = (up.clone(), down.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let server = TcpStream::connect(target).await.unwrap();
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                tokio::spawn(relay(cr, sw, u.clone()));
                tokio::spawn(relay(sr, cw, d.clone()));
            }
        });
        Proxy { addr, up, down }
    }

    fn recorded(&self) -> Vec<u8> {
        [self.up.lock().clone(), self.down.lock().clone()].concat()
    }
}

async fn relay(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    record: Arc<parking_lot::Mutex<Vec<u8>>>,
) {
    let mut buf = [0; 16 * 1024];
    while let Ok(n @ 1..) = from.read(&mut buf).await {
        record.lock().extend_from_slice(&buf[..n]);
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn socket_addr(addr: &Address) -> SocketAddr {
    match addr {
        Address::Tcp { host, port } | Address::Tls { host, port } => {
            format!("{host}:{port}").parse().unwrap()
        }
        other => panic!("not a TCP address: {other}"),
    }
}

fn content_message() -> WireMessage {
    let mut m = message(1, false);
    m.content = Some(WireContent::encode("Note", &CONTENT).unwrap());
    m
}

/// Dials `via` (the proxy), sends one message with [`CONTENT`], and waits
/// until the listener has it; then closes the link.
async fn one_message_through(via: Address, config: NetConfig, server: &mut Events) {
    let (events, _rx) = recorder(vec![], false);
    let link = net::connect(&via, &config, events).await.unwrap();
    link.send(Payload::Message(content_message())).await.unwrap();
    let got = server.message().await;
    assert_eq!(got.content.unwrap().decode::<String>().unwrap(), CONTENT);
    link.close("done").await;
    server.down().await;
}

/// Sends what the proxy recorded from the dialler to the listener again,
/// on a fresh connection, and returns what the listener reported.
async fn replay(recorded: Vec<u8>, listener: &Address, server: &mut Events) -> String {
    let mut again = TcpStream::connect(socket_addr(listener)).await.unwrap();
    let _ = again.write_all(&recorded).await;
    let failed = server.handshake_failed().await;
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(PROMPTLY, again.read_to_end(&mut rest)).await;
    failed
}

#[tokio::test]
async fn without_tls_the_secret_never_crosses_the_wire_and_a_replayed_handshake_is_refused() {
    let (events, mut server) = recorder(vec![], false);
    let config = NetConfig::new("server").secret(SECRET).allow_plaintext(true);
    let listener = net::listen(&tcp_any(), &config, events).await.unwrap();
    let proxy = Proxy::start(socket_addr(listener.local_addr())).await;
    let via = Address::Tcp { host: "127.0.0.1".into(), port: proxy.addr.port() };
    one_message_through(via, NetConfig::new("client").secret(SECRET), &mut server).await;

    let recorded = proxy.recorded();
    assert!(!contains(&recorded, SECRET), "the secret crossed the wire");
    // Plaintext: the content is there to read (which is what TLS is for),
    // so the recording did see the traffic.
    assert!(contains(&recorded, CONTENT), "the proxy recorded nothing useful");

    let sent = proxy.up.lock().clone();
    let reported = replay(sent, listener.local_addr(), &mut server).await;
    assert!(reported.contains("BadSecret"), "{reported}");
}

#[tokio::test]
async fn with_tls_neither_the_secret_nor_any_content_crosses_the_wire_and_a_replay_is_refused() {
    let pki = Pki::new("test root");
    let (events, mut server) = recorder(vec![], false);
    let config = NetConfig::new("server").secret(SECRET).tls(presenting(&pki.server()));
    let listener = net::listen(&tls_any(), &config, events).await.unwrap();
    let proxy = Proxy::start(socket_addr(listener.local_addr())).await;
    let via = Address::Tls { host: "127.0.0.1".into(), port: proxy.addr.port() };
    let dial = NetConfig::new("client").secret(SECRET).tls(trusting(&pki));
    one_message_through(via, dial, &mut server).await;

    let recorded = proxy.recorded();
    assert!(recorded.len() > 1000, "the proxy recorded {} bytes", recorded.len());
    assert!(!contains(&recorded, SECRET), "the secret crossed the wire");
    assert!(!contains(&recorded, CONTENT), "message content crossed the wire readable");
    assert!(!contains(&recorded, "client"), "the dialler's name crossed the wire readable");

    let sent = proxy.up.lock().clone();
    let reported = replay(sent, listener.local_addr(), &mut server).await;
    assert!(reported.contains("Tls"), "{reported}");
}

// ---------------------------------------------------------------- challenge-response

#[tokio::test]
async fn a_dialler_with_a_secret_refuses_a_listener_that_asks_for_none() {
    let addr = unix_addr("no-secret-listener");
    let (events, _server) = recorder(vec![], false);
    let _listener = net::listen(&addr, &NetConfig::new("anyone"), events).await.unwrap();
    let (events, _rx) = recorder(vec![], false);
    let err =
        net::connect(&addr, &NetConfig::new("careful").secret(SECRET), events).await.unwrap_err();
    match handshake_error(err) {
        HandshakeError::ListenerHasNoSecret { peer_name } => assert_eq!(peer_name, "anyone"),
        other => panic!("expected ListenerHasNoSecret, got {other:?}"),
    }
}

#[tokio::test]
async fn a_listener_that_does_not_know_the_secret_is_refused_by_the_dialler() {
    let addr = unix_addr("fake-listener");
    let Address::Unix(path) = &addr else { unreachable!() };
    let fake = UnixListener::bind(path).unwrap();
    tokio::spawn(async move {
        let (io, _) = fake.accept().await.unwrap();
        let mut framed = raw(io);
        let Handshake::Hello(hello) = raw_read_handshake(&mut framed).await else {
            panic!("expected Hello")
        };
        let challenge = net::Challenge {
            version: PROTOCOL_VERSION,
            peer_name: "fake".into(),
            nonce: net::Nonce::fresh().unwrap(),
        };
        raw_send_handshake(&mut framed, Handshake::Challenge(challenge.clone())).await;
        let Handshake::Proof(_) = raw_read_handshake(&mut framed).await else {
            panic!("expected Proof")
        };
        // It guesses: the MAC under another secret.
        let guess = net::Secret::new("a guess");
        let mac = Some(net::Welcome::listener_mac(&guess, &hello, &challenge));
        let welcome = net::Welcome { version: PROTOCOL_VERSION, peer_name: "fake".into(), mac };
        raw_send_handshake(&mut framed, Handshake::Welcome(welcome)).await;
    });
    let (events, _rx) = recorder(vec![], false);
    let err =
        net::connect(&addr, &NetConfig::new("careful").secret(SECRET), events).await.unwrap_err();
    assert!(
        matches!(handshake_error(err), HandshakeError::ListenerBadSecret { ref peer_name } if peer_name == "fake")
    );
}

#[tokio::test]
async fn a_version_1_hello_that_sends_its_secret_is_refused_for_its_version() {
    let addr = unix_addr("v1");
    let (events, mut server) = recorder(vec![], false);
    let _listener =
        net::listen(&addr, &NetConfig::new("server").secret(SECRET), events).await.unwrap();
    let Address::Unix(path) = &addr else { unreachable!() };
    let mut peer = raw(UnixStream::connect(path).await.unwrap());
    #[derive(serde::Serialize)]
    enum V1 {
        Hello { version: u32, peer_name: &'static str, secret: &'static str },
    }
    let v1 = V1::Hello { version: 1, peer_name: "old", secret: SECRET };
    peer.send(Bytes::from(rmp_serde::to_vec_named(&v1).unwrap())).await.unwrap();
    match raw_read_handshake(&mut peer).await {
        Handshake::Refused(Refused {
            reason: RefusalReason::VersionMismatch { listener_version },
            ..
        }) => assert_eq!(listener_version, PROTOCOL_VERSION),
        other => panic!("expected a version refusal, got {other:?}"),
    }
    let reported = server.handshake_failed().await;
    assert!(reported.contains("VersionMismatch") && reported.contains("theirs: 1"), "{reported}");
}

#[tokio::test]
async fn a_hello_without_a_full_nonce_is_refused() {
    let addr = unix_addr("short-nonce");
    let (events, mut server) = recorder(vec![], false);
    let _listener =
        net::listen(&addr, &NetConfig::new("server").secret(SECRET), events).await.unwrap();
    let Address::Unix(path) = &addr else { unreachable!() };
    let mut peer = raw(UnixStream::connect(path).await.unwrap());
    let hello = Hello {
        version: PROTOCOL_VERSION,
        peer_name: "short".into(),
        nonce: net::Nonce::from_bytes(vec![0; 4]),
    };
    raw_send_handshake(&mut peer, Handshake::Hello(hello)).await;
    match raw_read_handshake(&mut peer).await {
        Handshake::Refused(r) => assert_eq!(r.reason, RefusalReason::Protocol),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(server.handshake_failed().await.contains("BadNonce { len: 4 }"));
}

// ---------------------------------------------------------------- TLS

#[tokio::test]
async fn tls_with_server_auth_carries_messages_both_ways() {
    let pki = Pki::new("root");
    let (events, mut server) = recorder(vec![], true);
    let config = NetConfig::new("server").secret(SECRET).tls(presenting(&pki.server()));
    let listener = net::listen(&tls_any(), &config, events).await.unwrap();
    assert!(listener.local_addr().is_tls(), "{}", listener.local_addr());
    let (events, mut client) = recorder(vec![], false);
    let dial = NetConfig::new("client").secret(SECRET).tls(trusting(&pki));
    let link = net::connect(&tls_to(listener.local_addr()), &dial, events).await.unwrap();
    assert_eq!(link.peer_name(), "server");
    let mut request = content_message();
    request.response_required = true;
    link.send(Payload::Message(request)).await.unwrap();
    assert_eq!(server.message().await.seq, 1);
    let reply = client
        .until(|e| match e {
            Ev::Got(_, Payload::Reply(r)) => Some(r),
            _ => None,
        })
        .await;
    let ReplyResult::Ok(Some(content)) = reply.result else { panic!("{reply:?}") };
    assert_eq!(content.decode::<String>().unwrap(), CONTENT);
}

#[tokio::test]
async fn tls_with_mutual_auth_admits_a_client_certificate_without_a_secret() {
    let pki = Pki::new("root");
    let (events, mut server) = recorder(vec![], false);
    let tls =
        presenting(&pki.server()).trust_pem(&pki.root_pem()).unwrap().require_client_certs(true);
    // No secret and no allow_unauthenticated: the certificates authenticate.
    let listener =
        net::listen(&tls_any(), &NetConfig::new("server").tls(tls), events).await.unwrap();
    let client = pki.client();
    let dial_tls =
        trusting(&pki).identity_pem(client.cert.as_bytes(), client.key.as_bytes()).unwrap();
    let (events, _rx) = recorder(vec![], false);
    let link = net::connect(
        &tls_to(listener.local_addr()),
        &NetConfig::new("client").tls(dial_tls),
        events,
    )
    .await
    .unwrap();
    assert_eq!(link.state(), LinkState::Up);
    assert_eq!(server.up().await.peer_name(), "client");
}

#[tokio::test]
async fn tls_listener_requiring_client_certificates_refuses_a_dialler_without_one_on_both_sides() {
    let pki = Pki::new("root");
    let (events, mut server) = recorder(vec![], false);
    let tls =
        presenting(&pki.server()).trust_pem(&pki.root_pem()).unwrap().require_client_certs(true);
    let listener =
        net::listen(&tls_any(), &NetConfig::new("server").tls(tls), events).await.unwrap();
    let (events, _rx) = recorder(vec![], false);
    let dial = NetConfig::new("client").tls(trusting(&pki));
    let err = net::connect(&tls_to(listener.local_addr()), &dial, events).await.unwrap_err();
    assert_eq!(tls_kind(err), TlsFailure::NoClientCertificate);
    let reported = server.handshake_failed().await;
    assert!(reported.contains("NoClientCertificate"), "{reported}");
}

#[tokio::test]
async fn tls_dialler_refuses_a_certificate_of_another_root_on_both_sides() {
    let (pki, other) = (Pki::new("root"), Pki::new("another root"));
    let (connected, mut server, _listener) =
        tls_dial(presenting(&pki.server()), trusting(&other)).await;
    assert_eq!(tls_kind(connected.unwrap_err()), TlsFailure::UnknownIssuer);
    let reported = server.handshake_failed().await;
    assert!(reported.contains("RefusedByPeer"), "{reported}");
}

#[tokio::test]
async fn tls_dialler_refuses_a_certificate_for_another_host_name() {
    let pki = Pki::new("root");
    let elsewhere = pki.issue(&["elsewhere.example"], ExtendedKeyUsagePurpose::ServerAuth, false);
    let (connected, _server, _listener) = tls_dial(presenting(&elsewhere), trusting(&pki)).await;
    assert_eq!(tls_kind(connected.unwrap_err()), TlsFailure::WrongName);
}

#[tokio::test]
async fn tls_dialler_refuses_an_expired_certificate() {
    let pki = Pki::new("root");
    let expired = pki.issue(&["127.0.0.1"], ExtendedKeyUsagePurpose::ServerAuth, true);
    let (connected, _server, _listener) = tls_dial(presenting(&expired), trusting(&pki)).await;
    assert_eq!(tls_kind(connected.unwrap_err()), TlsFailure::Expired);
}

#[tokio::test]
async fn tls_dialler_accepts_its_pinned_certificate_and_refuses_another() {
    let pki = Pki::new("root");
    let (pinned, other) = (pki.server(), pki.server());
    let pin = |id: &Identity| Tls::new().pin_pem(id.cert.as_bytes()).unwrap();
    let (connected, _server, _listener) = tls_dial(presenting(&pinned), pin(&pinned)).await;
    assert_eq!(connected.unwrap().state(), LinkState::Up);
    let (connected, _server, _listener) = tls_dial(presenting(&pinned), pin(&other)).await;
    assert_eq!(tls_kind(connected.unwrap_err()), TlsFailure::NotPinned);
}

#[tokio::test]
async fn tls_settings_that_cannot_serve_are_clear_errors_before_any_connection() {
    let (events, _rx) = recorder(vec![], false);
    let err = net::listen(&tls_any(), &NetConfig::new("server").secret(SECRET), events.clone())
        .await
        .unwrap_err();
    assert!(matches!(err, NetError::Tls { source: TlsError::NoIdentity, .. }), "{err:?}");

    let pki = Pki::new("root");
    let config = NetConfig::new("server").secret(SECRET).tls(presenting(&pki.server()));
    let listener = net::listen(&tls_any(), &config, events.clone()).await.unwrap();
    let no_trust = NetConfig::new("client").secret(SECRET).tls(Tls::new());
    let err =
        net::connect(&tls_to(listener.local_addr()), &no_trust, events.clone()).await.unwrap_err();
    assert!(matches!(err, NetError::Tls { source: TlsError::NoTrust, .. }), "{err:?}");

    let err = Tls::new().trust_pem(b"not PEM at all").unwrap_err();
    assert!(matches!(err, TlsError::NoCertificate { what: "the roots" }), "{err:?}");
    let no_roots = presenting(&pki.server()).require_client_certs(true);
    let err =
        net::listen(&tls_any(), &NetConfig::new("server").tls(no_roots), events).await.unwrap_err();
    assert!(matches!(err, NetError::Tls { source: TlsError::ClientCertsNeedRoots, .. }), "{err:?}");
}

#[tokio::test]
async fn a_plaintext_dialler_at_a_tls_listener_fails_at_once_on_both_sides() {
    // Handshake timeouts far beyond PROMPTLY: only a clear failure, not a
    // timeout, can end this in time.
    let patient = Duration::from_secs(3600);
    let pki = Pki::new("root");
    let (events, mut server) = recorder(vec![], false);
    let config = NetConfig::new("server")
        .secret(SECRET)
        .handshake_timeout(patient)
        .tls(presenting(&pki.server()));
    let listener = net::listen(&tls_any(), &config, events).await.unwrap();
    let Address::Tls { host, port } = listener.local_addr().clone() else { unreachable!() };
    let (events, _rx) = recorder(vec![], false);
    let plain = NetConfig::new("client").secret(SECRET).handshake_timeout(patient);
    let plain_addr = Address::Tcp { host, port };
    let connecting = net::connect(&plain_addr, &plain, events);
    let err = tokio::time::timeout(PROMPTLY, connecting).await.expect("no hang").unwrap_err();
    assert_eq!(tls_kind(err), TlsFailure::UnexpectedTls);
    assert!(server.handshake_failed().await.contains("NotTls"));
}

#[tokio::test]
async fn a_tls_dialler_at_a_plaintext_listener_fails_at_once_on_both_sides() {
    let patient = Duration::from_secs(3600);
    let pki = Pki::new("root");
    let (events, mut server) = recorder(vec![], false);
    let config = NetConfig::new("server").secret(SECRET).handshake_timeout(patient);
    let listener = net::listen(&tcp_any(), &config, events).await.unwrap();
    let Address::Tcp { host, port } = listener.local_addr().clone() else { unreachable!() };
    let (events, _rx) = recorder(vec![], false);
    let dial =
        NetConfig::new("client").secret(SECRET).handshake_timeout(patient).tls(trusting(&pki));
    let tls_addr = Address::Tls { host, port };
    let connecting = net::connect(&tls_addr, &dial, events);
    let err = tokio::time::timeout(PROMPTLY, connecting).await.expect("no hang").unwrap_err();
    // The listener cannot answer in TLS: it closes, and the dialler's TLS
    // handshake ends there.
    let closed = handshake_error(err);
    assert!(matches!(closed, HandshakeError::Io(_)), "{closed:?}");
    assert!(server.handshake_failed().await.contains("UnexpectedTls"));
}

// ---------------------------------------------------------------- plaintext

#[tokio::test(flavor = "current_thread")]
async fn a_plaintext_tcp_listener_warns_once_at_start_unless_plaintext_is_allowed() {
    let (logs, _guard) = capture_logs();
    let (events, _rx) = recorder(vec![], false);
    let warned = net::listen(&tcp_any(), &NetConfig::new("server").secret(SECRET), events.clone())
        .await
        .unwrap();
    for _ in 0..2 {
        let (dial_events, _rx) = recorder(vec![], false);
        net::connect(warned.local_addr(), &NetConfig::new("c").secret(SECRET), dial_events)
            .await
            .unwrap();
    }
    let text = logs.text();
    let warnings: Vec<&str> = text.lines().filter(|l| l.contains("plaintext TCP")).collect();
    assert_eq!(warnings.len(), 1, "{text}");
    assert!(warnings[0].contains("WARN") && warnings[0].contains("reads every message"), "{text}");

    let allowed = NetConfig::new("server").secret(SECRET).allow_plaintext(true);
    let _quiet = net::listen(&tcp_any(), &allowed, events).await.unwrap();
    let text = logs.text();
    let last = text.lines().rfind(|l| l.contains("plaintext TCP")).unwrap();
    assert!(last.contains("INFO") && last.contains("allow_plaintext"), "{text}");
}
