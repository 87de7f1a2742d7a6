//! Weights & Biases, offline (feature `wandb`): every run also writes a W&B offline run
//! under `runs/<experiment>/<id>/wandb/` that `wandb sync` uploads unchanged. There is no
//! Rust W&B client: the `.wandb` record log is written here (`log.rs` frames it, `proto.rs`
//! holds the records). No API key is read or written; nothing touches the network.
//!
//! - Config: the `#[config]` argument (one key per top-level field) and every `param`.
//! - History: metrics (NaN and infinities kept), text, histograms (`wandb.Histogram`) and
//!   images (`wandb.Image`, the PNG under `files/media/images/`). See `history.rs` for how
//!   labbook steps map onto W&B's rows.
//! - Summary: the last value of every key. Exit: code 0 for COMPLETE, 1 for FAILED (the
//!   error goes to the run's console log); a killed process leaves no exit record, which
//!   `wandb sync` reports as a failed run.
//! - `WANDB_PROJECT` (default: the experiment name), `WANDB_ENTITY`, `WANDB_NAME`,
//!   `WANDB_NOTES`, `WANDB_TAGS` (comma-separated), `WANDB_RUN_GROUP` and `WANDB_JOB_TYPE`
//!   are honoured; `WANDB_MODE=disabled` turns the backend off.
//! - Only rank 0 writes: a W&B run mirrors the labbook run, one per job, and W&B cannot
//!   interleave several processes in one log. Streams that other ranks log stay in the local
//!   run directory.
//! - A resumed run continues the same W&B id in a new offline-run folder (marked resumed,
//!   `_step` continuing). Rows the first attempt wrote after its last checkpoint stay in
//!   its folder; how W&B merges the two folders on upload is not verified.
//! - Checkpoints and artifacts are not uploaded (they stay in the run directory).
//! - A record W&B cannot store (an image whose file cannot be written) is counted under
//!   `wandb` in `info.json`'s `problems`; every other record of its batch is still written.

mod files;
mod history;
mod log;
mod proto;
mod stats;
mod tags;

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::BufWriter;
use std::path::PathBuf;

use prost::Message;

use self::history::{Row, STEP_KEY};
use self::proto::{Item, Kind, Record as WandbRecord};
use crate::backend::{Backend, BackendError, RunContext, RunEnd};
use crate::problems::ProblemLog;
use crate::record::{Record, Value};
use crate::store::meta::Status;

struct Wandb {
    log: log::Log<BufWriter<File>>,
    /// `runs/<experiment>/<id>/wandb`.
    root: PathBuf,
    files: PathBuf,
    state: files::State,
    /// The number of the last record written.
    num: i64,
    start: f64,
    row: Row,
    /// The latest value of every key, and whether the summary on disk lacks it. A key is
    /// here once its `MetricRecord` is written.
    summary: HashMap<String, (String, bool)>,
    config: Vec<Item>,
    media: Vec<proto::FilesItem>,
    buffer: Vec<u8>,
    /// Where records W&B could not take are counted (`info.json`'s `problems`).
    problems: ProblemLog,
    /// Whether a lost record was already reported in the run's log.
    warned: bool,
    /// The system sample being gathered into one `stats` record.
    stats: stats::Stats,
    /// The run record as last written, to write again when the run's tags change.
    run_record: proto::RunRecord,
    /// Tags too long for W&B, counted in the run's problems once each.
    too_long: std::collections::BTreeSet<String>,
}

impl std::fmt::Debug for Wandb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wandb")
            .field("root", &self.root)
            .field("run_id", &self.state.run_id)
            .finish_non_exhaustive()
    }
}

fn env(key: &str) -> String {
    std::env::var(key).unwrap_or_default().trim().to_owned()
}

fn item(key: impl Into<String>, value_json: String) -> Item {
    Item {
        key: key.into(),
        value_json,
    }
}

