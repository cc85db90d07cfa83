//! The delivery worker: one thread per configured channel, inside `serve`.
//!
//! Each round claims a batch of due messages (one write), sends them one by one over the
//! transport's reused connection, and settles the batch (one write). While nothing is due it
//! polls with a read, never a write. A transport that cannot be used pauses the worker with a
//! backoff, logged once per outage, and fails no message.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use profile_core::model::message::Message;
use profile_core::ports::{Database, RandomIds, SystemClock};
use profile_core::secret::Argon2id;
use profile_core::usecase::outbox::OutboxQueue;
use profile_core::usecase::queue::{self, Outcome, RetryPolicy};
use profile_core::usecase::Ctx;

use crate::Transport;

/// How a worker runs.
#[derive(Debug, Clone, Copy)]
pub struct WorkerOptions {
    /// Retries, give-up time and leases.
    pub policy: RetryPolicy,
    /// Messages claimed per round.
    pub batch: usize,
    /// How often an idle worker looks for due messages.
    pub poll: Duration,
}

impl Default for WorkerOptions {
    fn default() -> WorkerOptions {
        WorkerOptions { policy: RetryPolicy::default(), batch: 100, poll: Duration::from_millis(500) }
    }
}

/// A running worker; [`Worker::stop`] ends it after the round in flight.
#[derive(Debug)]
pub struct Worker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    /// Starts a worker sending with `transport`.
    ///
    /// # Errors
    /// When the thread cannot be started.
    pub fn spawn(
        db: Arc<dyn Database + Send + Sync>,
        base_url: String,
        mut transport: Box<dyn Transport>,
        options: WorkerOptions,
    ) -> Result<Worker, String> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let name = format!("deliver-{}", transport.channel().code());
        let thread = std::thread::Builder::new()
            .name(name)
            .spawn(move || {
                let ctx = Ctx {
                    db: &*db,
                    clock: &SystemClock,
                    ids: &RandomIds,
                    passwords: &Argon2id::PRODUCTION,
                    images: &profile_core::ports::NoImages,
                    base_url: &base_url,
                    invitations_per_hour: 0,
                    client: None,
                };
                run(ctx, &mut *transport, &options, &flag);
            })
            .map_err(|e| format!("cannot start the delivery worker: {e}"))?;
        Ok(Worker { stop, thread: Some(thread) })
    }

    /// Stops the worker and waits for it: what it claimed is settled first.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Sleeps `d` in short steps, returning early once `stop` is set.
fn nap(d: Duration, stop: &AtomicBool) {
    let until = Instant::now() + d;
    while !stop.load(Ordering::Relaxed) {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
}

/// The transport's outage, while there is one.
struct Pause {
    backoff: Duration,
    until: Instant,
}

fn run(ctx: Ctx<'_>, transport: &mut dyn Transport, options: &WorkerOptions, stop: &AtomicBool) {
    let q = OutboxQueue { channel: transport.channel() };
    let first = options.policy.first_retry.to_std().unwrap_or(Duration::from_secs(30));
    let max = options.policy.max_retry.to_std().unwrap_or(Duration::from_secs(3600));
    let lease = options.policy.lease.to_std().unwrap_or(Duration::from_secs(120));
    let mut pause: Option<Pause> = None;
    match transport.check() {
        Ok(()) => {
            tracing::info!(transport = %transport.describe(), channel = q.channel.code(), "delivery worker started")
        }
        Err(e) => tracing::warn!(
            transport = %transport.describe(),
            channel = q.channel.code(),
            error = %e,
            "delivery worker started, but the transport does not work yet: messages wait and are retried"
        ),
    }
    while !stop.load(Ordering::Relaxed) {
        if let Some(p) = &pause {
            if Instant::now() < p.until {
                nap(p.until - Instant::now(), stop);
                continue;
            }
        }
        let claimed = match queue::has_due(ctx, &q).and_then(|due| {
            if due {
                queue::claim(ctx, &q, &options.policy, options.batch)
            } else {
                Ok(Vec::new())
            }
        }) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "delivery: cannot read the outbox; trying again");
                nap(Duration::from_secs(1), stop);
                continue;
            }
        };
        if claimed.is_empty() {
            nap(options.poll, stop);
            continue;
        }
        let started = Instant::now();
        let mut outcomes: Vec<(&Message, Outcome)> = Vec::with_capacity(claimed.len());
        let mut down: Option<String> = None;
        for m in &claimed {
            // Stop sending well before the lease ends, so no other worker takes a message this
            // one is still sending; and stop at once when asked to.
            if down.is_some() || started.elapsed() > lease / 2 || stop.load(Ordering::Relaxed) {
                outcomes.push((m, Outcome::Released));
                continue;
            }
            let outcome = transport.send(m);
            if let Outcome::Paused(why) = &outcome {
                down = Some(why.clone());
            }
            outcomes.push((m, outcome));
        }
        if let Err(e) = queue::settle(ctx, &q, &options.policy, &outcomes) {
            // The leases run out and the messages come back: at least once, never lost.
            tracing::warn!(error = %e, "delivery: cannot record what was sent; the messages will be sent again");
        }
        match (down, pause.as_mut()) {
            (Some(why), None) => {
                tracing::warn!(transport = %transport.describe(), reason = %why, retry_in = ?first, "delivery paused: the transport cannot be used");
                pause = Some(Pause { backoff: first, until: Instant::now() + first });
            }
            (Some(_), Some(p)) => {
                p.backoff = (p.backoff * 2).min(max);
                p.until = Instant::now() + p.backoff;
            }
            (None, Some(_)) => {
                tracing::info!(transport = %transport.describe(), "delivery resumed");
                pause = None;
            }
            (None, None) => {}
        }
    }
    tracing::info!(channel = q.channel.code(), "delivery worker stopped");
}
