//! TensorBoard event files (feature `tensorboard`): every run writes
//! `runs/<experiment>/<id>/events.out.tfevents.<secs>.<host>.<pid>.<n>` (ranks other than 0
//! in `rank<r>/`), so `tensorboard --logdir runs` shows it as the run `<experiment>/<id>`
//! (`<experiment>/<id>/rank<r>`), the name the run has everywhere else.
//!
//! - metrics are TensorBoard scalars (32-bit floats, as TensorBoard keeps them; NaN and ±inf
//!   as they are) under the labbook name (`train/loss` stays `train/loss`), with the labbook
//!   step and wall time;
//! - histograms are TensorBoard histograms made from the stored buckets, images are PNGs,
//!   texts use the text plugin (rendered as Markdown);
//! - on rank 0, the config (flattened to `a.b.c`) and the params are the run's hparams: the
//!   session starts at the first flush, and the end writes the hparams experiment (these
//!   hparams and the last value of every metric) and the session's status. The run's tags
//!   are hparams too (`tag.<key>`: the value, or `true` for a bare tag), and so is its group
//!   (`group`). A param or tag given after the first flush does not reach the HPARAMS tab.
//!
//! Records go through a buffer that is flushed every 2 seconds and at the end of the run;
//! a killed run's file reads up to its last whole record.

mod hparams;
mod proto;
mod record;

use std::collections::{BTreeSet, HashSet};
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use prost::Message;

use self::hparams::Hparams;
use self::proto::{
    Event, HistogramProto, Kind, Summary, SummaryMetadata, SummaryValue, TensorProto, TensorShape,
    What, DATA_CLASS_TENSOR, DT_STRING,
};
use crate::backend::{Backend, BackendError, RunContext, RunEnd};
use crate::histogram;
use crate::image::Image;
use crate::name::Name;
use crate::record::{now, Record, Value};
use crate::store::layout;
use crate::store::meta::RunTags;

/// Where `rank` writes its event files in the run directory `run`: the run directory itself,
/// which TensorBoard names by its path under the logdir (`mnist/1`), or `rank<r>/` in it.
pub fn event_dir(run: &Path, rank: u32) -> PathBuf {
    match rank {
        0 => run.to_owned(),
        rank => run.join(format!("rank{rank}")),
    }
}

/// Files opened by this process, the last part of their names.
static FILES: AtomicU32 = AtomicU32::new(0);

struct TensorBoard {
    dir: PathBuf,
    host: String,
    /// Opened at the start on rank 0, at the first record on other ranks.
    file: Option<BufWriter<File>>,
    /// The encoded event being written, reused.
    payload: Vec<u8>,
    /// Tags with a value in this file.
    tags: HashSet<Name>,
    scalar_tags: BTreeSet<String>,
    /// Rank 0 only: the run's hparams session.
    session: Option<Session>,
}

struct Session {
    hparams: Hparams,
    start_time: f64,
    started: bool,
    warned_late_param: bool,
}

impl TensorBoard {
    fn open(&mut self) -> Result<(), BackendError> {
        if self.file.is_none() {
            fs::create_dir_all(&self.dir)?;
            let time = now();
            let name = format!(
                "events.out.tfevents.{:010}.{}.{}.{}",
                time as u64,
                self.host,
                std::process::id(),
                FILES.fetch_add(1, Ordering::Relaxed)
            );
            let path = self.dir.join(name);
            self.file = Some(crate::backend::create_new_file(&path)?);
            let version = What::FileVersion("brain.Event:2".into());
            self.append(time, 0, version)?;
        }
        Ok(())
    }

    fn append(&mut self, wall_time: f64, step: u64, what: What) -> Result<(), BackendError> {
        self.open()?;
        let event = Event {
            wall_time,
            step: i64::try_from(step).unwrap_or(i64::MAX),
            what: Some(what),
        };
        self.payload.clear();
        event.encode(&mut self.payload).map_err(BackendError::new)?;
        let file = self.file.as_mut().expect("opened above");
        record::write(file, &self.payload)?;
        Ok(())
    }

    fn summary(&mut self, time: f64, step: u64, value: SummaryValue) -> Result<(), BackendError> {
        let summary = Summary { value: vec![value] };
        self.append(time, step, What::Summary(summary))
    }

    /// Whether this is the first value of `name` in this file (the one that carries the
    /// tag's metadata: TensorBoard reads no other).
    fn first_value(&mut self, name: &Name) -> bool {
        if self.tags.contains(name) {
            return false;
        }
        self.tags.insert(name.clone())
    }

    fn param(&mut self, name: &Name, value: &serde_json::Value) {
        let Some(session) = &mut self.session else {
            return;
        };
        if session.started {
            let mut late = Hparams::default();
            late.add(name.as_str(), value);
            if !session.hparams.includes(&late)
                && !std::mem::replace(&mut session.warned_late_param, true)
            {
                tracing::warn!(
                    "labbook: param `{name}` was logged after the run's TensorBoard hparams were written; the HPARAMS tab will not show it"
                );
            }
            return;
        }
        session.hparams.add(name.as_str(), value);
    }

    /// The run's tags and group as hparams, while the session has not started.
    fn retag(&mut self, run: &RunTags) {
        let Some(session) = &mut self.session else {
            return;
        };
        if session.started {
            let mut late = Hparams::default();
            late.add_tags(run);
            if !session.hparams.includes(&late)
                && !std::mem::replace(&mut session.warned_late_param, true)
            {
                tracing::warn!(
                    "labbook: the run was tagged after its TensorBoard hparams were written; the HPARAMS tab will not show the new tags"
                );
            }
            return;
        }
        session.hparams.add_tags(run);
    }

