//! Serving the router: plain HTTP (the default, on 127.0.0.1) or HTTPS with rustls (the `ring`
//! provider), from PEM files or a generated self-signed certificate; graceful shutdown that
//! drains the requests in flight (decisions.md "Transport and durability").

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::transport::Secure;
use crate::{router, AppState};

/// How long shutdown waits for requests in flight before giving up on them.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a TLS client may take to finish its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a TLS client may take to send a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);

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
/// requests in flight (up to [`DRAIN_TIMEOUT`]).
///
/// # Errors
/// I/O errors of the listener.
pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    tls: Option<Tls>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let Some(Tls(config)) = tls else {
        // Drain, but not forever: DRAIN_TIMEOUT after the signal, stop regardless.
        let (stopping, mut stopped) = tokio::sync::watch::channel(false);
        let serving = axum::serve(listener, router(state)).with_graceful_shutdown(async move {
            shutdown.await;
            let _ = stopping.send(true);
        });
        let deadline = async move {
            while !*stopped.borrow() {
                if stopped.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
            tokio::time::sleep(DRAIN_TIMEOUT).await;
        };
        return tokio::select! {
            served = serving => served,
            () = deadline => {
                tracing::warn!("requests still in flight after {DRAIN_TIMEOUT:?}; stopping anyway");
                Ok(())
            }
        };
    };
    let acceptor = TlsAcceptor::from(config);
    let app = router(state).layer(Extension(Secure));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((tcp, peer)) = accepted else { continue };
                let acceptor = acceptor.clone();
                let service = TowerToHyperService::new(app.clone());
                let watcher = graceful.watcher();
                tokio::spawn(async move {
                    // A client that never finishes its handshake or its headers must not hold a
                    // connection (and a file descriptor) forever.
                    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(tls)) => tls,
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, "TLS handshake failed: {e}");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(%peer, "TLS handshake timed out");
                            return;
                        }
                    };
                    let conn = hyper::server::conn::http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(HEADER_TIMEOUT)
                        .serve_connection(TokioIo::new(tls), service);
                    if let Err(e) = watcher.watch(conn).await {
                        tracing::debug!(%peer, "connection ended: {e}");
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
