//! The local store: the backend that is always on and writes the run directory.
//!
//! Errors are per stream, never per batch: a stream the file system refuses (a name it
//! cannot hold, a full disk) loses only its own records, each counted in the run's problems,
//! while every other stream of the batch is written. A stream file only ever holds whole
//! lines: a write that fails part-way is cut back to the last whole line, and the lines it
//! carried are kept (up to [`RETAINED`] bytes a stream) and tried again with the next batch.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
#[cfg(not(unix))]
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;

use crate::backend::{Backend, BackendError, RunContext, RunEnd};
use crate::name::Name;
use crate::problems::ProblemLog;
use crate::record::{Record, Value};
use crate::store::{jsonl, layout};

/// The most a stream keeps in memory while its file cannot be written; lines beyond it are
/// counted as lost.
pub const RETAINED: usize = 1 << 20;

/// Bytes a stream file takes before the store has them synced in the background, while it
/// goes on writing: the sync at a flush or at the end of the run then finds little left.
const EARLY_SYNC: u64 = 8 << 20;

/// Writes metric, text and histogram streams as JSON lines, images as PNG files and params
/// as one JSON object.
#[derive(Debug)]
pub struct LocalStore {
    dir: PathBuf,
    rank: u32,
    streams: Vec<StreamFile>,
    /// Where each name's stream is in `streams`.
    index: HashMap<Name, usize>,
    /// Where each system metric's stream (`system/`) is in `streams`.
    system: HashMap<Name, usize>,
    /// The stream of the last record: most records go where the one before went, and
    /// comparing a name is cheaper than hashing it.
    last: Option<(Name, usize)>,
    /// Formats metric lines, reusing the text of a time shared by successive points.
    scalars: jsonl::ScalarLines,
    /// Each stream file's path in lower case, with the path that took it: `Loss` and `loss`
    /// would be one file on a case-insensitive file system.
    folded: HashMap<String, String>,
    params: BTreeMap<String, serde_json::Value>,
    params_changed: bool,
    problems: ProblemLog,
    /// Started when a stream first takes [`EARLY_SYNC`] bytes.
    early: Option<EarlySync>,
}

#[derive(Debug)]
struct StreamFile {
    /// The file relative to the run directory: `metrics/loss.jsonl`.
    relative: String,
    /// Open once the first lines are written.
    file: Option<File>,
    /// Bytes of whole lines in the file.
    len: u64,
    /// Lines not yet in the file.
    pending: Vec<u8>,
    /// Written since the last `sync_data`.
    dirty: bool,
    /// `len` when a background sync of the file was last asked for.
    early: u64,
    /// Why every record of this stream is refused, when it is.
    refused: Option<String>,
}

impl LocalStore {
    /// The store of rank `rank`'s streams in the run directory `dir`; what it cannot store
    /// is counted in `problems`.
    pub fn new(dir: &Path, rank: u32, problems: ProblemLog) -> LocalStore {
        LocalStore {
            dir: dir.to_owned(),
            rank,
            streams: Vec::new(),
            index: HashMap::new(),
            system: HashMap::new(),
            last: None,
            scalars: jsonl::ScalarLines::default(),
            folded: HashMap::new(),
            params: BTreeMap::new(),
            params_changed: false,
            problems,
            early: None,
        }
    }

    /// The stream of `name` in `folder`, or `None` when its records are refused (counted).
    fn stream(&mut self, name: &Name, folder: &str) -> Option<&mut Vec<u8>> {
        let at = match &self.last {
            Some((last, at)) if last == name => *at,
            _ => {
                let at = self.find(name, folder);
                self.last = Some((name.clone(), at));
                at
            }
        };
        self.pending(at)
    }

