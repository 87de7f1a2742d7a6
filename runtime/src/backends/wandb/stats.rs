//! System metrics as W&B's `stats` records, which its UI shows under "System": one record a
//! sample, its items keyed by labbook's names (`cpu_utilization_percentage`, …).

use super::history::write_number;
use super::proto::{Item, StatsRecord, Timestamp};

/// The sample being gathered: the points of one sample share their time.
#[derive(Debug, Default)]
pub(super) struct Stats {
    time: f64,
    items: Vec<Item>,
}

impl Stats {
    /// Adds a point; returns the sample before it when this point starts a new one.
    pub fn add(&mut self, name: &str, time: f64, value: f64) -> Option<StatsRecord> {
        let done = (time != self.time).then(|| self.take()).flatten();
        self.time = time;
        let mut value_json = String::new();
        write_number(&mut value_json, value);
        self.items.push(Item {
            key: name.to_owned(),
            value_json,
        });
        done
    }

    /// The sample gathered so far, if any.
    pub fn take(&mut self) -> Option<StatsRecord> {
        if self.items.is_empty() {
            return None;
        }
        Some(StatsRecord {
            stats_type: 0,
            timestamp: Some(Timestamp::from_unix(self.time)),
            item: std::mem::take(&mut self.items),
        })
    }
}