impl Wandb {
    fn open(run: &RunContext) -> Result<Wandb, BackendError> {
        let root = run.dir.join(files::FOLDER);
        let resumed = (run.info.resumes > 0)
            .then(|| files::State::read(&root))
            .flatten();
        let state = resumed.unwrap_or_else(|| files::State {
            run_id: files::new_id(),
            next_step: 0,
        });
        let mut start = crate::record::now();
        while root.join(files::run_folder(start, &state.run_id)).exists() {
            start += 1.0; // a resume within the same second
        }
        let folder = files::run_folder(start, &state.run_id);
        let dir = root.join(&folder);
        fs::create_dir_all(dir.join("files"))?;
        let path = dir.join(format!("run-{}.wandb", state.run_id));
        // Like wandb: never truncate or append to an existing log.
        let file = crate::backend::create_new_file(&path)?;
        files::link_latest(&root, &folder);
        Ok(Wandb {
            log: log::Log::new(file)?,
            root,
            files: dir.join("files"),
            state,
            num: 0,
            start: run.info.start_unix,
            row: Row::default(),
            summary: HashMap::new(),
            config: Vec::new(),
            media: Vec::new(),
            buffer: Vec::with_capacity(4096),
            problems: run.problems.clone(),
            warned: false,
            stats: stats::Stats::default(),
            run_record: proto::RunRecord::default(),
            too_long: Default::default(),
        })
    }

    fn emit(&mut self, kind: Kind) -> Result<(), BackendError> {
        self.num += 1;
        self.append(&WandbRecord {
            num: self.num,
            kind: Some(kind),
        })
    }

    fn append(&mut self, record: &WandbRecord) -> Result<(), BackendError> {
        self.buffer.clear();
        record
            .encode(&mut self.buffer)
            .map_err(|e| BackendError::new(format_args!("cannot encode a W&B record: {e}")))?;
        self.log.append(&self.buffer)?;
        Ok(())
    }

