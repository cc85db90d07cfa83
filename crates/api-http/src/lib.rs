//! Cardfile's Bitrix24-compatible REST API: `/rest/{user_id}/{token}/{method}` (incoming
//! webhooks) and `/rest/{method}` (application tokens), the envelope and error table of
//! decisions.md, `batch`, and the user and department methods.
//!
//! Handlers are thin: parse, call one `profile-core` use case, convert. Every access decision is
//! made in the core; this crate only maps its answers onto the wire.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::todo))]

mod activity;
mod batch;
pub mod methods;
mod multipart;
pub mod params;
mod photos;
mod rate;
pub mod reply;
mod serve;
mod transport;
mod web;
pub mod wire;

use std::sync::Arc;

use profile_core::model::image::ImageLimits;
use profile_core::ports::{Clock, Database, IdGen, ImageCodec};
use profile_core::secret::PasswordHasher;
use profile_core::usecase::Ctx;

pub use rate::{RateLimit, OPERATING_BUDGET};
pub use serve::{serve, Connections, Tls, DRAIN_TIMEOUT};
pub use transport::{router, ClientAddr};

/// How the API behaves.
#[derive(Debug, Clone)]
pub struct Config {
    /// The public base URL links in messages start with (no trailing `/`).
    pub base_url: String,
    /// The rate limit per credential ([`RateLimit::PER_CREDENTIAL`]); `None`: no limit.
    pub rate_limit: Option<RateLimit>,
    /// The rate limit per client address, whatever the credential ([`RateLimit::PER_ADDRESS`]);
    /// `None`: no limit.
    pub address_rate_limit: Option<RateLimit>,
    /// A method's operating-time budget per credential and 10 minutes ([`OPERATING_BUDGET`]);
    /// `None`: no budget.
    pub operating_budget: Option<std::time::Duration>,
    /// Refuse plain-HTTP requests with `INVALID_REQUEST`.
    pub require_https: bool,
    /// Run reads on the blocking pool as writes are, for a store whose calls block on the
    /// network (PostgreSQL's driver may not run on an async worker at all); `false` runs them
    /// right on the worker, which SQLite's microsecond reads are faster for.
    pub blocking_reads: bool,
    /// Invitations one user may send an hour (0: no limit).
    pub invitations_per_hour: u32,
    /// How long web sessions last.
    pub sessions: profile_core::model::session::SessionPolicy,
    /// What one client may hold of the server (timeouts, the connection cap).
    pub connections: Connections,
    /// How many reads that may be long (a user query bounded neither by a few IDs nor by one
    /// `FIND` term; `department.get`) run at once; the others wait for a slot. Keep it below
    /// the store's read connections, so that authentication and short reads always find one.
    pub long_reads: usize,
    /// The largest photo or background file accepted, in bytes; `user.add`, `user.update` and
    /// `cardfile.user.background.set` take bodies up to [`Config::upload_body_limit`].
    pub photo_max_bytes: usize,
}

impl Config {
    /// The body limit of the methods that take an image: a file of `photo_max_bytes` in base64
    /// (4/3 of it) and 64 KB of other parameters and multipart framing.
    pub fn upload_body_limit(&self) -> usize {
        self.photo_max_bytes.div_ceil(3) * 4 + 64 * 1024
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            base_url: "http://127.0.0.1:8080".into(),
            rate_limit: Some(RateLimit::PER_CREDENTIAL),
            address_rate_limit: Some(RateLimit::PER_ADDRESS),
            operating_budget: Some(OPERATING_BUDGET),
            require_https: false,
            blocking_reads: false,
            invitations_per_hour: profile_core::usecase::INVITATIONS_PER_HOUR,
            sessions: profile_core::model::session::SessionPolicy::default(),
            connections: Connections::default(),
            long_reads: LONG_READS,
            photo_max_bytes: profile_core::model::image::ImageLimits::DEFAULT.max_bytes,
        }
    }
}

/// [`Config::long_reads`] by default (`serve` sets `cores − 1`, within the store's connections).
pub const LONG_READS: usize = 1;

/// What every request runs with.
pub struct AppState {
    /// The database.
    pub db: Arc<dyn Database + Send + Sync>,
    /// The clock of the domain.
    pub clock: Arc<dyn Clock>,
    /// Randomness.
    pub ids: Arc<dyn IdGen>,
    /// Password hashing.
    pub passwords: Arc<dyn PasswordHasher>,
    /// Decoding uploaded photos and backgrounds (`image_codec::Codec` at `photo_max_bytes`).
    pub images: Arc<dyn ImageCodec>,
    /// Behaviour.
    pub config: Config,
    limits: rate::Limits,
    /// Slots for password hashing (argon2id): at most `cores − 1` at once, the rest wait.
    pub(crate) hashing: tokio::sync::Semaphore,
    /// Slots for reads that may be long ([`Config::long_reads`]).
    pub(crate) long_reads: Arc<tokio::sync::Semaphore>,
    /// The activity REST calls noted, to be written.
    pub(crate) activity: activity::Recorder,
    /// Slots for bodies of the upload methods (larger than other requests may send): at most
    /// [`UPLOAD_BODIES`] are received and handled at once, so that clients cannot make the
    /// server hold hundreds of them before anything is authenticated.
    pub(crate) uploads: Arc<tokio::sync::Semaphore>,
}

/// Upload-method bodies received at once.
pub const UPLOAD_BODIES: usize = 8;

impl AppState {
    /// Builds the state.
    pub fn new(
        db: Arc<dyn Database + Send + Sync>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGen>,
        passwords: Arc<dyn PasswordHasher>,
        config: Config,
    ) -> AppState {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        let hashing = tokio::sync::Semaphore::new(cores.saturating_sub(1).max(1));
        let long_reads = Arc::new(tokio::sync::Semaphore::new(config.long_reads.max(1)));
        let limits = ImageLimits { max_bytes: config.photo_max_bytes, ..ImageLimits::DEFAULT };
        AppState {
            db,
            clock,
            ids,
            passwords,
            images: Arc::new(image_codec::Codec::new(limits)),
            config,
            limits: rate::Limits::default(),
            hashing,
            long_reads,
            activity: activity::Recorder::default(),
            uploads: Arc::new(tokio::sync::Semaphore::new(UPLOAD_BODIES)),
        }
    }

    /// The use-case context.
    pub fn ctx(&self) -> Ctx<'_> {
        Ctx {
            db: &*self.db,
            clock: &*self.clock,
            ids: &*self.ids,
            passwords: &*self.passwords,
            images: &*self.images,
            base_url: &self.config.base_url,
            invitations_per_hour: self.config.invitations_per_hour,
            client: None,
        }
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("config", &self.config).finish_non_exhaustive()
    }
}
