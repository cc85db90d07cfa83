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
/// How long to wait before accepting again after accepting failed.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// How long an over-the-cap connection may take to take its 503.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(2);

/// What one client may hold of the server: time to send its request, time idle between
/// requests, and a share of the connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connections {
    /// How long a client may take to send a request's headers.
    pub header_timeout: Duration,
    /// How long a client may take to send a request's body, once its headers are in.
    pub body_timeout: Duration,
    /// How long a kept-alive connection may stay idle between requests.
    pub idle_timeout: Duration,
    /// How many connections may be open at once; the next ones get a 503 `OVERLOAD_LIMIT`.
    pub max_connections: usize,
}

impl Default for Connections {
    /// 10 s for the headers, 20 s for the body, 15 s idle, 512 connections.
    fn default() -> Connections {
        Connections {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(15),
            max_connections: 512,
        }
    }
}

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
    let limits = state.config.connections;
    let open = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let activity = tokio::spawn(crate::activity::flush_every(Arc::clone(&state)));
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
                let Ok(permit) = Arc::clone(&open).try_acquire_owned() else {
                    tokio::spawn(refuse(tcp, acceptor.is_some()));
                    continue;
                };
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
                    let _permit = permit;
                    let Some(acceptor) = acceptor else {
                        return connection(tcp, service, watcher, peer, limits).await;
                    };
                    // A client that never finishes its handshake must not hold a connection
                    // (and a file descriptor) forever: it has the header timeout for it.
                    match tokio::time::timeout(limits.header_timeout, acceptor.accept(tcp)).await {
                        Ok(Ok(tls)) => connection(tls, service, watcher, peer, limits).await,
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
    // Activity not yet written is dropped: it is not an acknowledged write.
    activity.abort();
    Ok(())
}

/// Serves one connection (HTTP/1.1), until the client closes it, it stays idle past the idle
/// timeout, or shutdown drains it.
async fn connection<S, Svc>(io: S, service: Svc, watcher: Watcher, peer: SocketAddr, limits: Connections)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    Svc: tower::Service<Request<Incoming>, Response = axum::response::Response, Error = Infallible>
        + Clone
        + Send
        + 'static,
    Svc::Future: Send + 'static,
{
    let activity = Arc::new(Activity::default());
    let service = Busy { inner: service, activity: Arc::clone(&activity) };
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        // A client that never finishes its headers must not hold a connection forever.
        .header_read_timeout(limits.header_timeout)
        .serve_connection(
            TokioIo::new(Watched { inner: io, activity: Arc::clone(&activity) }),
            TowerToHyperService::new(service),
        );
    tokio::select! {
        served = watcher.watch(conn) => {
            if let Err(e) = served {
                tracing::debug!(%peer, "connection ended: {e}");
            }
        }
        () = activity.idle_for(limits.idle_timeout) => tracing::debug!(%peer, "idle connection closed"),
    }
}

/// Answers a connection over the cap with a 503 `OVERLOAD_LIMIT` (on plain HTTP; over TLS a
/// reply would cost a handshake, so it is only closed), without reading its request.
async fn refuse(mut tcp: tokio::net::TcpStream, tls: bool) {
    use tokio::io::AsyncWriteExt;
    tracing::warn!("over the connection limit: a connection is refused");
    if tls {
        return;
    }
    let body = r#"{"error":"OVERLOAD_LIMIT","error_description":"Too many connections; try again shortly."}"#;
    let reply = format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json; charset=utf-8\r\n\
         Content-Length: {}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(REFUSAL_TIMEOUT, async {
        tcp.write_all(reply.as_bytes()).await?;
        tcp.shutdown().await
    })
    .await;
}

/// What a connection is doing: when it last moved bytes, and how many requests are in flight.
#[derive(Default)]
struct Activity {
    /// Milliseconds since `since`, when bytes last moved.
    last: std::sync::atomic::AtomicU64,
    in_flight: std::sync::atomic::AtomicUsize,
    since: std::sync::OnceLock<std::time::Instant>,
}

impl Activity {
    fn now(&self) -> u64 {
        let since = *self.since.get_or_init(std::time::Instant::now);
        u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn moved(&self) {
        self.last.store(self.now(), std::sync::atomic::Ordering::Relaxed);
    }

    /// Completes once the connection has had no request in flight and moved no byte for `idle`.
    async fn idle_for(&self, idle: Duration) {
        use std::sync::atomic::Ordering::Relaxed;
        self.moved();
        let idle_ms = u64::try_from(idle.as_millis()).unwrap_or(u64::MAX);
        loop {
            let quiet = self.now().saturating_sub(self.last.load(Relaxed));
            if self.in_flight.load(Relaxed) == 0 && quiet >= idle_ms {
                return;
            }
            let left = if self.in_flight.load(Relaxed) > 0 { idle_ms } else { idle_ms - quiet };
            tokio::time::sleep(Duration::from_millis(left.max(10))).await;
        }
    }
}

/// The connection's stream, noting when bytes move.
struct Watched<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for Watched<S> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.moved();
        }
        polled
    }
}

impl<S: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, std::task::Poll::Ready(Ok(n)) if n > 0) {
            self.activity.moved();
        }
        polled
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The service, counting the requests in flight (a long request is not idleness).
#[derive(Clone)]
struct Busy<Svc> {
    inner: Svc,
    activity: Arc<Activity>,
}

impl<Svc> tower::Service<Request<Incoming>> for Busy<Svc>
where
    Svc: tower::Service<Request<Incoming>, Response = axum::response::Response, Error = Infallible>,
    Svc::Future: Send + 'static,
{
    type Response = axum::response::Response;
    type Error = Infallible;
    type Future = std::pin::Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Incoming>) -> Self::Future {
        use std::sync::atomic::Ordering::Relaxed;
        self.activity.in_flight.fetch_add(1, Relaxed);
        let done = InFlight(Arc::clone(&self.activity));
        let answer = self.inner.call(request);
        Box::pin(async move {
            let answered = answer.await;
            drop(done);
            answered
        })
    }
}

/// One request in flight; dropping it (answered or cancelled) counts it out.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        self.0.moved();
    }
}