    fn start_records(&mut self, run: &RunContext) -> Result<(), BackendError> {
        let info = &run.info;
        let git = info.git.as_ref().map(|g| proto::GitRepoRecord {
            remote_url: String::new(),
            commit: g.commit.clone(),
        });
        let started = proto::Timestamp::from_unix(info.start_unix);
        self.emit(Kind::Header(proto::HeaderRecord {
            version_info: Some(proto::VersionInfo {
                producer: format!("labbook {}", env!("CARGO_PKG_VERSION")),
                min_consumer: "0.40.0".into(),
            }),
        }))?;
        let config = match &run.config {
            Some(serde_json::Value::Object(fields)) => {
                fields.iter().map(|(k, v)| item(k, v.to_string())).collect()
            }
            Some(serde_json::Value::Null) | None => Vec::new(),
            Some(other) => vec![item("config", other.to_string())],
        };
        let project = Some(env("WANDB_PROJECT"))
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| run.experiment.clone());
        let name = Some(env("WANDB_NAME"))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| format!("{}/{}", run.experiment, run.id));
        let resumed = self.state.next_step > 0 || info.resumes > 0;
        self.run_record = proto::RunRecord {
            run_id: self.state.run_id.clone(),
            entity: env("WANDB_ENTITY"),
            project,
            config: Some(proto::ConfigRecord { update: config }),
            run_group: env("WANDB_RUN_GROUP"),
            job_type: env("WANDB_JOB_TYPE"),
            display_name: name,
            notes: env("WANDB_NOTES"),
            tags: env("WANDB_TAGS")
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect(),
            host: info.host.clone(),
            starting_step: self.state.next_step,
            start_time: Some(started.clone()),
            resumed,
            git: git.clone(),
        };
        self.retag(&crate::store::meta::RunTags::of(info))?;
        self.emit(Kind::Environment(proto::EnvironmentRecord {
            os: format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH),
            started_at: Some(started),
            args: info.command.iter().skip(1).cloned().collect(),
            program: info.source_file.clone(),
            git,
            root: info.working_dir.clone().unwrap_or_default(),
            host: info.host.clone(),
            username: info.user.clone().unwrap_or_default(),
            executable: info.executable.clone().unwrap_or_default(),
            cpu_count_logical: std::thread::available_parallelism().map_or(0, |n| n.get() as u32),
        }))?;
        self.state.write(&self.root)?;
        self.log.flush()?;
        Ok(())
    }

    /// Writes the run record with `run`'s tags, group and notes (see [`tags`]).
    fn retag(&mut self, run: &crate::store::meta::RunTags) -> Result<(), BackendError> {
        let mut record = self.run_record.clone();
        let too_long = tags::apply(
            &mut record,
            run,
            &env("WANDB_TAGS"),
            &env("WANDB_RUN_GROUP"),
            &env("WANDB_NOTES"),
        );
        for tag in too_long {
            if !self.too_long.insert(tag.clone()) {
                continue;
            }
            let shown: String = tag.chars().take(20).collect();
            self.lost(
                1,
                format_args!(
                    "the tag `{shown}…` is longer than the {} characters W&B takes, and is left out of the W&B run",
                    tags::MAX_TAG_LEN
                ),
            );
        }
        // The start writes the whole record; later, a changed one without the config (the
        // config records that followed it hold the params since).
        let started = self.num > 1;
        if started && record == self.run_record {
            return Ok(());
        }
        self.run_record = record.clone();
        if started {
            record.config = None;
        }
        self.emit(Kind::Run(record))
    }

    /// Writes the open row, with the metric definitions and media files it needs first.
    fn close_row(&mut self) -> Result<(), BackendError> {
        if self.row.is_empty() {
            return Ok(());
        }
        // A key seen for the first time gets its MetricRecord before the row.
        let mut new = Vec::new();
        for item in self.row.items() {
            match self.summary.get_mut(&item.key) {
                Some((json, dirty)) => {
                    json.clone_from(&item.value_json);
                    *dirty = true;
                }
                None => {
                    let entry = (item.value_json.clone(), true);
                    self.summary.insert(item.key.clone(), entry);
                    new.push(item.key.clone());
                }
            }
        }
        for name in new {
            self.emit(Kind::Metric(proto::MetricRecord {
                name,
                step_metric: STEP_KEY.into(),
                options: Some(proto::MetricOptions {
                    step_sync: true,
                    defined: true,
                }),
            }))?;
        }
        if !self.media.is_empty() {
            let files = std::mem::take(&mut self.media);
            self.emit(Kind::Files(proto::FilesRecord { files }))?;
        }
        let step = self.state.next_step;
        self.state.next_step += 1;
        let (labbook_step, time) = (self.row.step, self.row.time);
        let mut digits = itoa::Buffer::new();
        self.row
            .extra(STEP_KEY)
            .push_str(digits.format(labbook_step));
        self.row.extra("_step").push_str(digits.format(step));
        history::write_number(self.row.extra("_runtime"), time - self.start);
        history::write_number(self.row.extra("_timestamp"), time);
        self.num += 1;
        let record = WandbRecord {
            num: self.num,
            kind: Some(Kind::History(proto::HistoryRecord {
                item: self.row.take(),
                step: Some(proto::HistoryStep { num: step }),
            })),
        };
        let written = self.append(&record);
        if let Some(Kind::History(history)) = record.kind {
            self.row.reuse(history.item);
        }
        written
    }

    /// Writes new params and the summary's changes. The open row stays open (its step may
    /// have more records to come) until the next step begins or the run ends.
    fn settle(&mut self) -> Result<(), BackendError> {
        if !self.config.is_empty() {
            let update = std::mem::take(&mut self.config);
            self.emit(Kind::Config(proto::ConfigRecord { update }))?;
        }
        let mut update: Vec<Item> = self
            .summary
            .iter_mut()
            .filter(|(_, (_, dirty))| *dirty)
            .map(|(name, (json, dirty))| {
                *dirty = false;
                item(name.as_str(), json.clone())
            })
            .collect();
        if !update.is_empty() {
            update.sort_by(|a, b| a.key.cmp(&b.key));
            update.push(item("_step", (self.state.next_step - 1).to_string()));
            self.emit(Kind::Summary(proto::SummaryRecord { update }))?;
        }
        Ok(())
    }

    /// Writes the open row; when that fails, its records are counted as lost and the row
    /// is dropped, so the next records start a row of their own.
    fn close_row_or_count(&mut self) {
        let (records, step) = (self.row.items().len() as u64, self.row.step);
        if let Err(e) = self.close_row() {
            self.lost(
                records,
                format_args!("the history row of step {step} is not in the W&B run: {e}"),
            );
            self.row.clear();
        }
    }

    /// Counts records this backend could not store; the first time, also says so in the
    /// run's log.
    fn lost(&mut self, records: u64, error: std::fmt::Arguments<'_>) {
        let error = format!("{error}; the run directory still has it");
        if !self.warned {
            self.warned = true;
            tracing::warn!("labbook backend `wandb`: {error}");
        }
        self.problems.backend("wandb", records, error);
    }

    /// Writes one system sample; when that fails, its points are counted as lost.
    fn emit_stats(&mut self, record: proto::StatsRecord) {
        let points = record.item.len() as u64;
        if let Err(e) = self.emit(Kind::Stats(record)) {
            self.lost(
                points,
                format_args!("a system sample is not in the W&B run: {e}"),
            );
        }
    }

    /// The `value_json` of a text, histogram or image; `None` for a metric.
    fn json(&mut self, record: &Record) -> Result<Option<String>, BackendError> {
        Ok(match &record.value {
            Value::Text(text) => Some(serde_json::Value::from(text.as_str()).to_string()),
            Value::Histogram(summary) => Some(history::histogram(summary)),
            Value::Image(image) => {
                let (name, png) = (record.name.as_str(), image.png());
                let media = files::write_image(&self.files, name, record.step, png)?;
                self.media.push(proto::FilesItem {
                    path: media.path.clone(),
                    policy: 0,
                    r#type: proto::FILE_MEDIA,
                });
                Some(history::image(&media, image))
            }
            _ => None,
        })
    }
}

