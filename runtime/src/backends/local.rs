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

use crate::backend::{Backend, BackendError, RunContext, RunEnd};
use crate::name::Name;
use crate::problems::ProblemLog;
use crate::record::{Record, Value};
use crate::store::{jsonl, layout};

/// The most a stream keeps in memory while its file cannot be written; lines beyond it are
/// counted as lost.
pub const RETAINED: usize = 1 << 20;

/// Writes metric, text and histogram streams as JSON lines, images as PNG files and params
/// as one JSON object.
#[derive(Debug)]
pub struct LocalStore {
    dir: PathBuf,
    rank: u32,
    streams: Vec<StreamFile>,
    /// Where each name's stream is in `streams`.
    index: HashMap<Name, usize>,
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
    /// Why every record of this stream is refused, when it is.
    refused: Option<String>,
}

impl LocalStore {
    pub fn new(dir: &Path, rank: u32, problems: ProblemLog) -> LocalStore {
        LocalStore {
            dir: dir.to_owned(),
            rank,
            streams: Vec::new(),
            index: HashMap::new(),
            last: None,
            scalars: jsonl::ScalarLines::default(),
            folded: HashMap::new(),
            params: BTreeMap::new(),
            params_changed: false,
            problems,
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
        let path = layout::stream_file(&self.dir, folder, name, self.rank);
        let relative = relative(&self.dir, &path);
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
            refused,
        };
        self.streams.push(stream);
        let at = self.streams.len() - 1;
        self.index.insert(name.clone(), at);
        at
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
            let relative = relative(&self.dir, &path);
            self.problems
                .stream(&relative, 1, format_args!("cannot write {relative}: {e}"));
        }
    }

    /// Writes every stream's pending lines; a stream that fails keeps what fits in
    /// [`RETAINED`] for the next try and counts the rest as lost.
    fn commit(&mut self) {
        let dir = &self.dir;
        for stream in &mut self.streams {
            if stream.pending.is_empty() {
                continue;
            }
            if let Err(e) = stream.append(dir) {
                let message = format!("cannot write {}: {e}", stream.relative);
                let dropped = stream.retain(RETAINED);
                self.problems.stream(&stream.relative, dropped, message);
            }
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

fn relative(dir: &Path, path: &Path) -> String {
    path.strip_prefix(dir)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
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
                // Written into the run directory on the training thread already.
                Value::Checkpoint(_) | Value::Artifact(_) => {}
            }
        }
        self.scalars = scalars;
        // One write per stream and batch.
        self.commit();
        Ok(())
    }

    fn flush(&mut self) -> Result<(), BackendError> {
        self.commit();
        self.write_params();
        self.sync();
        Ok(())
    }

    fn finish(&mut self, _end: &RunEnd) -> Result<(), BackendError> {
        self.commit();
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

crate::register_backend!("local", create);
