//! Uploading a run directory step by step: the run, its params, every metric point in
//! order, its files, its end. Shared by the live mirror and `labbook sync`; every confirmed
//! request is recorded in the run's state file, so an upload that stops anywhere resumes
//! without sending anything twice.

use std::collections::btree_map::{BTreeMap, Entry};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::client::{Client, Metric, MetricValue};
use super::local::{self, LocalRun, StreamFile};
use super::state::{InFlight, Progress, SyncState};
use super::{MlflowError, Settings};

/// The most metrics (and entities) one `runs/log-batch` request may hold.
const MAX_METRICS: usize = 1000;
const MAX_PARAMS: usize = 100;
/// What a refused key is, in the state file and in messages: `param lr`, `metric loss`.
const PARAM: &str = "param";
const METRIC: &str = "metric";
const FILE: &str = "file";
/// Why a file found in the run directory is not uploaded.
pub(crate) const LEFT_OUT: &str = "labbook leaves it out: it is a symbolic link (never followed inside a run) or a special file (never read)";

/// What one pass uploads beyond the run, params and metrics.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Pass {
    /// Copied files, images and checkpoints.
    pub files: bool,
    /// Text and histogram streams, as files (they grow, so only at the end).
    pub streams: bool,
    /// The terminal status and end time (ms) to set.
    pub end: Option<(&'static str, i64)>,
}

/// What one pass did.
#[derive(Debug, Default)]
pub(crate) struct Done {
    pub points: u64,
    pub params: u64,
    pub files: u64,
    /// Keys refused for good during this pass, with the reason.
    pub rejected: Vec<(String, String)>,
    /// Things to say once (the server does not serve artifacts, broken lines skipped).
    pub notes: Vec<String>,
}

#[derive(Debug)]
pub(crate) struct Engine {
    pub(super) client: Client,
    pub run: LocalRun,
    pub state: SyncState,
    pub(super) experiment: String,
    /// The run's tags, group or notes may have changed since they were last sent.
    pub tags_due: bool,
    /// Params logged in this process that `params.json` may not hold yet.
    pub logged_params: Vec<(String, String)>,
    /// Stop between requests after this moment, which is this long after the pass began.
    pub deadline: Option<(Instant, Duration)>,
    /// Set when nobody waits for this upload any more (the end of the run gave up on it):
    /// no request is started after it.
    pub abandoned: Arc<AtomicBool>,
    /// Streams whose file changed under their recorded progress: that progress, and how far
    /// a scan for the points after it got (see [`Engine::progress_of`]).
    realigned: BTreeMap<String, (Progress, Progress)>,
    /// Where the run's files go, once known.
    pub(super) artifacts: super::destination::Artifacts,
    done: Done,
    /// Metrics requests sent at once: up to `LABBOOK_MLFLOW_PARALLEL`, fewer while the
    /// server is busy.
    pub(super) concurrency: super::concurrency::Concurrency,
}

/// A metrics request being filled: the points and each stream's progress before and after.
#[derive(Default)]
pub(super) struct Batch {
    pub points: Vec<(usize, f64, i64, i64)>,
    pub keys: Vec<String>,
    pub streams: BTreeMap<String, (String, Progress, Progress)>,
}

impl Batch {
    /// The points as a `log-batch` request sends them.
    pub fn metrics(&self) -> Vec<Metric<'_>> {
        self.points
            .iter()
            .map(|&(key, value, timestamp, step)| Metric {
                key: &self.keys[key],
                value: MetricValue::new(value),
                timestamp,
                step,
            })
            .collect()
    }
}

impl Engine {
    /// Reads the state of `run` for the server in `settings`; no request is made.
    pub fn open(settings: &Settings, run: LocalRun) -> Result<Engine, MlflowError> {
        let state = SyncState::load(&run.dir, &settings.tracking_uri);
        Ok(Engine {
            client: super::client::Client::new(settings)?,
            experiment: settings
                .experiment_name
                .clone()
                .unwrap_or_else(|| run.info.experiment.clone()),
            run,
            state,
            tags_due: true,
            logged_params: Vec::new(),
            deadline: None,
            abandoned: Arc::default(),
            realigned: BTreeMap::new(),
            artifacts: Default::default(),
            done: Done::default(),
            concurrency: super::concurrency::Concurrency::new(settings.parallel),
        })
    }

