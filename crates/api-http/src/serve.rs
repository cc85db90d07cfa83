//! Serving the router: plain HTTP (the default, on 127.0.0.1) or HTTPS with rustls (the `ring`
//! provider), from PEM files or a generated self-signed certificate; graceful shutdown that
//! drains the requests in flight (decisions.md "Transport and durability").

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::transport::{ClientAddr, Secure};
use crate::{router, AppState};

/// How long shutdown waits for requests in flight before giving up on them.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a TLS client may take to finish its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client may take to send a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// How long to wait before accepting again after accepting failed.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// A TLS configuration for the server.
#[derive(Clone)]
pub struct Tls(Arc<ServerConfig>);

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tls")
    }
}

fn config(certs: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> Result<Tls, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("the certificate and key do not fit together: {e}"))?;
    Ok(Tls(Arc::new(config)))
}

impl Tls {
    /// Reads a certificate chain and its private key from PEM files.
    ///
    /// # Errors
    /// A message naming the file that could not be read or parsed.
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<Tls, String> {
        let certs = CertificateDer::pem_file_iter(cert)
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(|e| format!("cannot read the certificate {}: {e}", cert.display()))?;
        if certs.is_empty() {
            return Err(format!("no certificate in {}", cert.display()));
        }
        let key = PrivateKeyDer::from_pem_file(key)
            .map_err(|e| format!("cannot read the private key {}: {e}", key.display()))?;
        config(certs, key)
    }

    /// A certificate chain and its private key, PEM text (as kept in a database).
    ///
    /// # Errors
    /// A message when either does not parse, or they do not fit together.
    pub fn from_pem(cert: &str, key: &str) -> Result<Tls, String> {
        let certs = CertificateDer::pem_slice_iter(cert.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("cannot read the certificate: {e}"))?;
        if certs.is_empty() {
            return Err("no certificate in the PEM text".into());
        }
        let key = PrivateKeyDer::from_pem_slice(key.as_bytes())
            .map_err(|e| format!("cannot read the private key: {e}"))?;
        config(certs, key)
    }

    /// A new self-signed certificate for `names`, as PEM text: the certificate, then the key.
    ///
    /// # Errors
    /// A message when generation fails.
    pub fn generate_self_signed(names: &[String]) -> Result<(String, String), String> {
        let generated = rcgen::generate_simple_self_signed(names.to_vec()).map_err(|e| e.to_string())?;
        Ok((generated.cert.pem(), generated.signing_key.serialize_pem()))
    }

    /// A self-signed certificate for `names` (host names or IP addresses), kept in `cert_path`
    /// and `key_path`: reused when both exist, so clients trust it once
    /// (`REQUESTS_CA_BUNDLE`, `NODE_EXTRA_CA_CERTS`, `curl --cacert`); generated and written
    /// (the key readable by its owner only) otherwise.
    ///
    /// # Errors
    /// A message when generation, reading or writing fails.
    pub fn self_signed(names: &[String], cert_path: &Path, key_path: &Path) -> Result<Tls, String> {
        if cert_path.exists() && key_path.exists() {
            return Tls::from_pem_files(cert_path, key_path);
        }
        let generated = rcgen::generate_simple_self_signed(names.to_vec()).map_err(|e| e.to_string())?;
        write_private(key_path, generated.signing_key.serialize_pem().as_bytes())?;
        std::fs::write(cert_path, generated.cert.pem())
            .map_err(|e| format!("cannot write {}: {e}", cert_path.display()))?;
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(generated.signing_key.serialize_der()));
        config(vec![generated.cert.der().clone()], key)
    }
}

/// Writes a file only its owner can read.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .and_then(|mut f| f.write_all(bytes))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Serves the API on `listener` until `shutdown` completes, then stops accepting and drains the
/// requests in flight (up to [`DRAIN_TIMEOUT`]). Plain HTTP and TLS share one accept loop: each
/// request carries its client's address (`transport::ClientAddr`) and, over TLS, `transport::Secure`.
///
/// # Errors
/// I/O errors of the listener.
pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    tls: Option<Tls>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let acceptor = tls.map(|Tls(config)| TlsAcceptor::from(config));
    let app = router(state);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (tcp, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of descriptors (or another passing failure): wait instead of
                        // spinning a core on a listener that stays ready.
                        tracing::warn!("cannot accept a connection: {e}");
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                        continue;
                    }
                };
                let _ = tcp.set_nodelay(true);
                let client = ClientAddr(peer.ip());
                let secure = acceptor.is_some();
                let service = app.clone().map_request(move |mut request: Request<Incoming>| {
                    request.extensions_mut().insert(client);
                    if secure {
                        request.extensions_mut().insert(Secure);
                    }
                    request
                });
                let watcher = graceful.watcher();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Some(acceptor) = acceptor else {
                        return connection(TokioIo::new(tcp), service, watcher, peer).await;
                    };
                    // A client that never finishes its handshake must not hold a connection
                    // (and a file descriptor) forever.
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(tls)) => connection(TokioIo::new(tls), service, watcher, peer).await,
                        Ok(Err(e)) => tracing::debug!(%peer, "TLS handshake failed: {e}"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown()).await.is_err() {
        tracing::warn!("requests still in flight after {DRAIN_TIMEOUT:?}; stopping anyway");
    }
    Ok(())
}

/// Serves one connection (HTTP/1.1), until the client closes it or shutdown drains it.
async fn connection<S, Svc>(io: TokioIo<S>, service: Svc, watcher: Watcher, peer: SocketAddr)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    Svc: tower::Service<Request<Incoming>, Response = axum::response::Response, Error = Infallible>
        + Clone
        + Send
        + 'static,
    Svc::Future: Send + 'static,
{
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        // A client that never finishes its headers must not hold a connection forever.
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(io, TowerToHyperService::new(service));
    if let Err(e) = watcher.watch(conn).await {
        tracing::debug!(%peer, "connection ended: {e}");
    }
}
