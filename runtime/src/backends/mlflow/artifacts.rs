//! Where a run's files go: through the server's artifact proxy (`mlflow-artifacts:` URIs,
//! `mlflow server --serve-artifacts`), or straight into the object store the server names
//! (`s3://` URIs, `--no-serve-artifacts`) as MLflow's own client does ([`super::s3`]). Files
//! larger than one part ([`multipart::PART_SIZE`]) go in parts that survive an interrupted
//! upload: through the proxy with MLflow's multipart API (`mlflow-artifacts/mpu/create`,
//! presigned part URLs, `mpu/complete`), falling back to one request when the server's
//! artifact store does not take parts.

use std::path::Path;
use std::sync::Arc;

use reqwest::blocking::Body;
use serde_json::{json, Value as Json};

use super::client::Client;
use super::destination::Destination;
use super::engine::{Done, Engine};
use super::multipart;
use super::parts::Parts;
use super::state::{PartUpload, Stamp};
use super::MlflowError;

/// What MLflow answers when its artifact store takes no parts.
const NO_PARTS: &str = "Multipart upload is not supported";

impl Engine {
    /// Where the run's files go, or `None` (said once in `done`'s notes) when they stay in
    /// the local run.
    pub(super) fn destination(
        &mut self,
        done: &mut Done,
    ) -> Result<Option<Arc<Destination>>, MlflowError> {
        if let Some(known) = &self.artifacts.0 {
            return Ok(known.clone());
        }
        let found = if let Some(root) = &self.state.artifact_root {
            Some(Destination::Proxied(root.clone()))
        } else {
            let uri = match &self.state.artifact_uri {
                Some(uri) => uri.clone(),
                None => {
                    let run = self.client.send(
                        "runs/get",
                        self.client
                            .http()
                            .get(self.client.api("runs/get"))
                            .query(&[("run_id", self.run_id())]),
                    )?;
                    let uri = run["run"]["info"]["artifact_uri"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned();
                    self.state.artifact_uri = Some(uri.clone());
                    uri
                }
            };
            match Destination::for_artifact_uri(&uri) {
                Ok(found) => Some(found),
                Err(reason) => {
                    done.notes
                        .push(format!("{reason}; files stay in the local run"));
                    None
                }
            }
        };
        let found = found.map(Arc::new);
        self.artifacts.0 = Some(found.clone());
        Ok(found)
    }

    /// Uploads the file at `path` as `relative` under the run's artifacts.
    pub(super) fn upload_artifact(
        &mut self,
        destination: &Destination,
        relative: &str,
        path: &Path,
        stamp: Stamp,
    ) -> Result<(), MlflowError> {
        let large = stamp.len > multipart::PART_SIZE;
        match destination {
            Destination::Proxied(root) if large => {
                let client = self.client.clone();
                let proxy = Proxy {
                    client: &client,
                    root,
                    relative,
                };
                match self.upload_in_parts(&proxy, relative, path, stamp) {
                    Err(e) if e.reason().contains(NO_PARTS) => {
                        self.client.upload_file(root, relative, path)
                    }
                    other => other,
                }
            }
            Destination::Proxied(root) => self.client.upload_file(root, relative, path),
            Destination::Direct(bucket) if large => {
                check_regular(relative, path)?;
                self.upload_in_parts(&bucket.object(relative), relative, path, stamp)
            }
            Destination::Direct(bucket) => {
                check_regular(relative, path)?;
                let bytes = std::fs::read(path)
                    .map_err(|e| crate::error::Error::io("cannot read", path)(e))?;
                bucket.object(relative).put(bytes)
            }
        }
    }

    /// Uploads `bytes` as `relative` under the run's artifacts.
    pub(super) fn upload_bytes(
        &mut self,
        relative: &str,
        bytes: Vec<u8>,
        done: &mut Done,
    ) -> Result<(), MlflowError> {
        match self.destination(done)?.as_deref() {
            Some(Destination::Proxied(root)) => self.client.upload_bytes(root, relative, bytes),
            Some(Destination::Direct(bucket)) => bucket.object(relative).put(bytes),
            None => Ok(()),
        }
    }
}

/// A file that is a symbolic link or special file is never read: refused like a rejection.
fn check_regular(relative: &str, path: &Path) -> Result<(), MlflowError> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_file() => Ok(()),
        Ok(_) => Err(MlflowError::Server {
            uri: String::new(),
            endpoint: "S3 PutObject".into(),
            status: 400,
            code: "INVALID_STATE".into(),
            message: format!("{relative} became a symbolic link or special file; links inside a run are never followed"),
        }),
        Err(e) => Err(crate::error::Error::io("cannot read", path)(e).into()),
    }
}

