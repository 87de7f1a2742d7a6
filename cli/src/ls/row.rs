//! One run as `labbook ls` lists it, and the values `--where` and `--sort` look up in it.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde_json::Value;

use crate::store::{self, Run};
use labbook::store::read::Point;

/// One line of the table, with everything a condition or the sort may ask for.
#[derive(Debug)]
pub(crate) struct Row {
    /// Boxed: a run's info is large, and a listing moves its rows around (100,000 of them).
    pub run: Box<Run>,
    /// `metadata/config.json` as written (kept for `--json` alone), and flattened to dotted
    /// keys.
    pub config_json: Option<Value>,
    pub config: BTreeMap<String, Value>,
    pub params: BTreeMap<String, Value>,
    pub metrics: BTreeMap<String, Point>,
}

/// A value to filter or sort by.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Field {
    Number(f64),
    Text(String),
}

impl Eq for Field {}

impl PartialOrd for Field {
    fn partial_cmp(&self, other: &Field) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Field {
    fn cmp(&self, other: &Field) -> Ordering {
        match (self, other) {
            (Field::Number(a), Field::Number(b)) => a.total_cmp(b),
            (Field::Number(_), Field::Text(_)) => Ordering::Less,
            (Field::Text(_), Field::Number(_)) => Ordering::Greater,
            (Field::Text(a), Field::Text(b)) => a.cmp(b),
        }
    }
}

impl Row {
    /// A metric's last value, a config key, a param, or a column of the table.
    pub fn field(&self, key: &str) -> Option<Field> {
        if let Some(point) = self.metrics.get(key) {
            return Some(Field::Number(point.value));
        }
        if let Some(value) = self.config.get(key).or_else(|| self.params.get(key)) {
            return Some(match value {
                Value::Number(n) => Field::Number(n.as_f64().unwrap_or(f64::NAN)),
                other => Field::Text(store::text(other)),
            });
        }
        let info = &self.run.info;
        Some(match key {
            "status" => Field::Text(self.run.state.as_str().into()),
            "host" => Field::Text(info.host.clone()),
            "group" => Field::Text(info.group.clone()?),
            "experiment" => Field::Text(info.experiment.clone()),
            "id" => Field::Number(info.id as f64),
            "start" => Field::Number(info.start_unix),
            "duration" => Field::Number(self.run.duration(None)?),
            _ => return None,
        })
    }
}