    /// Writes the session start once, at the first flush that has hparams to show.
    fn start_session(&mut self) -> Result<(), BackendError> {
        let value = match &mut self.session {
            Some(session) if !session.started && !session.hparams.is_empty() => {
                session.started = true;
                session.hparams.session_start(session.start_time)
            }
            _ => return Ok(()),
        };
        self.summary(now(), 0, value)
    }
}

impl Backend for TensorBoard {
    fn start(&mut self, run: &RunContext) -> Result<(), BackendError> {
        if let Some(session) = &mut self.session {
            session.start_time = run.info.start_unix;
            if let Some(config) = &run.config {
                session.hparams.add("", config);
            }
            session.hparams.add_tags(&RunTags::of(&run.info));
            self.open()?;
        }
        Ok(())
    }

    fn write(&mut self, batch: &[Record]) -> Result<(), BackendError> {
        for record in batch {
            let name = &record.name;
            let (kind, metadata) = match &record.value {
                // TensorBoard's scalars are 32-bit: its Rust data server reads no other.
                Value::Scalar(value) => {
                    if self.first_value(name) {
                        self.scalar_tags.insert(name.to_string());
                    }
                    (Kind::SimpleValue(*value as f32), None)
                }
                Value::Text(text) => {
                    let metadata = self
                        .first_value(name)
                        .then(|| SummaryMetadata::plugin("text", Vec::new(), DATA_CLASS_TENSOR));
                    (text_tensor(text), metadata)
                }
                Value::Histogram(summary) => (Kind::Histo(histogram_proto(summary)), None),
                Value::Image(image) => (Kind::Image(image_summary(image)), None),
                Value::Param(value) => {
                    self.param(name, value);
                    continue;
                }
                // `system/<name>`, TensorBoard's own section for them; no hparams column.
                Value::System(value) => {
                    let value = SummaryValue {
                        tag: format!("{}/{name}", layout::SYSTEM),
                        kind: Some(Kind::SimpleValue(*value as f32)),
                        metadata: None,
                    };
                    self.summary(record.time, record.step, value)?;
                    continue;
                }
                Value::Tags(run) => {
                    self.retag(run);
                    continue;
                }
                Value::Checkpoint(_) | Value::Artifact(_) => continue,
            };
            let value = SummaryValue {
                tag: name.to_string(),
                kind: Some(kind),
                metadata,
            };
            self.summary(record.time, record.step, value)?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), BackendError> {
        self.start_session()?;
        if let Some(file) = &mut self.file {
            file.flush()?;
        }
        Ok(())
    }

    fn finish(&mut self, end: &RunEnd) -> Result<(), BackendError> {
        self.start_session()?;
        if let Some(session) = self.session.as_ref().filter(|s| s.started) {
            let tags = self.scalar_tags.iter().map(String::as_str);
            let experiment = session.hparams.experiment(session.start_time, tags);
            self.summary(end.time, 0, experiment)?;
            self.summary(end.time, 0, hparams::session_end(end.status, end.time))?;
        }
        if let Some(file) = &mut self.file {
            file.flush()?;
            file.get_ref().sync_data()?;
        }
        Ok(())
    }
}

fn text_tensor(text: &str) -> Kind {
    Kind::Tensor(TensorProto {
        dtype: DT_STRING,
        tensor_shape: Some(TensorShape::of(&[1])),
        string_val: vec![text.as_bytes().to_vec()],
    })
}

/// TensorBoard's histogram from the stored summary. Empty buckets at either end are left
/// out: TensorBoard takes `min` and `max` as the outer edges of the first and last bucket.
fn histogram_proto(summary: &histogram::Summary) -> HistogramProto {
    let counts = &summary.buckets;
    let first = counts.iter().position(|&c| c > 0.0).unwrap_or(counts.len());
    let end = counts
        .iter()
        .rposition(|&c| c > 0.0)
        .map_or(first, |i| i + 1);
    HistogramProto {
        min: summary.min,
        max: summary.max,
        num: summary.num,
        sum: summary.sum,
        sum_squares: summary.sum_squares,
        bucket_limit: summary.bucket_limits[first..end].to_vec(),
        bucket: counts[first..end].to_vec(),
    }
}

fn image_summary(image: &Image) -> proto::Image {
    proto::Image {
        height: image.height() as i32,
        width: image.width() as i32,
        colorspace: i32::from(image.channels()),
        encoded_image_string: image.png().to_vec(),
    }
}

fn create(run: &RunContext) -> Result<Option<Box<dyn Backend>>, BackendError> {
    let session = (run.rank == 0).then(|| Session {
        hparams: Hparams::default(),
        start_time: run.info.start_unix,
        started: false,
        warned_late_param: false,
    });
    Ok(Some(Box::new(TensorBoard {
        dir: event_dir(&run.dir, run.rank),
        host: run.info.host.clone(),
        file: None,
        payload: Vec::with_capacity(256),
        tags: HashSet::new(),
        scalar_tags: BTreeSet::new(),
        session,
    })))
}

inventory::submit!(
    crate::backend::Registration::new("tensorboard", create).in_module(module_path!())
);
