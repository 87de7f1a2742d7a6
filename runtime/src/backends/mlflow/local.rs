//! A local run as MLflow sees it: tags, params, metric streams, files and the end status,
//! all read from the run directory (the source of truth).

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use super::state::{LineMark, Progress, Stamp};
use crate::store::jsonl::Point;
use crate::store::layout;
use crate::store::meta::{Info, Status};
use crate::store::read::RunDir;

/// The tag that finds a run again on the server when its state file is lost.
pub(crate) const RUN_ID_TAG: &str = "labbook.run_id";
/// MLflow's limits on keys and values.
pub(crate) const MAX_KEY_LEN: usize = 250;
pub(crate) const MAX_PARAM_LEN: usize = 6000;
pub(super) const MAX_TAG_LEN: usize = 8000;

/// A run directory and its metadata.
#[derive(Debug)]
pub(crate) struct LocalRun {
    pub dir: PathBuf,
    pub info: Info,
    pub config: Option<Json>,
}

/// A metric stream file and the MLflow key its points go to.
#[derive(Debug)]
pub(crate) struct StreamFile {
    /// Relative to the run directory: `metrics/train/loss.jsonl`.
    pub relative: String,
    /// `train/loss`; `train/loss.rank1` for rank 1's stream.
    pub key: String,
    pub path: PathBuf,
}

/// Points read from a stream, and where reading stopped.
#[derive(Debug, Default)]
pub(crate) struct Chunk {
    pub points: Vec<Point>,
    pub end: Progress,
    /// Whole lines that are not points, as `line N: reason`.
    pub broken: Vec<String>,
    /// No whole line is left after `end`.
    pub exhausted: bool,
}

impl LocalRun {
    /// Reads `metadata/info.json` and `config.json` (a config that cannot be read is none).
    pub fn load(dir: &Path) -> crate::error::Result<LocalRun> {
        let run = RunDir::at(dir);
        Ok(LocalRun {
            dir: dir.to_owned(),
            info: run.info()?,
            config: run.config().ok().flatten(),
        })
    }

    /// The run directory, as [`crate::store::read`] reads it.
    pub fn run_dir(&self) -> RunDir {
        RunDir::at(&self.dir)
    }

    /// `experiment/id`: the MLflow run name and the `labbook.run_id` tag.
    pub fn label(&self) -> String {
        format!("{}/{}", self.info.experiment, self.info.id)
    }

    pub fn start_ms(&self) -> i64 {
        millis(self.info.start_unix)
    }

    pub fn tags(&self) -> Vec<(String, String)> {
        let info = &self.info;
        let mut tags = vec![
            (RUN_ID_TAG, self.label()),
            ("mlflow.source.name", info.source_file.clone()),
            ("mlflow.source.type", "LOCAL".to_owned()),
            ("labbook.function", info.function.clone()),
            ("labbook.host", info.host.clone()),
            ("labbook.rank", info.rank.to_string()),
            ("labbook.world_size", info.world_size.to_string()),
            ("labbook.launcher", info.launcher.clone()),
            ("labbook.command", info.command.join(" ")),
            ("labbook.version", info.labbook_version.clone()),
        ];
        if let Some(user) = &info.user {
            tags.push(("mlflow.user", user.clone()));
        }
        if let Some(git) = &info.git {
            tags.push(("mlflow.source.git.commit", git.commit.clone()));
            tags.push(("labbook.git.dirty", git.dirty.to_string()));
        }
        if let Some(job) = &info.job {
            tags.push(("labbook.job", job.clone()));
        }
        tags.into_iter()
            .map(|(key, value)| (key.to_owned(), value.chars().take(MAX_TAG_LEN).collect()))
            .collect()
    }

    /// The config flattened to `a.b.c` keys, then the `param` sites (rank 0's `params.json`).
    /// A key given two different values is returned as a conflict instead.
    pub fn params(&self) -> (BTreeMap<String, String>, Vec<(String, String)>) {
        let mut flat = Vec::new();
        if let Some(config) = &self.config {
            flatten("", config, &mut flat);
        }
        if let Some(Json::Object(params)) = self.run_dir().params().ok().flatten() {
            for (name, value) in &params {
                flatten(name, value, &mut flat);
            }
        }
        merge(flat)
    }

    /// Every metric stream file of every rank.
    pub fn streams(&self) -> Vec<StreamFile> {
        streams(&self.dir)
    }