    /// The stream of system metric `name` (`system/<name>.jsonl`), or `None` when refused.
    fn system_stream(&mut self, name: &Name) -> Option<&mut Vec<u8>> {
        let at = match self.system.get(name) {
            Some(&at) => at,
            None => {
                let at = self.open(name, layout::SYSTEM);
                self.system.insert(name.clone(), at);
                at
            }
        };
        self.pending(at)
    }

    /// The lines waiting for stream `at`, or `None` when its records are refused (counted).
    fn pending(&mut self, at: usize) -> Option<&mut Vec<u8>> {
        let stream = &mut self.streams[at];
        if let Some(why) = &stream.refused {
            self.problems.stream(&stream.relative, 1, why);
            return None;
        }
        Some(&mut stream.pending)
    }

    /// Where the stream of `name` is in `streams`; opens it (in memory) the first time.
    fn find(&mut self, name: &Name, folder: &str) -> usize {
        if let Some(&at) = self.index.get(name) {
            return at;
        }
        let at = self.open(name, folder);
        self.index.insert(name.clone(), at);
        at
    }

    /// Adds the stream of `name` in `folder` (in memory; its file is made on first write).
    fn open(&mut self, name: &Name, folder: &str) -> usize {
        let path = layout::stream_file(&self.dir, folder, name, self.rank);
        let relative = layout::relative(&self.dir, &path);
        let refused = match self.folded.get(&relative.to_lowercase()) {
            Some(first) if *first != relative => Some(format!(
                "`{relative}` differs from `{first}` only in letter case, which macOS and Windows store as one file; rename one of the two"
            )),
            _ => {
                self.folded.insert(relative.to_lowercase(), relative.clone());
                None
            }
        };
        if let Some(why) = &refused {
            tracing::error!("labbook does not store {relative}: {why}");
        }
        let stream = StreamFile {
            relative,
            file: None,
            len: 0,
            pending: Vec::new(),
            dirty: false,
            early: 0,
            refused,
        };
        self.streams.push(stream);
        self.streams.len() - 1
    }

    fn write_image(&self, record: &Record, png: &[u8]) {
        let path = layout::image_file(&self.dir, &record.name, record.step, self.rank);
        let write = || -> std::io::Result<()> {
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent)?;
            }
            let tmp = path.with_extension(format!("png.tmp{}", std::process::id()));
            fs::write(&tmp, png).inspect_err(|_| {
                let _ = fs::remove_file(&tmp);
            })?;
            fs::rename(&tmp, &path)
        };
        if let Err(e) = write() {
            let relative = layout::relative(&self.dir, &path);
            self.problems
                .stream(&relative, 1, format_args!("cannot write {relative}: {e}"));
        }
    }

    /// Writes every stream's pending lines; a stream that fails keeps what fits in
    /// [`RETAINED`] for the next try and counts the rest as lost. With `early`, a stream that
    /// has taken [`EARLY_SYNC`] bytes since its last sync is handed to the background sync.
    fn commit(&mut self, early: bool) {
        let dir = &self.dir;
        for stream in &mut self.streams {
            if stream.pending.is_empty() {
                continue;
            }
            if let Err(e) = stream.append(dir) {
                let message = format!("cannot write {}: {e}", stream.relative);
                let dropped = stream.retain(RETAINED);
                self.problems.stream(&stream.relative, dropped, message);
            } else if early && stream.len - stream.early >= EARLY_SYNC {
                let early = match &mut self.early {
                    Some(early) => early,
                    None => match EarlySync::start(&self.problems) {
                        Ok(early) => self.early.insert(early),
                        Err(_) => continue, // the syncs at flush and finish still run
                    },
                };
                if let Some(file) = &stream.file {
                    if early.offer(file, &stream.relative) {
                        stream.early = stream.len;
                    }
                }
            }
        }
    }

    /// Waits for a background sync under way: its error, if any, is in the problems then.
    fn wait_early(&mut self) {
        if let Some(early) = self.early.take() {
            early.wait();
        }
    }

    fn write_params(&mut self) {
        if !self.params_changed {
            return;
        }
        match layout::write_json(&layout::params_file(&self.dir, self.rank), &self.params) {
            Ok(()) => self.params_changed = false,
            Err(e) => self.problems.stream(layout::PARAMS_FILE, 0, e),
        }
    }

    fn sync(&mut self) {
        for stream in self.streams.iter_mut().filter(|s| s.dirty) {
            if let Some(file) = &stream.file {
                match file.sync_data() {
                    Ok(()) => stream.dirty = false,
                    Err(e) => self.problems.stream(
                        &stream.relative,
                        0,
                        format_args!("cannot sync {}: {e}", stream.relative),
                    ),
                }
            }
        }
    }
}

