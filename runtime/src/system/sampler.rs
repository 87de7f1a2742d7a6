//! The sampler thread: a sample at the start, one every interval, one at the end.

use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::Probe;
use crate::name::Name;
use crate::record::now;

/// How long CPU use is measured over before the first sample: `sysinfo` needs a moment
/// between two readings.
const FIRST_WAIT: Duration = Duration::from_millis(250);

/// One reading of every metric, at one time.
#[derive(Debug)]
pub(crate) struct Sample<'a> {
    /// Whole seconds since the run started.
    pub step: u64,
    /// Seconds since the Unix epoch.
    pub time: f64,
    pub values: &'a [(Name, f64)],
}

/// Where samples go: the run's writer queue. It never waits; it returns `false` once the
/// run is gone, which stops the sampler.
pub(crate) type Sink = Box<dyn FnMut(&Sample<'_>) -> bool + Send>;

/// The sampler thread of one run.
#[derive(Debug)]
pub(crate) struct Sampler {
    stop: mpsc::Sender<()>,
    thread: JoinHandle<()>,
}

impl Sampler {
    /// Starts sampling every `interval` for the run that started at `start` (seconds since
    /// the Unix epoch) in `dir`, whose log gets the sampler's own messages.
    pub fn start(interval: Duration, start: f64, dir: &Path, mut sink: Sink) -> Option<Sampler> {
        let (stop, stopped) = mpsc::channel::<()>();
        let dir = dir.to_owned();
        let thread = thread::Builder::new()
            .name("labbook-system".into())
            .spawn(move || {
                crate::diagnostics::enter_run_log(&dir);
                let mut probe = Probe::new();
                let mut values = Vec::new();
                let mut wait = FIRST_WAIT;
                loop {
                    let last = match stopped.recv_timeout(wait) {
                        Err(RecvTimeoutError::Timeout) => false,
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => true,
                    };
                    probe.sample(&mut values);
                    let time = now();
                    let step = (time - start).max(0.0) as u64;
                    let sent = sink(&Sample {
                        step,
                        time,
                        values: &values,
                    });
                    if last || !sent {
                        return;
                    }
                    wait = interval;
                }
            });
        match thread {
            Ok(thread) => Some(Sampler { stop, thread }),
            Err(e) => {
                tracing::warn!("labbook records no system metrics for this run: it could not start their thread ({e})");
                None
            }
        }
    }

    /// Takes the last sample and stops; returns once it is handed over.
    pub fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}