    /// The files mirrored as artifacts under the same relative paths: `artifacts/` (copied
    /// files, images) and `checkpoints/` (not `last.*`, a copy of the newest), and with
    /// `streams` the text and histogram streams. Also the paths left out because they are
    /// symbolic links or special files ([`RunDir::skipped`]).
    pub fn files(&self, streams: bool) -> (Vec<(String, PathBuf, Stamp)>, Vec<String>) {
        let run = self.run_dir();
        let mut files = Vec::new();
        let mut left_out = Vec::new();
        let mut folders = vec![layout::ARTIFACTS, crate::checkpoint::FOLDER];
        if streams {
            folders.extend([layout::TEXT, layout::HISTOGRAMS]);
        }
        for folder in folders {
            left_out.extend(run.skipped(folder));
            for file in run.files(folder) {
                let relative = file.relative();
                let name = relative.rsplit('/').next().unwrap_or_default();
                let skip = name.contains(".tmp")
                    || (folder == crate::checkpoint::FOLDER && name.starts_with("last."))
                    || (streams
                        && folder != layout::ARTIFACTS
                        && folder != crate::checkpoint::FOLDER
                        && !name.ends_with(".jsonl"));
                // No time: the file could not be looked at (removed since it was listed).
                let (false, Some(modified)) = (skip, file.modified()) else {
                    continue;
                };
                let modified = modified
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos());
                files.push((
                    relative.to_owned(),
                    file.path().to_owned(),
                    Stamp {
                        len: file.size(),
                        modified,
                    },
                ));
            }
        }
        (files, left_out)
    }
}

/// Every metric stream file of every rank in the run directory `dir`, by relative path, and
/// the system metrics under `system/<name>` as MLflow's own system metrics are named.
pub(crate) fn streams(dir: &Path) -> Vec<StreamFile> {
    // The key is the file name as it is (`loss.rank01` stays `loss.rank01`).
    let run = RunDir::at(dir);
    let mut files: Vec<StreamFile> = run
        .metrics()
        .into_iter()
        .chain(run.system())
        .filter_map(|stream| {
            let parts: Vec<_> = stream
                .path()
                .strip_prefix(dir)
                .ok()?
                .iter()
                .map(|c| c.to_string_lossy())
                .collect();
            let relative = parts.join("/");
            let key = relative.strip_suffix(".jsonl")?;
            let key = key.strip_prefix("metrics/").unwrap_or(key).to_owned();
            Some(StreamFile {
                relative,
                key,
                path: stream.path().to_owned(),
            })
        })
        .collect();
    files.sort_by(|a, b| a.relative.cmp(&b.relative));
    files
}

/// Reads at most `max` points of a stream starting at `from`, whole lines only.
pub(crate) fn read_points(path: &Path, from: Progress, max: usize) -> std::io::Result<Chunk> {
    let mut file = fs::File::open(path)?;
    file.seek(SeekFrom::Start(from.offset))?;
    let mut reader = BufReader::new(file);
    let mut chunk = Chunk {
        end: from,
        ..Chunk::default()
    };
    let mut line = Vec::new();
    while chunk.points.len() < max {
        line.clear();
        let read = reader.read_until(b'\n', &mut line)?;
        if read == 0 || line.last() != Some(&b'\n') {
            chunk.exhausted = true;
            return Ok(chunk);
        }
        chunk.end.offset += read as u64;
        chunk.end.last_line = Some(LineMark::of(&line));
        match parse(&line) {
            Ok(point) => {
                chunk.end.last_step = Some(point.step);
                chunk.points.push(point);
                chunk.end.points += 1;
            }
            Err(reason) => chunk.broken.push(format!(
                "at byte {}: {reason}",
                chunk.end.offset - read as u64
            )),
        }
    }
    // Full: whether anything whole is left is found out by the next read.
    Ok(chunk)
}

/// The progress just past the first `points` points of a stream (or its last whole line).
pub(crate) fn skip_points(path: &Path, points: u64) -> std::io::Result<Progress> {
    skip_while(path, Progress::default(), |at, _| at.points < points)
}

/// Reads whole lines from `from` on while `more(progress so far, next point)` holds; the
/// progress just before the first point it refuses (or at the last whole line).
fn skip_while(
    path: &Path,
    from: Progress,
    mut more: impl FnMut(&Progress, &Point) -> bool,
) -> std::io::Result<Progress> {
    let mut file = fs::File::open(path)?;
    file.seek(SeekFrom::Start(from.offset))?;
    let mut reader = BufReader::new(file);
    let mut at = from;
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = reader.read_until(b'\n', &mut line)?;
        if read == 0 || line.last() != Some(&b'\n') {
            return Ok(at);
        }
        let point = parse(&line).ok();
        if let Some(point) = &point {
            if !more(&at, point) {
                return Ok(at);
            }
            at.points += 1;
            at.last_step = Some(point.step);
        }
        at.offset += read as u64;
        at.last_line = Some(LineMark::of(&line));
    }
}