/// A file on the artifact proxy, sent with MLflow's multipart API.
struct Proxy<'a> {
    client: &'a Client,
    root: &'a str,
    relative: &'a str,
}

impl Proxy<'_> {
    /// The folder and the file name: MLflow's API takes them apart.
    fn split(&self) -> (&str, &str) {
        self.relative
            .rsplit_once('/')
            .unwrap_or(("", self.relative))
    }

    fn post(&self, action: &str, body: &Json) -> Result<Json, MlflowError> {
        let (folder, _) = self.split();
        let url = self
            .client
            .artifacts_url(&["mpu", action], self.root, folder);
        self.client.send(
            &format!("mlflow-artifacts/mpu/{action}"),
            self.client.http().post(url).json(body),
        )
    }
}

impl Parts for Proxy<'_> {
    fn create(&self, count: u32) -> Result<(String, Vec<String>), MlflowError> {
        let (_, name) = self.split();
        let answer = self.post("create", &json!({ "path": name, "num_parts": count }))?;
        let upload_id = answer["upload_id"].as_str().unwrap_or_default().to_owned();
        let mut urls = vec![String::new(); count as usize];
        for credential in answer["credentials"].as_array().into_iter().flatten() {
            let number = credential["part_number"]
                .as_u64()
                .or_else(|| credential["part_number"].as_str()?.parse().ok())
                .unwrap_or(0) as usize;
            if let (Some(slot), Some(url)) = (
                urls.get_mut(number.wrapping_sub(1)),
                credential["url"].as_str(),
            ) {
                *slot = url.to_owned();
            }
        }
        if upload_id.is_empty() || urls.iter().any(String::is_empty) {
            return Err(MlflowError::NoAnswer {
                uri: self.root.to_owned(),
                reason: "mlflow-artifacts/mpu/create answered without an upload id and a URL for each part".into(),
            });
        }
        Ok((upload_id, urls))
    }

    fn put(&self, upload: &PartUpload, number: u32, bytes: Vec<u8>) -> Result<String, MlflowError> {
        let url = &upload.urls[number as usize - 1];
        // The URL's query is a signature: messages name the store without it.
        let store = url.split('?').next().unwrap_or_default().to_owned();
        let response = self
            .client
            .http()
            .put(url)
            .timeout(std::time::Duration::from_secs(600))
            .body(Body::from(bytes))
            .send()
            .map_err(|e| {
                let connect = e.is_connect();
                let reason = e.without_url().to_string();
                if connect {
                    MlflowError::Unreachable {
                        uri: store.clone(),
                        reason,
                    }
                } else {
                    MlflowError::NoAnswer {
                        uri: store.clone(),
                        reason,
                    }
                }
            })?;
        let status = response.status();
        let etag = response
            .headers()
            .get("ETag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        match (status.is_success(), etag) {
            (true, Some(etag)) => Ok(etag),
            (success, _) => {
                let body = response.text().unwrap_or_default();
                Err(MlflowError::Server {
                    uri: store,
                    endpoint: format!("a presigned part URL (part {number})"),
                    status: if success { 502 } else { status.as_u16() },
                    code: String::new(),
                    message: body.chars().take(300).collect(),
                })
            }
        }
    }

    fn complete(&self, upload: &PartUpload) -> Result<(), MlflowError> {
        let (_, name) = self.split();
        let parts: Vec<Json> = upload
            .confirmed
            .iter()
            .map(|(number, etag)| json!({ "part_number": number, "etag": etag }))
            .collect();
        self.post(
            "complete",
            &json!({ "path": name, "upload_id": upload.upload_id, "parts": parts }),
        )
        .map(drop)
    }

    fn abort(&self, upload: &PartUpload) -> Result<(), MlflowError> {
        let (_, name) = self.split();
        self.post(
            "abort",
            &json!({ "path": name, "upload_id": upload.upload_id }),
        )
        .map(drop)
    }
}