impl StreamFile {
    /// Appends the pending lines after the last whole line of the file.
    fn append(&mut self, dir: &Path) -> std::io::Result<()> {
        if self.file.is_none() {
            let path = dir.join(&self.relative);
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent)?;
            }
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)?;
            self.len = file.metadata()?.len();
            self.early = self.len;
            self.file = Some(file);
        }
        let file = self.file.as_mut().expect("opened above");
        let written = write_at(file, &self.pending, self.len);
        match written {
            Ok(()) => {
                self.len += self.pending.len() as u64;
                self.pending.clear();
                self.dirty = true;
                Ok(())
            }
            Err(e) => {
                // Never leave part of a line behind: the next write starts at `len` again.
                let _ = file.set_len(self.len);
                Err(e)
            }
        }
    }

    /// Keeps the oldest whole lines that fit in `limit` bytes; returns how many were dropped.
    fn retain(&mut self, limit: usize) -> u64 {
        if self.pending.len() <= limit {
            return 0;
        }
        let keep = self.pending[..limit]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let dropped = self.pending[keep..].iter().filter(|&&b| b == b'\n').count();
        self.pending.truncate(keep);
        dropped as u64
    }
}

/// Writes all of `bytes` at `offset`: one positioned write where the platform has it.
#[cfg(unix)]
fn write_at(file: &mut File, bytes: &[u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, bytes, offset)
}

#[cfg(not(unix))]
fn write_at(file: &mut File, bytes: &[u8], offset: u64) -> std::io::Result<()> {
    file.seek(SeekFrom::Start(offset))?;
    file.write_all(bytes)
}

/// Syncs stream files on a thread of its own, one at a time, while the writer goes on. It
/// adds to the syncs at flush and at the end of the run, which still run on the writer.
#[derive(Debug)]
struct EarlySync {
    jobs: mpsc::SyncSender<(File, String)>,
    thread: thread::JoinHandle<()>,
}

impl EarlySync {
    fn start(problems: &ProblemLog) -> std::io::Result<EarlySync> {
        // A rendezvous: a file is handed over only while the thread waits for one.
        let (jobs, files) = mpsc::sync_channel::<(File, String)>(0);
        let problems = problems.clone();
        let thread = thread::Builder::new()
            .name("labbook-sync".into())
            .spawn(move || {
                for (file, relative) in files {
                    // The file shares its descriptor with the store's: an error reported
                    // here is not reported again there, so it is recorded here.
                    if let Err(e) = file.sync_data() {
                        problems.stream(&relative, 0, format_args!("cannot sync {relative}: {e}"));
                    }
                }
            })?;
        Ok(EarlySync { jobs, thread })
    }

    /// Hands `file` over to be synced; `false` while the last one is still syncing.
    fn offer(&self, file: &File, relative: &str) -> bool {
        match file.try_clone() {
            Ok(file) => self.jobs.try_send((file, relative.to_owned())).is_ok(),
            Err(_) => false,
        }
    }

    /// Waits for the sync under way, if any, and stops the thread.
    fn wait(self) {
        drop(self.jobs);
        let _ = self.thread.join();
    }
}