/// Whether the file still holds, just before `at.offset`, the line that was there when `at`
/// was recorded. A progress without a recorded line (an older state file) only needs the
/// file to be long enough.
pub(crate) fn still_there(path: &Path, at: &Progress) -> std::io::Result<bool> {
    let len = fs::metadata(path)?.len();
    if at.offset > len {
        return Ok(false);
    }
    let Some(mark) = at.last_line else {
        return Ok(true);
    };
    let Some(start) = at.offset.checked_sub(mark.len) else {
        return Ok(false);
    };
    let mut file = fs::File::open(path)?;
    file.seek(SeekFrom::Start(start))?;
    let mut line = Vec::with_capacity(mark.len as usize);
    file.take(mark.len).read_to_end(&mut line)?;
    Ok(LineMark::of(&line) == mark)
}

/// Where to continue a stream whose file changed under a recorded progress: a resume
/// rolled it back to its checkpoint and logged new points, possibly past the old length.
/// The points up to the last step the server holds are skipped (steps only grow in a
/// stream; the server keeps the points it already has for them). The scan starts at `from`:
/// the start of the file, or where an earlier scan for the same `sent` stopped while the
/// file still holds what it read.
pub(crate) fn realign(path: &Path, sent: &Progress, from: Progress) -> std::io::Result<Progress> {
    match sent.last_step {
        Some(last) => skip_while(path, from, |_, point| point.step <= last),
        None => skip_while(path, from, |at, _| at.points < sent.points),
    }
}

/// The whole lines after `at`: points not sent yet.
pub(crate) fn lines_after(path: &Path, at: &Progress) -> std::io::Result<u64> {
    let mut file = fs::File::open(path)?;
    file.seek(SeekFrom::Start(at.offset))?;
    let mut buffer = vec![0; 1 << 16];
    let mut lines = 0;
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            return Ok(lines);
        }
        lines += buffer[..read].iter().filter(|b| **b == b'\n').count() as u64;
    }
}

fn parse(line: &[u8]) -> Result<Point, String> {
    crate::store::jsonl::parse_scalar(line.strip_suffix(b"\n").unwrap_or(line))
}

/// Seconds since the epoch as MLflow's milliseconds.
pub(crate) fn millis(seconds: f64) -> i64 {
    (seconds * 1000.0).round() as i64
}

/// Nested objects become `a.b.c` keys; anything else is one value, strings as they are and
/// other values as JSON.
fn flatten(prefix: &str, value: &Json, out: &mut Vec<(String, String)>) {
    match value {
        Json::Object(map) if !map.is_empty() => {
            for (key, value) in map {
                let key = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&key, value, out);
            }
        }
        _ => {
            let key = if prefix.is_empty() { "config" } else { prefix };
            let text = match value {
                Json::String(s) => s.clone(),
                other => other.to_string(),
            };
            out.push((key.to_owned(), text));
        }
    }
}

fn merge(flat: Vec<(String, String)>) -> (BTreeMap<String, String>, Vec<(String, String)>) {
    let mut params = BTreeMap::new();
    let mut conflicts = Vec::new();
    for (key, value) in flat {
        match params.get(&key) {
            Some(first) if *first != value => conflicts.push((
                key.clone(),
                format!("logged with two values, {first:?} and {value:?}; MLflow keeps one value per param"),
            )),
            _ => {
                params.insert(key, value);
            }
        }
    }
    for (key, _) in &conflicts {
        params.remove(key);
    }
    (params, conflicts)
}

/// Why MLflow would refuse `key` for a metric, param or tag (its `_validate_*_name` rules).
pub(crate) fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("keys cannot be empty".into());
    }
    if key.chars().count() > MAX_KEY_LEN {
        return Err(format!(
            "keys are at most {MAX_KEY_LEN} characters, this one has {}",
            key.chars().count()
        ));
    }
    if let Some(c) = key
        .chars()
        .find(|&c| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ' ' | ':' | '/')))
    {
        return Err(format!(
            "keys may hold letters, digits, `_`, `-`, `.`, ` `, `:` and `/`, not {c:?}"
        ));
    }
    if key
        .split('/')
        .any(|part| part.is_empty() || part == "." || part == "..")
    {
        return Err(
            "keys must be normalized paths (no `..`, `./`, `//`, or `/` at either end)".into(),
        );
    }
    Ok(())
}