impl Backend for Wandb {
    fn start(&mut self, run: &RunContext) -> Result<(), BackendError> {
        self.start_records(run)
    }

    /// Every record W&B can take is written; one it cannot take is counted in the run's
    /// problems and the others go on (an error is never per batch).
    fn write(&mut self, batch: &[Record]) -> Result<(), BackendError> {
        for record in batch {
            let name = record.name.as_str();
            match &record.value {
                Value::Param(value) => {
                    self.config.push(item(name, value.to_string()));
                    continue;
                }
                Value::Checkpoint(_) | Value::Artifact(_) => continue,
                Value::Tags(run) => {
                    if let Err(e) = self.retag(run) {
                        self.lost(
                            1,
                            format_args!("the run's new tags are not in the W&B run: {e}"),
                        );
                    }
                    continue;
                }
                Value::System(value) => {
                    if let Some(done) = self.stats.add(name, record.time, *value) {
                        self.emit_stats(done);
                    }
                    continue;
                }
                _ => {}
            }
            if !self.row.takes(name, record.step) {
                self.close_row_or_count();
            }
            let json = match self.json(record) {
                Ok(json) => json,
                Err(e) => {
                    self.lost(
                        1,
                        format_args!(
                            "`{name}` at step {} is not in the W&B run: {e}",
                            record.step
                        ),
                    );
                    continue;
                }
            };
            let out = self.row.push(name, record.step, record.time);
            match (json, &record.value) {
                (Some(json), _) => out.push_str(&json),
                (None, Value::Scalar(v)) => history::write_number(out, *v),
                (None, _) => out.push_str("null"),
            }
        }
        if let Some(done) = self.stats.take() {
            self.emit_stats(done);
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), BackendError> {
        self.settle()?;
        self.log.flush()?;
        self.state.write(&self.root)?;
        Ok(())
    }

    /// Writes the open row, the summary and the exit record; a part that fails is counted
    /// or reported and the parts after it are still written.
    fn finish(&mut self, end: &RunEnd) -> Result<(), BackendError> {
        self.close_row_or_count();
        let settled = self.settle();
        if let (Status::Failed, Some(error)) = (end.status, &end.error) {
            self.emit(Kind::OutputRaw(proto::OutputRawRecord {
                output_type: 0,
                timestamp: Some(proto::Timestamp::from_unix(end.time)),
                line: format!("labbook: run failed: {error}\n"),
            }))?;
        }
        self.emit(Kind::Exit(proto::RunExitRecord {
            exit_code: if end.status == Status::Complete { 0 } else { 1 },
            runtime: (end.time - self.start).max(0.0).round() as i32,
        }))?;
        self.log.flush()?;
        self.log.get_ref().get_ref().sync_data()?;
        self.state.write(&self.root)?;
        settled
    }
}

fn create(run: &RunContext) -> Result<Option<Box<dyn Backend>>, BackendError> {
    if run.rank != 0 || env("WANDB_MODE").eq_ignore_ascii_case("disabled") {
        return Ok(None);
    }
    Ok(Some(Box::new(Wandb::open(run)?)))
}

inventory::submit!(crate::backend::Registration::new("wandb", create).in_module(module_path!()));