impl Backend for LocalStore {
    fn write(&mut self, batch: &[Record]) -> Result<(), BackendError> {
        // Apart from `self`, which `stream` borrows whole.
        let mut scalars = std::mem::take(&mut self.scalars);
        for record in batch {
            match &record.value {
                Value::Scalar(value) => {
                    if let Some(lines) = self.stream(&record.name, layout::METRICS) {
                        scalars.push(lines, record.step, *value, record.time);
                    }
                }
                Value::Text(text) => {
                    if let Some(lines) = self.stream(&record.name, layout::TEXT) {
                        jsonl::push_json(lines, record.step, text, record.time);
                    }
                }
                Value::Histogram(summary) => {
                    if let Some(lines) = self.stream(&record.name, layout::HISTOGRAMS) {
                        jsonl::push_json(lines, record.step, &**summary, record.time);
                    }
                }
                Value::Param(value) => {
                    self.params.insert(record.name.to_string(), value.clone());
                    self.params_changed = true;
                }
                Value::Image(image) => self.write_image(record, image.png()),
                Value::System(value) => {
                    if let Some(lines) = self.system_stream(&record.name) {
                        scalars.push(lines, record.step, *value, record.time);
                    }
                }
                // Written into the run directory on the training thread already (tags: in
                // `info.json`, by the run).
                Value::Checkpoint(_) | Value::Artifact(_) | Value::Tags(_) => {}
            }
        }
        self.scalars = scalars;
        // One write per stream and batch.
        self.commit(true);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), BackendError> {
        self.commit(false);
        self.write_params();
        self.sync();
        Ok(())
    }

    fn finish(&mut self, _end: &RunEnd) -> Result<(), BackendError> {
        self.commit(false);
        for stream in &mut self.streams {
            let lost = stream.retain(0);
            if lost > 0 {
                self.problems.stream(
                    &stream.relative,
                    lost,
                    format_args!("{lost} line(s) could not be written by the end of the run"),
                );
            }
        }
        self.write_params();
        if self.params_changed {
            self.problems.stream(
                layout::PARAMS_FILE,
                self.params.len() as u64,
                "the params could not be written by the end of the run",
            );
        }
        self.wait_early();
        self.sync();
        Ok(())
    }
}

fn create(run: &RunContext) -> Result<Option<Box<dyn Backend>>, BackendError> {
    Ok(Some(Box::new(LocalStore::new(
        &run.dir,
        run.rank,
        run.problems.clone(),
    ))))
}

inventory::submit!(crate::backend::Registration::new("local", create).in_module(module_path!()));

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::meta::Status;

    #[test]
    fn a_stream_synced_in_the_background_ends_with_every_line_and_no_problem() {
        let dir = tempfile::tempdir().unwrap();
        let problems = ProblemLog::new();
        let mut store = LocalStore::new(dir.path(), 0, problems.clone());
        let name = Name::new("loss").unwrap();
        let points = 400_000;
        let batch: Vec<Record> = (0..points)
            .map(|step| Record {
                name: name.clone(),
                step,
                time: 1.75e9 + step as f64,
                value: Value::Scalar(step as f64 * 1e-3),
            })
            .collect();
        for chunk in batch.chunks(8192) {
            store.write(chunk).unwrap();
        }
        assert!(
            store.early.is_some(),
            "over {EARLY_SYNC} bytes, a sync was asked for"
        );
        let end = RunEnd {
            status: Status::Complete,
            error: None,
            time: 0.0,
        };
        store.finish(&end).unwrap();
        assert!(store.early.is_none() && store.streams.iter().all(|s| !s.dirty));
        assert!(problems.snapshot().is_empty());
        let path = layout::stream_file(dir.path(), layout::METRICS, &name, 0);
        let stream = jsonl::read_scalars(&path).unwrap();
        let steps: Vec<u64> = stream.points.iter().map(|p| p.step).collect();
        assert_eq!(steps, (0..points).collect::<Vec<_>>());
    }
}