/// The MLflow status of a run that ended with `status`.
pub(crate) fn mlflow_status(status: Status, error: Option<&str>) -> &'static str {
    match (status, error) {
        (Status::Complete, _) => "FINISHED",
        (Status::Failed, Some("interrupted")) => "KILLED",
        (Status::Failed, _) => "FAILED",
        (Status::Running, _) => "RUNNING",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn configs_flatten_to_dotted_keys_and_conflicts_are_kept_apart() {
        let mut flat = Vec::new();
        flatten(
            "",
            &json!({"lr": 0.001, "model": {"layers": [64, 32], "act": "relu", "extra": {}}, "name": null}),
            &mut flat,
        );
        flatten("lr", &json!(0.5), &mut flat);
        flatten("seed", &json!(7), &mut flat);
        let (params, conflicts) = merge(flat);
        assert_eq!(
            params.into_iter().collect::<Vec<_>>(),
            [
                ("model.act".to_owned(), "relu".to_owned()),
                ("model.extra".into(), "{}".into()),
                ("model.layers".into(), "[64,32]".into()),
                ("name".into(), "null".into()),
                ("seed".into(), "7".into()),
            ]
        );
        assert_eq!(conflicts.len(), 1);
        assert!(
            conflicts[0].1.contains("\"0.001\" and \"0.5\""),
            "{conflicts:?}"
        );
    }

    #[test]
    fn keys_follow_mlflow_rules() {
        for good in ["loss", "train/loss", "größe", "a b:c", "x.rank1"] {
            assert_eq!(check_key(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "a@b",
            "../x",
            "/x",
            "x/",
            "a//b",
            "./a",
            &"k".repeat(251),
        ] {
            assert!(check_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_rewritten_stream_is_noticed_and_continues_after_the_last_step_sent() {
        let tmp = tempfile::NamedTempFile::new().unwrap();
        let lines = |steps: std::ops::Range<u64>, time: f64| {
            let mut bytes = Vec::new();
            for step in steps {
                crate::store::jsonl::push_scalar(&mut bytes, step, step as f64, time);
            }
            bytes
        };
        fs::write(tmp.path(), lines(0..6, 1.0)).unwrap();
        let sent = read_points(tmp.path(), Progress::default(), 6).unwrap().end;
        assert_eq!((sent.points, sent.last_step), (6, Some(5)));
        assert!(still_there(tmp.path(), &sent).unwrap());
        // Appending keeps it; a resume to step 2 with new points past the old length does not.
        let mut grown = lines(0..6, 1.0);
        grown.extend(lines(6..8, 1.0));
        fs::write(tmp.path(), &grown).unwrap();
        assert!(still_there(tmp.path(), &sent).unwrap());
        let mut resumed = lines(0..3, 1.0);
        resumed.extend(lines(3..12, 12.25));
        fs::write(tmp.path(), &resumed).unwrap();
        assert!(!still_there(tmp.path(), &sent).unwrap());
        let at = realign(tmp.path(), &sent, Progress::default()).unwrap();
        assert_eq!((at.points, at.last_step), (6, Some(5)));
        let rest = read_points(tmp.path(), at, 100).unwrap();
        assert_eq!(
            rest.points.iter().map(|p| p.step).collect::<Vec<_>>(),
            [6, 7, 8, 9, 10, 11]
        );
        assert_eq!(lines_after(tmp.path(), &at).unwrap(), 6);
    }

    #[test]
    fn streams_are_read_in_whole_lines_from_an_offset() {
        let tmp = tempfile::NamedTempFile::new().unwrap();
        let mut bytes = Vec::new();
        for step in 0..5 {
            crate::store::jsonl::push_scalar(&mut bytes, step, step as f64, 1.0);
        }
        bytes.extend_from_slice(b"oops\n{\"step\":9,\"va");
        fs::write(tmp.path(), &bytes).unwrap();
        let first = read_points(tmp.path(), Progress::default(), 3).unwrap();
        assert_eq!((first.points.len(), first.exhausted), (3, false));
        let rest = read_points(tmp.path(), first.end, 100).unwrap();
        assert_eq!(
            rest.points.iter().map(|p| p.step).collect::<Vec<_>>(),
            [3, 4]
        );
        assert_eq!(
            (rest.broken.len(), rest.exhausted, rest.end.points),
            (1, true, 5)
        );
        assert_eq!(
            skip_points(tmp.path(), 4).unwrap(),
            read_points(tmp.path(), Progress::default(), 4).unwrap().end
        );
    }
}
