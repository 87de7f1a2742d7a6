//! Large files in parts, a few in flight, each confirmed part recorded in the run's upload
//! state (`metadata/mlflow.json`) as soon as the store answers, so that an upload stopped
//! anywhere (a killed process, a lost connection, the end of a pass) goes on later without
//! sending those parts again. Memory stays at [`IN_FLIGHT`] parts of [`PART_SIZE`] bytes
//! whatever the file's size.
//!
//! Two stores take the parts ([`Parts`]): the object store itself (the direct layout, see
//! [`super::s3`]) and the presigned part URLs that MLflow's artifact proxy hands out
//! (`mlflow-artifacts/mpu/create`, see [`super::artifacts`]).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex};

use super::engine::Engine;
use super::parts::Parts;
use super::state::{PartUpload, Stamp};
use super::MlflowError;

/// Bytes in each part but the last: 16 MiB (S3 wants at least 5 MiB, at most 10,000 parts).
pub(super) const PART_SIZE: u64 = 16 << 20;
/// Parts being sent at once.
pub(super) const IN_FLIGHT: usize = 4;
/// The most parts S3 takes in one upload; larger files get larger parts.
const MAX_PARTS: u64 = 10_000;

/// The part size for a file of `len` bytes.
pub(super) fn part_size(len: u64) -> u64 {
    PART_SIZE.max(len.div_ceil(MAX_PARTS))
}

/// Whether an answer means the upload itself is gone or its part URLs expired: it is begun
/// again rather than retried.
fn stale(error: &MlflowError) -> bool {
    matches!(
        error,
        MlflowError::Server {
            status: 403 | 404,
            ..
        }
    )
}

impl Engine {
    /// Uploads the file at `path` (`relative` in the run directory) to `parts`, going on
    /// with an upload of the same file that stopped before.
    pub(super) fn upload_in_parts(
        &mut self,
        parts: &dyn Parts,
        relative: &str,
        path: &Path,
        stamp: Stamp,
    ) -> Result<(), MlflowError> {
        match self.try_in_parts(parts, relative, path, stamp) {
            Err(e) if stale(&e) => {
                tracing::info!("the multipart upload of {relative} is gone from the store ({e}); it begins again");
                if let Some(old) = self.state.uploads.remove(relative) {
                    let _ = parts.abort(&old);
                }
                self.save()?;
                self.try_in_parts(parts, relative, path, stamp)
            }
            other => other,
        }
    }

    fn try_in_parts(
        &mut self,
        parts: &dyn Parts,
        relative: &str,
        path: &Path,
        stamp: Stamp,
    ) -> Result<(), MlflowError> {
        let mut upload = match self.state.uploads.get(relative) {
            Some(upload) if upload.stamp == stamp && !upload.completed => upload.clone(),
            earlier => {
                // The file changed since an upload of it began: that one is dropped.
                if let Some(old) = earlier.filter(|upload| !upload.completed) {
                    let _ = parts.abort(old);
                }
                self.check_deadline()?;
                let part_size = part_size(stamp.len);
                let count = u32::try_from(stamp.len.div_ceil(part_size).max(1))
                    .expect("at most 10,000 parts");
                let (upload_id, urls) = parts.create(count)?;
                PartUpload {
                    upload_id,
                    stamp,
                    part_size,
                    parts: count,
                    urls,
                    ..PartUpload::default()
                }
            }
        };
        upload.resumed = upload.confirmed.len() as u32;
        upload.sent = 0;
        self.keep(relative, &upload)?;
        if upload.resumed > 0 {
            tracing::info!(
                "{relative}: {} of {} parts are on the server already; sending the rest",
                upload.resumed,
                upload.parts
            );
        }
        self.send_parts(parts, &mut upload, relative, path)?;
        self.check_deadline()?;
        parts.complete(&upload)?;
        upload.completed = true;
        upload.urls.clear();
        upload.confirmed.clear();
        self.keep(relative, &upload)
    }

    /// Sends the parts not confirmed yet, [`IN_FLIGHT`] at a time; stops handing out parts at
    /// the first error or when the pass's time is up, and waits for those in flight.
    fn send_parts(
        &mut self,
        parts: &dyn Parts,
        upload: &mut PartUpload,
        relative: &str,
        path: &Path,
    ) -> Result<(), MlflowError> {
        let missing: Vec<u32> = (1..=upload.parts)
            .filter(|number| !upload.confirmed.contains_key(number))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let ticket = upload.clone();
        let queue = Mutex::new(missing.iter().copied());
        let stop = AtomicBool::new(false);
        let (sender, answers) = mpsc::channel();
        let mut first_error = None;
        std::thread::scope(|scope| {
            for _ in 0..IN_FLIGHT.min(missing.len()) {
                let sender = sender.clone();
                let (ticket, queue, stop) = (&ticket, &queue, &stop);
                scope.spawn(move || {
                    let mut file = None;
                    while !stop.load(Ordering::Acquire) {
                        let Some(number) = queue.lock().map(|mut q| q.next()).ok().flatten() else {
                            break;
                        };
                        let answer = read_part(&mut file, path, ticket, number)
                            .and_then(|bytes| parts.put(ticket, number, bytes));
                        if answer.is_err() {
                            stop.store(true, Ordering::Release);
                        }
                        let _ = sender.send((number, answer));
                    }
                });
            }
            drop(sender);
            for (number, answer) in answers {
                match answer {
                    Ok(etag) => {
                        upload.confirmed.insert(number, etag);
                        upload.sent += 1;
                        if let Err(e) = self.keep(relative, upload) {
                            stop.store(true, Ordering::Release);
                            first_error.get_or_insert(e);
                        }
                    }
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
                if let Err(e) = self.check_deadline() {
                    stop.store(true, Ordering::Release);
                    first_error.get_or_insert(e);
                }
            }
        });
        first_error.map_or(Ok(()), Err)
    }

    /// Records `upload` in the state file.
    fn keep(&mut self, relative: &str, upload: &PartUpload) -> Result<(), MlflowError> {
        self.state
            .uploads
            .insert(relative.to_owned(), upload.clone());
        self.save()
    }
}

/// Reads part `number` of the file, opened once per sender.
fn read_part(
    file: &mut Option<File>,
    path: &Path,
    upload: &PartUpload,
    number: u32,
) -> Result<Vec<u8>, MlflowError> {
    let failed = |e| MlflowError::from(crate::error::Error::io("cannot read", path)(e));
    let file = match file {
        Some(file) => file,
        None => file.insert(File::open(path).map_err(&failed)?),
    };
    let start = u64::from(number - 1) * upload.part_size;
    let len = upload.part_size.min(upload.stamp.len.saturating_sub(start));
    let mut bytes = vec![0; usize::try_from(len).expect("a part fits in memory")];
    file.seek(SeekFrom::Start(start)).map_err(&failed)?;
    file.read_exact(&mut bytes).map_err(&failed)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_16_mib_until_a_file_needs_more_than_10000() {
        assert_eq!(part_size(1 << 30), PART_SIZE);
        assert_eq!((1u64 << 30).div_ceil(part_size(1 << 30)), 64);
        let huge = 1u64 << 40;
        assert!(huge.div_ceil(part_size(huge)) <= MAX_PARTS);
    }
}
