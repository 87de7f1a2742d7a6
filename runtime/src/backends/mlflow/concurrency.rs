//! How many `log-batch` requests are in flight, adapted to the server: a server whose
//! database is busy (its connection pool runs out when many runs send at once) halves it,
//! every window that lands whole adds one back, up to `LABBOOK_MLFLOW_PARALLEL`.
//!
//! A server says it is busy only when a request has waited 30 s for a database connection
//! (SQLAlchemy's pool timeout, which MLflow answers with `BAD_REQUEST`), by when every run
//! sending to it has piled up more. So a window that takes [`SLOW`] or longer counts as busy
//! too: a `log-batch` of 1,000 points takes well under a second on a server with room.

use std::time::Duration;

/// A window that takes this long or longer is a server at its limit.
const SLOW: Duration = Duration::from_secs(5);

/// How many requests go out together now: between 1 and the configured most.
#[derive(Debug, Clone, Copy)]
pub(super) struct Concurrency {
    now: usize,
    most: usize,
}

impl Concurrency {
    /// Starts at the configured most (`LABBOOK_MLFLOW_PARALLEL`).
    pub fn new(most: usize) -> Concurrency {
        let most = most.max(1);
        Concurrency { now: most, most }
    }

    /// Requests to send together in the next window.
    pub fn now(&self) -> usize {
        self.now
    }

    /// How a window went (or one request): `busy` when the server said so, `whole` when
    /// every request landed, `took` from the first request out to the last answer in.
    pub fn window(&mut self, busy: bool, whole: bool, took: Duration) {
        if busy || took >= SLOW {
            self.busy();
        } else if whole {
            self.landed();
        }
    }

    /// The server is busy: half as many at once.
    fn busy(&mut self) {
        self.now = (self.now / 2).max(1);
    }

    /// A window landed whole: one more at once, up to the most.
    fn landed(&mut self) {
        self.now = (self.now + 1).min(self.most);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_server_halves_the_requests_in_flight_and_landed_windows_add_them_back() {
        let mut concurrency = Concurrency::new(8);
        assert_eq!(concurrency.now(), 8);
        concurrency.busy();
        concurrency.busy();
        assert_eq!(concurrency.now(), 2);
        concurrency.busy();
        concurrency.busy();
        assert_eq!(concurrency.now(), 1, "never fewer than one");
        for _ in 0..20 {
            concurrency.landed();
        }
        assert_eq!(concurrency.now(), 8, "never more than the setting");
        assert_eq!(Concurrency::new(0).now(), 1);
    }

    #[test]
    fn a_slow_window_counts_as_busy_and_a_window_with_a_failure_changes_nothing() {
        let quick = Duration::from_millis(200);
        let mut concurrency = Concurrency::new(8);
        concurrency.window(false, true, SLOW);
        assert_eq!(concurrency.now(), 4, "landed whole, but slowly");
        concurrency.window(true, false, quick);
        assert_eq!(concurrency.now(), 2, "said busy");
        concurrency.window(false, false, quick);
        assert_eq!(concurrency.now(), 2, "a failure that is not busy");
        concurrency.window(false, true, quick);
        assert_eq!(concurrency.now(), 3, "landed whole and quickly");
    }
}