    pub fn save(&self) -> Result<(), MlflowError> {
        Ok(self.state.save(&self.run.dir)?)
    }

    /// Uploads what the server does not hold yet. What it did, including a pass that
    /// stopped on an error, adds up until [`Engine::take_done`].
    pub fn pass(&mut self, pass: Pass) -> Result<(), MlflowError> {
        let mut done = std::mem::take(&mut self.done);
        let result = self.steps(pass, &mut done);
        self.done = done;
        result
    }

    pub fn take_done(&mut self) -> Done {
        std::mem::take(&mut self.done)
    }

    fn steps(&mut self, pass: Pass, done: &mut Done) -> Result<(), MlflowError> {
        self.check_deadline()?;
        self.ensure_run()?;
        self.recover_in_flight()?;
        if self.tags_due || pass.end.is_some() {
            self.tags(done)?;
        }
        self.params(done)?;
        self.metrics(done)?;
        if pass.files || pass.streams {
            self.files(pass.streams, done)?;
        }
        if let Some((status, end_time)) = pass.end {
            if self.state.status.as_deref() != Some(status) {
                self.check_deadline()?;
                self.client
                    .update_run(self.run_id(), status, Some(end_time))?;
                self.state.status = Some(status.to_owned());
            }
            self.state.synced = true;
            self.state.last_error = None;
            self.save()?;
        }
        Ok(())
    }

    /// A run that is running again (resumed) is shown as running.
    pub fn reopen(&mut self) -> Result<(), MlflowError> {
        self.state.synced = false;
        self.save()?;
        if self.state.run_id.is_some() && self.state.status.is_some() {
            self.client.update_run(self.run_id(), "RUNNING", None)?;
            self.state.status = None;
            self.save()?;
        }
        Ok(())
    }

    pub(super) fn run_id(&self) -> &str {
        self.state
            .run_id
            .as_deref()
            .expect("the run exists once ensure_run returned")
    }

    pub(super) fn check_deadline(&self) -> Result<(), MlflowError> {
        match self.deadline {
            Some((at, after)) if Instant::now() > at => Err(MlflowError::Deadline(after.as_secs())),
            _ if self.abandoned.load(Ordering::Acquire) => Err(MlflowError::Deadline(
                self.deadline.map_or(0, |(_, after)| after.as_secs()),
            )),
            _ => Ok(()),
        }
    }

    /// Finds the run on the server (by state, then by tag) or creates it.
    fn ensure_run(&mut self) -> Result<(), MlflowError> {
        if self.state.run_id.is_some() {
            return Ok(());
        }
        let experiment_id = self.client.experiment_id(&self.experiment)?;
        let label = self.run.label();
        let start = self.run.start_ms();
        let found = self
            .client
            .find_runs(&experiment_id, local::RUN_ID_TAG, &label)?
            .into_iter()
            .find(|run| run.start_time == Some(start));
        let remote = match found {
            Some(remote) => {
                // The state was lost: ask the server how much of each stream it holds.
                for stream in self.run.streams() {
                    let held = self.client.history_len(&remote.run_id, &stream.key)?;
                    if held > 0 {
                        let progress =
                            local::skip_points(&stream.path, held).map_err(io(&stream))?;
                        self.state.streams.insert(stream.relative, progress);
                    }
                }
                self.state.in_flight = None;
                remote
            }
            None => self
                .client
                .create_run(&experiment_id, &label, start, &self.run.tags())?,
        };
        self.state.artifact_root = remote.artifact_root();
        self.state.artifact_uri = Some(remote.artifact_uri);
        self.state.experiment_id = Some(experiment_id);
        self.state.run_id = Some(remote.run_id);
        self.save()
    }

