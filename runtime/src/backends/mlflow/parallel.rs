//! Several `runs/log-batch` requests in flight at once, for servers with several workers.
//!
//! The engine fills batches of at most 1000 points, each stream's points in file (step)
//! order, and sends up to [`Settings::parallel`](super::Settings) of them together as one
//! window. The window is recorded in the state file before it is sent, like a single batch.
//! When every request succeeds, every stream moves past the window. When some fail, the
//! streams move past the batches that succeeded before the first failure, and the rest is
//! sent again later: a batch that did land then is sent twice, and MLflow's SQL stores keep
//! one copy of a point whose key, step, time and value they already hold.

use std::collections::BTreeMap;

use super::client::Client;
use super::engine::{Batch, Done, Engine};
use super::state::InFlight;
use super::MlflowError;

/// Sends each batch's metrics as one request, all at once; the answers in batch order.
fn log_batches(client: &Client, run_id: &str, batches: &[Batch]) -> Vec<Result<(), MlflowError>> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = batches
            .iter()
            .map(|batch| scope.spawn(move || client.log_batch(run_id, &batch.metrics(), &[])))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a log-batch request does not panic"))
            .collect()
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
    /// Sends a window of batches together; one batch goes the sequential way.
    pub(super) fn send_window(
        &mut self,
        mut window: Vec<Batch>,
        done: &mut Done,
    ) -> Result<(), MlflowError> {
        if window.len() <= 1 {
            return match window.pop() {
                Some(batch) => self.send(batch, done),
                None => Ok(()),
            };
        }
        self.check_deadline()?;
        self.state.in_flight = Some(covered(&window));
        self.save()?;
        let results = log_batches(&self.client, self.run_id(), &window);
        let landed = results.iter().take_while(|r| r.is_ok()).count();
        let rest = window.split_off(landed);
        for batch in window {
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
