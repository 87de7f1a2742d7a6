//! The local run directory: always on, and the source of truth every other view is built
//! from. See [`layout`] for what goes where.

pub mod alloc;
pub mod jsonl;
pub mod layout;

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::backend::{Backend, BackendError, RunContext, RunEnd};
use crate::name::Name;
use crate::record::{Record, Value};

/// Writes metric and text streams as JSON lines and params as one JSON object.
#[derive(Debug)]
pub struct LocalStore {
    dir: PathBuf,
    rank: u32,
    streams: HashMap<Name, StreamFile>,
    params: BTreeMap<String, serde_json::Value>,
    params_changed: bool,
}

#[derive(Debug)]
struct StreamFile {
    file: File,
    pending: Vec<u8>,
}

impl LocalStore {
    pub fn new(dir: &Path, rank: u32) -> LocalStore {
        LocalStore {
            dir: dir.to_owned(),
            rank,
            streams: HashMap::new(),
            params: BTreeMap::new(),
            params_changed: false,
        }
    }

    fn stream(&mut self, name: &Name, folder: &str) -> Result<&mut StreamFile, BackendError> {
        if !self.streams.contains_key(name) {
            let path = layout::stream_file(&self.dir, folder, name, self.rank);
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent)?;
            }
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| {
                    BackendError::new(format_args!("cannot open {}: {e}", path.display()))
                })?;
            self.streams.insert(
                name.clone(),
                StreamFile {
                    file,
                    pending: Vec::with_capacity(4096),
                },
            );
        }
        Ok(self.streams.get_mut(name).expect("inserted above"))
    }

    fn write_params(&mut self) -> Result<(), BackendError> {
        if self.params_changed {
            layout::write_json(&layout::params_file(&self.dir, self.rank), &self.params)?;
            self.params_changed = false;
        }
        Ok(())
    }
}

impl Backend for LocalStore {
    fn write(&mut self, batch: &[Record]) -> Result<(), BackendError> {
        for record in batch {
            match &record.value {
                Value::Scalar(value) => {
                    let stream = self.stream(&record.name, layout::METRICS)?;
                    jsonl::push_scalar(&mut stream.pending, record.step, *value, record.time);
                }
                Value::Text(text) => {
                    let stream = self.stream(&record.name, layout::TEXT)?;
                    jsonl::push_json(&mut stream.pending, record.step, text, record.time);
                }
                Value::Param(value) => {
                    self.params.insert(record.name.to_string(), value.clone());
                    self.params_changed = true;
                }
                Value::Histogram(summary) => {
                    let stream = self.stream(&record.name, layout::HISTOGRAMS)?;
                    jsonl::push_json(&mut stream.pending, record.step, &**summary, record.time);
                }
                Value::Image(image) => {
                    let path = layout::image_file(&self.dir, &record.name, record.step, self.rank);
                    if let Some(parent) = path.parent() {
                        fs::create_dir_all(parent)?;
                    }
                    fs::write(&path, image.png())?;
                }
                // Written into the run directory on the training thread already.
                Value::Checkpoint(_) | Value::Artifact(_) => {}
            }
        }
        // One write per stream and batch: lines reach the file whole.
        for stream in self.streams.values_mut().filter(|s| !s.pending.is_empty()) {
            stream.file.write_all(&stream.pending)?;
            stream.pending.clear();
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), BackendError> {
        self.write_params()
    }

    fn finish(&mut self, _end: &RunEnd) -> Result<(), BackendError> {
        self.write_params()?;
        for stream in self.streams.values() {
            stream.file.sync_data()?;
        }
        Ok(())
    }
}

fn create(run: &RunContext) -> Result<Option<Box<dyn Backend>>, BackendError> {
    Ok(Some(Box::new(LocalStore::new(&run.dir, run.rank))))
}

crate::register_backend!("local", create);