    /// Settles batches that were sent without an answer: all of them landed when the server
    /// holds every stream up to its end (one log-batch request is atomic; of a window of
    /// them, some may have landed, and those are sent again: see `parallel`).
    fn recover_in_flight(&mut self) -> Result<(), MlflowError> {
        let Some(in_flight) = self.state.in_flight.clone() else {
            return Ok(());
        };
        let mut landed = !in_flight.streams.is_empty();
        for (key, before, after) in in_flight.streams.values() {
            if !landed {
                break;
            }
            let held = self.client.history_len(self.run_id(), key)?;
            landed = held >= after.points && after.points > before.points;
        }
        if landed {
            for (relative, (_, _, after)) in in_flight.streams {
                self.state.streams.insert(relative, after);
            }
        }
        self.state.in_flight = None;
        self.save()
    }

    fn params(&mut self, done: &mut Done) -> Result<(), MlflowError> {
        let (mut params, conflicts) = self.run.params();
        for (key, value) in self.logged_params.drain(..) {
            params.entry(key).or_insert(value);
        }
        for (key, reason) in conflicts {
            self.reject(PARAM, key, reason, done);
        }
        let mut pending = Vec::new();
        for (key, value) in params {
            if self.is_rejected(PARAM, &key) {
                continue;
            }
            if let Err(reason) = local::check_key(&key) {
                self.reject(PARAM, key, reason, done);
                continue;
            }
            let value = self.shorten(&key, value, done)?;
            if self.state.params.get(&key) != Some(&value) {
                pending.push((key, value));
            }
        }
        for chunk in pending.chunks(MAX_PARAMS) {
            self.check_deadline()?;
            match self.client.log_batch(self.run_id(), &[], chunk) {
                Ok(()) => self.confirm_params(chunk, done),
                // One bad param spoils its batch: find it by sending them one by one.
                Err(e) if e.is_rejection() => {
                    for param in chunk {
                        match self
                            .client
                            .log_batch(self.run_id(), &[], std::slice::from_ref(param))
                        {
                            Ok(()) => self.confirm_params(std::slice::from_ref(param), done),
                            Err(e) if e.is_rejection() => {
                                self.reject(PARAM, param.0.clone(), e.reason(), done)
                            }
                            Err(e) => return Err(e),
                        }
                    }
                }
                Err(e) => return Err(e),
            }
            self.save()?;
        }
        Ok(())
    }

    fn confirm_params(&mut self, params: &[(String, String)], done: &mut Done) {
        for (key, value) in params {
            self.state.params.insert(key.clone(), value.clone());
        }
        done.params += params.len() as u64;
    }

    /// A value longer than MLflow keeps: the whole of it goes to the artifact
    /// `params/<key>.txt` and the param says so.
    fn shorten(
        &mut self,
        key: &str,
        value: String,
        done: &mut Done,
    ) -> Result<String, MlflowError> {
        let length = value.chars().count();
        if length <= local::MAX_PARAM_LEN {
            return Ok(value);
        }
        let file = format!("params/{key}.txt");
        let note = format!("... [{length} characters; the whole value is the artifact {file}]");
        let kept: String = value
            .chars()
            .take(local::MAX_PARAM_LEN - note.chars().count())
            .collect();
        let short = format!("{kept}{note}");
        if self.state.params.get(key) != Some(&short) {
            done.notes.push(format!(
                "param `{key}` has {length} characters, more than MLflow's {}: it is cut and the whole value is uploaded as {file}",
                local::MAX_PARAM_LEN
            ));
            self.upload_bytes(&file, value.into_bytes(), done)?;
        }
        Ok(short)
    }

    /// Records that MLflow will never take the `kind` (`param`, `metric`, `file`) `key`.
    pub(super) fn reject(&mut self, kind: &str, key: String, reason: String, done: &mut Done) {
        if let Entry::Vacant(entry) = self.state.rejected.entry(format!("{kind} {key}")) {
            done.rejected.push((entry.key().clone(), reason.clone()));
            entry.insert(reason);
        }
    }

    pub(super) fn is_rejected(&self, kind: &str, key: &str) -> bool {
        self.state.is_rejected(kind, key)
    }

