//! Test support (feature `testing`): an in-memory [`MemoryDb`] implementing every port with the
//! reference semantics of [`crate::query`], fixed clocks and counters, and the store contract
//! suite ([`contract`]) that every backend must pass.

pub mod contract;
mod memory;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

pub use memory::MemoryDb;

use crate::ports::{Clock, IdGen};

/// A clock that stands still until moved.
#[derive(Debug)]
pub struct FixedClock(Mutex<DateTime<Utc>>);

impl FixedClock {
    /// A clock at 2026-01-02T03:04:05Z.
    pub fn new() -> FixedClock {
        FixedClock(Mutex::new(DateTime::from_timestamp(1_767_323_045, 0).unwrap_or_default()))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        if let Ok(mut t) = self.0.lock() {
            *t += by;
        }
    }
}

impl Default for FixedClock {
    fn default() -> Self {
        FixedClock::new()
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0.lock().map(|t| *t).unwrap_or_default()
    }
}

/// UUIDs from a counter, and random bytes from a second one: deterministic in tests.
#[derive(Debug, Default)]
pub struct CountingIds {
    next: AtomicU64,
    fills: AtomicU64,
    seed: u64,
}

impl CountingIds {
    /// A generator whose UUIDs start after `n` and whose bytes differ from those of every
    /// generator with another `n`: two of them can share a database.
    pub fn starting_at(n: u64) -> CountingIds {
        CountingIds { next: AtomicU64::new(n), fills: AtomicU64::new(0), seed: n }
    }
}

impl IdGen for CountingIds {
    fn uuid(&self) -> Uuid {
        Uuid::from_u128(u128::from(self.next.fetch_add(1, Ordering::Relaxed)) + 1)
    }

    /// Deterministic, never-repeating bytes: SHA-256 of the seed and a counter, block by block.
    fn fill(&self, buf: &mut [u8]) {
        use sha2::{Digest, Sha256};
        for chunk in buf.chunks_mut(32) {
            let n = self.fills.fetch_add(1, Ordering::Relaxed);
            let block =
                Sha256::new().chain_update(self.seed.to_be_bytes()).chain_update(n.to_be_bytes()).finalize();
            chunk.copy_from_slice(&block[..chunk.len()]);
        }
    }
}

/// The contract suite's image codec: it reads a made-up format instead of decoding pictures,
/// so store behaviour (copies kept, replaced, deleted, served, copied across accounts) is
/// tested without a picture library. `TESTIMAGE <label>` is an image; its copy of each size is
/// `<size> <label>`; `TESTIMAGE damaged` is a damaged file; anything else is not an image. The
/// real codec (`crates/image-codec`) is tested with real pictures, and through the server.
#[derive(Debug, Clone, Copy, Default)]
pub struct TestImages;

impl TestImages {
    /// An upload the codec accepts.
    pub fn file(label: &str) -> Vec<u8> {
        format!("TESTIMAGE {label}").into_bytes()
    }
}

impl crate::ports::ImageCodec for TestImages {
    fn limits(&self) -> crate::model::image::ImageLimits {
        crate::model::image::ImageLimits { max_bytes: 1_000, max_pixels: 1_000_000 }
    }

    fn prepare(
        &self,
        bytes: &[u8],
        purpose: crate::model::image::ImagePurpose,
    ) -> Result<crate::model::image::PreparedImage, crate::model::image::ImageError> {
        use crate::model::image::{ImageError, ImageFormat, PreparedImage};
        let label = bytes.strip_prefix(b"TESTIMAGE ").ok_or(ImageError::UnsupportedFormat)?;
        if label == b"damaged" {
            return Err(ImageError::Damaged);
        }
        let label = String::from_utf8_lossy(label);
        let copies =
            purpose.sizes().iter().map(|s| (*s, format!("{} {label}", s.name()).into_bytes())).collect();
        Ok(PreparedImage { format: ImageFormat::Png, copies })
    }
}
