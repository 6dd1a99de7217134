//! TLS for tests: a throw-away certificate authority with a server
//! certificate, written as PEM files, and a TLS front for PostgreSQL (the
//! bundled PostgreSQL 16 is built without OpenSSL, so the server side of
//! PostgreSQL's in-protocol TLS upgrade is done here, in front of the real
//! server: the client under test negotiates, verifies and encrypts exactly
//! as against a TLS-enabled PostgreSQL).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

/// A certificate authority and one server certificate it signed, as PEM
/// files in a temporary directory (removed on drop).
pub struct TestCa {
    dir: tempfile::TempDir,
}

impl TestCa {
    /// A new authority and a server certificate for `names` (DNS names or
    /// IP addresses).
    pub fn new(names: &[&str]) -> Self {
        let fail = |what: &str, e: rcgen::Error| -> ! { panic!("making the test {what}: {e}") };
        let ca_key = KeyPair::generate().unwrap_or_else(|e| fail("CA key", e));
        let mut ca_params =
            CertificateParams::new(Vec::<String>::new()).unwrap_or_else(|e| fail("CA parameters", e));
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = ca_params
            .self_signed(&ca_key)
            .unwrap_or_else(|e| fail("CA certificate", e));
        let key = KeyPair::generate().unwrap_or_else(|e| fail("server key", e));
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let cert = CertificateParams::new(names)
            .unwrap_or_else(|e| fail("server parameters", e))
            .signed_by(&key, &ca, &ca_key)
            .unwrap_or_else(|e| fail("server certificate", e));
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("a directory for test certificates: {e}"));
        for (name, pem) in [
            ("ca.pem", ca.pem()),
            ("server.pem", cert.pem()),
            ("server.key", key.serialize_pem()),
        ] {
            std::fs::write(dir.path().join(name), pem).unwrap_or_else(|e| panic!("writing {name}: {e}"));
        }
        Self { dir }
    }

    /// The authority's certificate (what a client trusts).
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The server certificate.
    pub fn cert_file(&self) -> PathBuf {
        self.dir.path().join("server.pem")
    }

    /// The server certificate's private key.
    pub fn key_file(&self) -> PathBuf {
        self.dir.path().join("server.key")
    }

    /// A rustls server configuration presenting the server certificate.
    pub fn acceptor(&self) -> TlsAcceptor {
        let certs = read_certs(&self.cert_file());
        let key = PrivateKeyDer::from_pem_file(self.key_file())
            .unwrap_or_else(|e| panic!("reading the test server key: {e}"));
        let config =
            rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .and_then(|b| b.with_no_client_auth().with_single_cert(certs, key))
                .unwrap_or_else(|e| panic!("the test TLS server configuration: {e}"));
        TlsAcceptor::from(Arc::new(config))
    }
}

fn read_certs(path: &Path) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// PostgreSQL's SSLRequest code (protocol 1234.5679).
const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

/// A TLS-only front for a PostgreSQL server: it answers each client's
/// SSLRequest with `S`, completes the handshake with the test certificate
/// and relays the decrypted stream to `upstream`. A client that does not
/// ask for TLS is refused (`N`, then closed), as `hostssl` rules do.
pub struct PgTlsFront {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl PgTlsFront {
    /// Listens on a free loopback port in front of `upstream`.
    pub async fn start(upstream: SocketAddr, ca: &TestCa) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("binding the TLS front: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("the TLS front's address: {e}"));
        let acceptor = ca.acceptor();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(relay(client, upstream, acceptor.clone()));
            }
        });
        Self { addr, task }
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for PgTlsFront {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One client: the upgrade, then bytes both ways until either side closes.
/// Failures end the connection, which is what the client under test sees.
async fn relay(mut client: TcpStream, upstream: SocketAddr, acceptor: TlsAcceptor) {
    let mut request = [0u8; 8];
    if client.read_exact(&mut request).await.is_err() {
        return;
    }
    if request != SSL_REQUEST {
        let _ = client.write_all(b"N").await;
        return;
    }
    if client.write_all(b"S").await.is_err() {
        return;
    }
    let Ok(mut tls) = acceptor.accept(client).await else {
        return;
    };
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = tokio::io::copy_bidirectional(&mut tls, &mut server).await;
}