    fn metrics(&mut self, done: &mut Done) -> Result<(), MlflowError> {
        let mut batch = Batch::default();
        // Full batches waiting to be sent together (see `parallel`).
        let mut window = Vec::new();
        for stream in self.run.streams() {
            if self.is_rejected(METRIC, &stream.key) {
                continue;
            }
            let mut at = self.progress_of(&stream)?;
            loop {
                let room = MAX_METRICS - batch.points.len();
                let chunk = local::read_points(&stream.path, at, room).map_err(io(&stream))?;
                for broken in &chunk.broken {
                    done.notes.push(format!(
                        "{}: skipped a line that is not a point {broken}",
                        stream.relative
                    ));
                }
                if chunk.end != at {
                    let key_index = batch.keys.len();
                    batch.keys.push(stream.key.clone());
                    for point in &chunk.points {
                        let step = i64::try_from(point.step).unwrap_or(i64::MAX);
                        batch.points.push((
                            key_index,
                            point.value,
                            local::millis(point.time),
                            step,
                        ));
                    }
                    let entry = batch.streams.entry(stream.relative.clone()).or_insert((
                        stream.key.clone(),
                        at,
                        at,
                    ));
                    entry.2 = chunk.end;
                    at = chunk.end;
                }
                if batch.points.len() == MAX_METRICS {
                    window.push(std::mem::take(&mut batch));
                    if window.len() >= self.concurrency.now() {
                        self.send_window(std::mem::take(&mut window), done)?;
                    }
                }
                if chunk.exhausted || self.is_rejected(METRIC, &stream.key) {
                    break;
                }
            }
        }
        if !batch.streams.is_empty() {
            window.push(batch);
        }
        self.send_window(window, done)
    }

    /// Where a stream's upload stands (see [`progress`]). A stream being realigned is
    /// scanned on from where the last pass stopped, not from its start every pass.
    fn progress_of(&mut self, stream: &StreamFile) -> Result<Progress, MlflowError> {
        let sent = self
            .state
            .streams
            .get(&stream.relative)
            .copied()
            .unwrap_or_default();
        if local::still_there(&stream.path, &sent).map_err(io(stream))? {
            self.realigned.remove(&stream.relative);
            return Ok(sent);
        }
        let from = match self.realigned.get(&stream.relative) {
            Some((of, at))
                if *of == sent && local::still_there(&stream.path, at).unwrap_or(false) =>
            {
                *at
            }
            _ => Progress::default(),
        };
        let at = local::realign(&stream.path, &sent, from).map_err(io(stream))?;
        self.realigned.insert(stream.relative.clone(), (sent, at));
        Ok(at)
    }

    pub(super) fn send(&mut self, batch: Batch, done: &mut Done) -> Result<(), MlflowError> {
        self.check_deadline()?;
        self.state.in_flight = Some(InFlight {
            streams: batch.streams.clone(),
        });
        self.save()?;
        match self.log_batch(&batch) {
            Ok(()) => {
                for (relative, (_, _, after)) in batch.streams {
                    self.state.streams.insert(relative, after);
                }
                done.points += batch.points.len() as u64;
            }
            Err(e) if e.is_rejection() && batch.streams.len() > 1 => {
                self.state.in_flight = None;
                return self.send_apart(batch, done);
            }
            Err(e) if e.is_rejection() => {
                if let Some((_, (key, _, _))) = batch.streams.into_iter().next() {
                    self.reject(METRIC, key, e.reason(), done);
                }
            }
            // Refused before it was sent: nothing landed.
            Err(e @ MlflowError::Unreachable { .. }) => {
                self.state.in_flight = None;
                self.save()?;
                return Err(e);
            }
            Err(e) => return Err(e),
        }
        self.state.in_flight = None;
        self.save()
    }

    /// Sends each stream of a refused batch on its own, to find the one the server refuses.
    fn send_apart(&mut self, batch: Batch, done: &mut Done) -> Result<(), MlflowError> {
        for (relative, (key, before, after)) in batch.streams {
            let mut single = Batch {
                keys: vec![key.clone()],
                ..Batch::default()
            };
            single.points = batch
                .points
                .iter()
                .filter(|p| batch.keys[p.0] == key)
                .map(|&(_, v, t, s)| (0, v, t, s))
                .collect();
            single.streams.insert(relative, (key, before, after));
            self.send(single, done)?;
        }
        Ok(())
    }

