//! What a log site hands to the writer thread.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::histogram::Summary;
use crate::image::Image;

use crate::name::Name;
use crate::store::meta::RunTags;

/// One logged point.
#[derive(Clone, Debug)]
pub struct Record {
    /// The stream it belongs to.
    pub name: Name,
    /// The step it was logged at.
    pub step: u64,
    /// Wall-clock time of the log call, in seconds since the Unix epoch.
    pub time: f64,
    /// What was logged.
    pub value: Value,
}

/// The payload of a record; its variant is the kind of the stream.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Value {
    /// A `metric`: NaN and infinities are kept as they are.
    Scalar(f64),
    /// A `text`.
    Text(String),
    /// A `param`: any serialisable value.
    Param(serde_json::Value),
    /// A `histogram`, already summarised.
    Histogram(Arc<Summary>),
    /// An `image`; its PNG encoding is made once and shared.
    Image(Arc<Image>),
    /// A `checkpoint` file, already written into the run directory.
    Checkpoint(PathBuf),
    /// An `artifact`, already copied into the run's `artifacts/` folder.
    Artifact(PathBuf),
    /// The run's tags, group and notes after `run().tag(…)` or `run().note(…)` changed them
    /// (already in `info.json`): backends that can, update the run they keep.
    Tags(Arc<RunTags>),
    /// A system metric from the run's sampler (`system/<name>.jsonl`); its step is whole
    /// seconds since the run started.
    System(f64),
}

impl Value {
    /// The kind as written in `#[log(kind)]`.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Scalar(_) => "metric",
            Value::Text(_) => "text",
            Value::Param(_) => "param",
            Value::Histogram(_) => "histogram",
            Value::Image(_) => "image",
            Value::Checkpoint(_) => "checkpoint",
            Value::Artifact(_) => "artifact",
            Value::Tags(_) => "tags",
            Value::System(_) => "system",
        }
    }
}

/// Seconds since the Unix epoch, as every backend stores wall time.
pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
