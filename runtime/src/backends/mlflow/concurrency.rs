//! How many `log-batch` requests are in flight, adapted to the server: a server whose
//! database is busy (its connection pool runs out when many runs send at once) halves it,
//! every window that lands whole adds one back, up to `LABBOOK_MLFLOW_PARALLEL`.

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

    /// The server answered that it is busy: half as many at once.
    pub fn busy(&mut self) {
        self.now = (self.now / 2).max(1);
    }

    /// A window landed whole: one more at once, up to the most.
    pub fn landed(&mut self) {
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
}