    fn files(&mut self, streams: bool, done: &mut Done) -> Result<(), MlflowError> {
        let Some(destination) = self.destination(done)? else {
            return Ok(());
        };
        let mut unsaved = 0;
        let (files, left_out) = self.run.files(streams);
        for relative in left_out {
            if !self.is_rejected(FILE, &relative) {
                self.reject(FILE, relative, LEFT_OUT.to_owned(), done);
            }
        }
        for (relative, path, stamp) in files {
            if self.state.artifacts.get(&relative) == Some(&stamp)
                || self.is_rejected(FILE, &relative)
            {
                continue;
            }
            self.check_deadline()?;
            match self.upload_artifact(&destination, &relative, &path, stamp) {
                Ok(()) => {
                    self.state.artifacts.insert(relative, stamp);
                    done.files += 1;
                    unsaved += 1;
                }
                // Removed meanwhile (an older checkpoint pruned by `keep`).
                Err(MlflowError::Local(_)) if !path.exists() => {}
                Err(e) if e.is_rejection() => self.reject(FILE, relative, e.reason(), done),
                Err(e) => {
                    self.save()?;
                    return Err(e);
                }
            }
            if unsaved >= 20 {
                self.save()?;
                unsaved = 0;
            }
        }
        self.save()
    }
}

/// The run's params (its config's keys and its `param` sites) the server is not known to
/// hold and has not refused, by key.
pub(crate) fn unsent_params(run: &LocalRun, state: &SyncState) -> Vec<String> {
    let (params, _) = run.params();
    params
        .into_keys()
        .filter(|key| !state.params.contains_key(key) && !state.is_rejected(PARAM, key))
        .collect()
}

/// The run's files the server is not known to hold (new, or changed since their upload)
/// and has not refused, by relative path: what a run that ended before they were sent
/// leaves to `labbook sync`.
pub(crate) fn unsent_files(run: &LocalRun, state: &SyncState) -> Vec<String> {
    let (files, _) = run.files(true);
    files
        .into_iter()
        .filter(|(relative, _, stamp)| {
            state.artifacts.get(relative) != Some(stamp) && !state.is_rejected(FILE, relative)
        })
        .map(|(relative, ..)| relative)
        .collect()
}

/// Where the upload of `stream` stands in `state`. When the file no longer holds the line
/// the recorded progress ends with (a resume rolled the stream back and logged new points),
/// the upload continues after the points up to the last step the server holds.
pub(crate) fn progress(state: &SyncState, stream: &StreamFile) -> std::io::Result<Progress> {
    let at = state
        .streams
        .get(&stream.relative)
        .copied()
        .unwrap_or_default();
    if local::still_there(&stream.path, &at)? {
        return Ok(at);
    }
    local::realign(&stream.path, &at, Progress::default())
}

/// Metric points in the run directory `dir` that the server is not known to hold.
pub(crate) fn unsent_points(dir: &std::path::Path, state: &SyncState) -> u64 {
    local::streams(dir)
        .iter()
        .filter(|stream| !state.is_rejected(METRIC, &stream.key))
        .map(|stream| {
            progress(state, stream)
                .and_then(|at| local::lines_after(&stream.path, &at))
                .unwrap_or(0)
        })
        .sum()
}

/// The records behind a refused key: every point of a metric stream, one param or file.
pub(crate) fn refused_records(dir: &std::path::Path, kind: &str, key: &str) -> u64 {
    if kind != METRIC {
        return 1;
    }
    local::streams(dir)
        .iter()
        .filter(|stream| stream.key == key)
        .map(|stream| local::lines_after(&stream.path, &Progress::default()).unwrap_or(0))
        .sum()
}

fn io(stream: &StreamFile) -> impl Fn(std::io::Error) -> MlflowError + '_ {
    move |e| {
        MlflowError::Local(crate::error::Error::Io {
            action: "cannot read",
            path: stream.path.clone(),
            source: e,
        })
    }
}
