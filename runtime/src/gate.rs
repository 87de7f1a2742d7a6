//! The two gates in front of every log site: the rank gate (is this process one of the
//! ranks that log?) and the frequency gate (`every = N`).
//!
//! Both fold into one countdown per site that lives in the experiment's stack frame: a
//! site that does not fire costs a decrement and a branch. A site whose rank does not log
//! starts its countdown at `u64::MAX`, so it never reaches zero.

use std::cell::Cell;

/// Which ranks of a distributed job log a site.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ranks {
    /// Only rank 0 (the default).
    Zero,
    /// Every rank, each into its own per-rank stream.
    All,
    /// The listed ranks.
    List(&'static [u32]),
}

impl Ranks {
    /// Whether `rank` logs.
    pub fn contains(self, rank: u32) -> bool {
        match self {
            Ranks::Zero => rank == 0,
            Ranks::All => true,
            Ranks::List(ranks) => ranks.contains(&rank),
        }
    }
}

/// The counter of one log site within one run.
#[derive(Debug)]
pub struct Site {
    /// Executions left until the site fires again.
    countdown: Cell<u64>,
    /// How many times the site has fired.
    fired: Cell<u64>,
    every: u64,
    /// The last value a `metric` site recorded, for progress bars.
    last: Cell<f64>,
    /// Position among the experiment's sites and the name it records under; together they
    /// identify the site in a checkpoint.
    index: u32,
    name: &'static str,
}

/// A site's counters as a checkpoint stores them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Counter {
    pub countdown: u64,
    pub fired: u64,
}

impl Site {
    /// A site that fires on executions 0, `every`, 2 × `every`, … on the ranks in `ranks`.
    pub fn new(index: u32, name: &'static str, rank: u32, every: u64, ranks: Ranks) -> Site {
        let every = every.max(1);
        let countdown = if ranks.contains(rank) { 0 } else { u64::MAX };
        Site {
            countdown: Cell::new(countdown),
            fired: Cell::new(0),
            every,
            last: Cell::new(f64::NAN),
            index,
            name,
        }
    }

    /// Counts one execution. Returns the default step (the execution count) when the site
    /// fires, `None` otherwise.
    #[inline(always)]
    pub fn fire(&self) -> Option<u64> {
        let countdown = self.countdown.get();
        if countdown != 0 {
            self.countdown.set(countdown - 1);
            return None;
        }
        self.fired_now()
    }

    #[inline]
    fn fired_now(&self) -> Option<u64> {
        self.countdown.set(self.every - 1);
        let fired = self.fired.get();
        self.fired.set(fired + 1);
        Some(fired.saturating_mul(self.every))
    }

    /// The site's name: what it logs under.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The site's position among its experiment's sites.
    pub fn index(&self) -> u32 {
        self.index
    }

    #[inline]
    pub(crate) fn set_last(&self, value: f64) {
        self.last.set(value);
    }

    /// The last value a `metric` site recorded (NaN before the first).
    pub fn last(&self) -> f64 {
        self.last.get()
    }

    /// The site's counters now, as a checkpoint stores them.
    pub fn counter(&self) -> Counter {
        Counter {
            countdown: self.countdown.get(),
            fired: self.fired.get(),
        }
    }

    /// Continues from a checkpoint. A site whose rank does not log stays closed.
    pub(crate) fn restore(&self, counter: Counter) {
        if self.countdown.get() != u64::MAX {
            self.countdown.set(counter.countdown);
            self.fired.set(counter.fired);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(rank: u32, every: u64, ranks: Ranks) -> Site {
        Site::new(0, "x", rank, every, ranks)
    }

    fn steps(site: &Site, executions: usize) -> Vec<u64> {
        (0..executions).filter_map(|_| site.fire()).collect()
    }

    #[test]
    fn every_n_fires_on_multiples_of_n_with_the_execution_count_as_step() {
        assert_eq!(
            steps(&site(0, 10, Ranks::Zero), 100),
            (0..10).map(|i| i * 10).collect::<Vec<_>>()
        );
        assert_eq!(steps(&site(0, 1, Ranks::Zero), 3), [0, 1, 2]);
        assert_eq!(steps(&site(0, 3, Ranks::Zero), 7), [0, 3, 6]);
    }

    #[test]
    fn ranks_outside_the_gate_never_fire() {
        assert!(steps(&site(1, 1, Ranks::Zero), 1000).is_empty());
        assert_eq!(steps(&site(1, 1, Ranks::All), 2), [0, 1]);
        assert_eq!(steps(&site(2, 1, Ranks::List(&[0, 2])), 1), [0]);
        assert!(steps(&site(3, 1, Ranks::List(&[0, 2])), 5).is_empty());
    }

    #[test]
    fn once_fires_once() {
        assert_eq!(steps(&site(0, u64::MAX, Ranks::Zero), 1000), [0]);
    }
}
