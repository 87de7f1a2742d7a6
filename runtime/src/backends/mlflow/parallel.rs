//! Several `runs/log-batch` requests in flight at once, for servers with several workers.
//!
//! The engine fills batches of at most 1000 points, each stream's points in file (step)
//! order, and sends up to
//! [`Concurrency::now`](super::concurrency::Concurrency::now) of them together as one
//! window, split into waves so that a metric new to the server is opened by one request ([`schedule`]). A wave
//! is recorded in the state file before it is sent, like a single batch. When every
//! request succeeds, every stream moves past the wave. When some fail, the streams move past
//! the batches that succeeded before the first failure, and the rest is sent again later.
//!
//! Every point is stored once. A request the server answered busy ([`MlflowError::is_busy`]:
//! its database connection pool ran out, two requests raced for a new row) was rolled back
//! and is sent again after a pause, here, a few times. A request that may have landed (no
//! answer, or a later batch of a failed wave) is sent again as it was: the same key, step,
//! timestamp and value, which MLflow's SQL stores keep once (the point is their primary key
//! and a request holding one they have is stored without it). MLflow's file store has no
//! such key; it is deprecated, and labbook talks to it only through a server.

mod schedule;

use std::collections::hash_map::RandomState;
use std::collections::BTreeMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::client::Client;
use super::engine::{Batch, Done, Engine};
use super::state::InFlight;
use super::MlflowError;

/// Tries of one request while the server answers that it is busy.
const BUSY_TRIES: u32 = 4;
/// The first pause after a busy answer; it doubles after each (with ±50 % jitter, so that
/// many runs that were refused together do not come back together).
const FIRST_PAUSE: Duration = Duration::from_millis(250);

/// When to stop trying again: the end of the run's time limit, or nobody waiting any more.
#[derive(Clone, Copy)]
struct Patience<'a> {
    deadline: Option<Instant>,
    abandoned: &'a AtomicBool,
}

impl Patience<'_> {
    fn allows(&self, pause: Duration) -> bool {
        !self.abandoned.load(Ordering::Acquire)
            && self.deadline.is_none_or(|at| Instant::now() + pause < at)
    }
}

/// Sends a batch's metrics, again after a pause while the server is busy; the answer, and
/// whether the server said it was busy at all.
fn log_batch(
    client: &Client,
    run_id: &str,
    batch: &Batch,
    patience: Patience<'_>,
) -> (Result<(), MlflowError>, bool) {
    let metrics = batch.metrics();
    let mut busy = false;
    let mut pause = FIRST_PAUSE;
    for attempt in 1.. {
        match client.log_batch(run_id, &metrics, &[]) {
            Err(e) if e.is_busy() => {
                busy = true;
                let jittered = pause.mul_f64(0.5 + jitter());
                if attempt >= BUSY_TRIES || !patience.allows(jittered) {
                    return (Err(e), busy);
                }
                std::thread::sleep(jittered);
                pause *= 2;
            }
            answer => return (answer, busy),
        }
    }
    unreachable!("the loop returns")
}

/// A number in [0, 1), different in every call and process.
fn jitter() -> f64 {
    (RandomState::new().hash_one(Instant::now()) >> 11) as f64 / (1u64 << 53) as f64
}

/// Sends each batch's metrics as one request, all at once; the answers in batch order, and
/// whether the server said it was busy.
fn log_batches(
    client: &Client,
    run_id: &str,
    batches: &[Batch],
    patience: Patience<'_>,
) -> (Vec<Result<(), MlflowError>>, bool) {
    std::thread::scope(|scope| {
        let handles: Vec<_> = batches
            .iter()
            .map(|batch| scope.spawn(move || log_batch(client, run_id, batch, patience)))
            .collect();
        let mut busy = false;
        let results = handles
            .into_iter()
            .map(|h| {
                let (result, refused) = h.join().expect("a log-batch request does not panic");
                busy |= refused;
                result
            })
            .collect();
        (results, busy)
    })
}

/// What a window of batches covers, stream by stream: from before the first to after the last.
fn covered(batches: &[Batch]) -> InFlight {
    let mut streams: BTreeMap<String, _> = BTreeMap::new();
    for batch in batches {
        for (relative, (key, before, after)) in &batch.streams {
            streams
                .entry(relative.clone())
                .and_modify(|(_, _, end)| *end = *after)
                .or_insert((key.clone(), *before, *after));
        }
    }
    InFlight { streams }
}

impl Engine {
    fn patience(&self) -> Patience<'_> {
        Patience {
            deadline: self.deadline.map(|(at, _)| at),
            abandoned: &self.abandoned,
        }
    }

    /// Sends one batch's metrics, again after a pause while the server is busy.
    pub(super) fn log_batch(&mut self, batch: &Batch) -> Result<(), MlflowError> {
        let started = Instant::now();
        let (result, busy) = log_batch(&self.client, self.run_id(), batch, self.patience());
        self.concurrency
            .window(busy, result.is_ok(), started.elapsed());
        result
    }

    /// Sends a window of batches, wave after wave ([`schedule::waves`]).
    pub(super) fn send_window(
        &mut self,
        window: Vec<Batch>,
        done: &mut Done,
    ) -> Result<(), MlflowError> {
        for wave in schedule::waves(window) {
            self.send_wave(wave, done)?;
        }
        Ok(())
    }

    /// Sends batches together; one batch goes the sequential way.
    fn send_wave(&mut self, mut wave: Vec<Batch>, done: &mut Done) -> Result<(), MlflowError> {
        if wave.len() <= 1 {
            return match wave.pop() {
                Some(batch) => self.send(batch, done),
                None => Ok(()),
            };
        }
        self.check_deadline()?;
        self.state.in_flight = Some(covered(&wave));
        self.save()?;
        let started = Instant::now();
        let (results, busy) = log_batches(&self.client, self.run_id(), &wave, self.patience());
        let landed = results.iter().take_while(|r| r.is_ok()).count();
        self.concurrency
            .window(busy, landed == wave.len(), started.elapsed());
        let rest = wave.split_off(landed);
        for batch in wave {
            for (relative, (_, _, after)) in batch.streams {
                self.state.streams.insert(relative, after);
            }
            done.points += batch.points.len() as u64;
        }
        let Some(error) = results.into_iter().find_map(Result::err) else {
            self.state.in_flight = None;
            return self.save();
        };
        if error.is_rejection() {
            // Find what the server refuses one batch at a time, as without a window.
            self.state.in_flight = None;
            self.save()?;
            for batch in rest {
                self.send(batch, done)?;
            }
            return Ok(());
        }
        self.state.in_flight = Some(covered(&rest));
        self.save()?;
        Err(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_batch_is_well_within_the_request_size_mlflow_takes() {
        // 1000 points (MLflow's most per request) of the longest key MLflow takes, with
        // the longest numbers JSON writes.
        let mut batch = Batch {
            keys: vec!["k".repeat(super::super::local::MAX_KEY_LEN)],
            ..Batch::default()
        };
        batch.points = vec![(0, -f64::MIN_POSITIVE, i64::MIN, i64::MIN); 1000];
        let body = serde_json::json!({"run_id": "0".repeat(32), "metrics": batch.metrics()});
        let size = serde_json::to_vec(&body).unwrap().len();
        assert!(size < 1_000_000, "{size} bytes");
    }
}
