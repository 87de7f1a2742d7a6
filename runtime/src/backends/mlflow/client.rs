//! The MLflow tracking REST API 2.0 over one reused blocking HTTP client (rustls).

use std::fs::File;
use std::path::Path;
use std::time::Duration;

use reqwest::blocking::{Body, Client as Http, RequestBuilder};
use reqwest::{Certificate, Url};
use serde::Serialize;
use serde_json::{json, Value as Json};

use super::settings::{Auth, Settings};
use super::MlflowError;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
const UPLOAD_TIMEOUT: Duration = Duration::from_secs(3600);

/// A tracking server.
#[derive(Clone, Debug)]
pub(crate) struct Client {
    http: Http,
    base: Url,
    uri: String,
    auth: Auth,
}

/// A run as the server describes it.
#[derive(Debug)]
pub(crate) struct RemoteRun {
    pub run_id: String,
    pub start_time: Option<i64>,
    pub artifact_uri: String,
}

impl RemoteRun {
    /// `<experiment>/<run>/artifacts` when the server proxies artifacts
    /// (`mlflow-artifacts:` URIs), else `None`: it cannot take uploads.
    pub fn artifact_root(&self) -> Option<String> {
        let rest = self.artifact_uri.strip_prefix("mlflow-artifacts:")?;
        let path = match rest.strip_prefix("//") {
            Some(authority_and_path) => &authority_and_path[authority_and_path.find('/')?..],
            None => rest,
        };
        Some(path.trim_matches('/').to_owned())
    }

    fn from_json(run: &Json) -> RemoteRun {
        let info = &run["info"];
        RemoteRun {
            run_id: text(&info["run_id"])
                .unwrap_or_else(|| text(&info["run_uuid"]).unwrap_or_default()),
            start_time: info["start_time"]
                .as_i64()
                .or_else(|| text(&info["start_time"])?.parse().ok()),
            artifact_uri: text(&info["artifact_uri"]).unwrap_or_default(),
        }
    }
}

/// One metric point as `runs/log-batch` takes it.
#[derive(Debug, Serialize)]
pub(crate) struct Metric<'a> {
    pub key: &'a str,
    pub value: MetricValue,
    pub timestamp: i64,
    pub step: i64,
}

/// A finite number, or the string `"NaN"`: a bare NaN token would be stored as 0.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(crate) enum MetricValue {
    Number(f64),
    Word(&'static str),
}

impl MetricValue {
    /// NaN as `"NaN"`; infinities clamped to ±f64::MAX, as SQL stores keep them anyway.
    pub fn new(value: f64) -> MetricValue {
        if value.is_nan() {
            MetricValue::Word("NaN")
        } else {
            MetricValue::Number(value.clamp(f64::MIN, f64::MAX))
        }
    }
}

/// The experiment tag MLflow 3's UI reads for an experiment's type, and its value for model
/// training: `mlflow.experimentKind` = `custom_model_development`, what MLflow 3.17's type
/// selector writes for "Machine learning".
pub const EXPERIMENT_KIND: (&str, &str) = ("mlflow.experimentKind", "custom_model_development");

impl Client {
    pub fn new(settings: &Settings) -> Result<Client, MlflowError> {
        let invalid = |setting, reason: String| MlflowError::Settings { setting, reason };
        let mut base = Url::parse(&settings.tracking_uri)
            .map_err(|e| invalid("MLFLOW_TRACKING_URI", e.to_string()))?;
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let mut builder = Http::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("labbook/", env!("CARGO_PKG_VERSION")))
            .danger_accept_invalid_certs(settings.insecure_tls);
        if let Some(path) = &settings.server_cert {
            let pem = std::fs::read(path).map_err(|e| {
                invalid(
                    "MLFLOW_TRACKING_SERVER_CERT_PATH",
                    format!("{}: {e}", path.display()),
                )
            })?;
            let cert = Certificate::from_pem(&pem).map_err(|e| {
                invalid(
                    "MLFLOW_TRACKING_SERVER_CERT_PATH",
                    format!("{}: {e}", path.display()),
                )
            })?;
            builder = builder.add_root_certificate(cert);
        }
        let http = builder
            .build()
            .map_err(|e| invalid("MLFLOW_TRACKING_URI", chain(&e)))?;
        Ok(Client {
            http,
            base,
            uri: settings.tracking_uri.clone(),
            auth: settings.auth.clone(),
        })
    }

    /// The id of the experiment called `name`, created when missing: tagged as a model-training
    /// experiment ([`EXPERIMENT_KIND`]), so that MLflow 3 files it as model training rather
    /// than among GenAI evaluation runs. An existing experiment is left as it is.
    pub fn experiment_id(&self, name: &str) -> Result<String, MlflowError> {
        let get = || -> Result<Option<String>, MlflowError> {
            let found = self.send(
                "experiments/get-by-name",
                self.http
                    .get(self.api("experiments/get-by-name"))
                    .query(&[("experiment_name", name)]),
            );
            match found {
                Ok(body) => {
                    let experiment = &body["experiment"];
                    if experiment["lifecycle_stage"] == "deleted" {
                        return Err(self.rejected(
                            "experiments/get-by-name",
                            format!("experiment {name:?} is deleted; restore it or set MLFLOW_EXPERIMENT_NAME"),
                        ));
                    }
                    Ok(text(&experiment["experiment_id"]))
                }
                Err(MlflowError::Server { status: 404, .. }) => Ok(None),
                Err(e) => Err(e),
            }
        };
        if let Some(id) = get()? {
            return Ok(id);
        }
        let (kind, value) = EXPERIMENT_KIND;
        let created = self.post(
            "experiments/create",
            &json!({ "name": name, "tags": [{ "key": kind, "value": value }] }),
        );
        match created {
            Ok(body) => text(&body["experiment_id"]).ok_or_else(|| {
                self.rejected(
                    "experiments/create",
                    "the answer holds no experiment_id".into(),
                )
            }),
            // Created by someone else in between.
            Err(MlflowError::Server { ref code, .. }) if code == "RESOURCE_ALREADY_EXISTS" => {
                get()?.ok_or_else(|| {
                    self.rejected(
                        "experiments/get-by-name",
                        format!("experiment {name:?} vanished"),
                    )
                })
            }
            Err(e) => Err(e),
        }
    }

    pub fn create_run(
        &self,
        experiment_id: &str,
        run_name: &str,
        start_time: i64,
        tags: &[(String, String)],
    ) -> Result<RemoteRun, MlflowError> {
        let body = self.post(
            "runs/create",
            &json!({
                "experiment_id": experiment_id,
                "run_name": run_name,
                "start_time": start_time,
                "tags": key_values(tags),
            }),
        )?;
        Ok(RemoteRun::from_json(&body["run"]))
    }

    /// The active runs of an experiment whose tag `key` is `value`.
    pub fn find_runs(
        &self,
        experiment_id: &str,
        key: &str,
        value: &str,
    ) -> Result<Vec<RemoteRun>, MlflowError> {
        if value.contains(['\'', '\\']) || key.contains('`') {
            return Ok(Vec::new());
        }
        let body = self.post(
            "runs/search",
            &json!({
                "experiment_ids": [experiment_id],
                "filter": format!("tags.`{key}` = '{value}'"),
                "max_results": 100,
            }),
        )?;
        Ok(body["runs"]
            .as_array()
            .map(|runs| runs.iter().map(RemoteRun::from_json).collect())
            .unwrap_or_default())
    }

    /// One `runs/log-batch` request; the server applies all of it or nothing.
    pub fn log_batch(
        &self,
        run_id: &str,
        metrics: &[Metric<'_>],
        params: &[(String, String)],
    ) -> Result<(), MlflowError> {
        self.post(
            "runs/log-batch",
            &json!({ "run_id": run_id, "metrics": metrics, "params": key_values(params) }),
        )
        .map(drop)
    }

    /// Sets tags of the run in one `runs/log-batch` request.
    pub fn set_tags(&self, run_id: &str, tags: &[(String, String)]) -> Result<(), MlflowError> {
        self.post(
            "runs/log-batch",
            &json!({ "run_id": run_id, "tags": key_values(tags) }),
        )
        .map(drop)
    }

    /// Removes tag `key` from the run.
    pub fn delete_tag(&self, run_id: &str, key: &str) -> Result<(), MlflowError> {
        self.post("runs/delete-tag", &json!({ "run_id": run_id, "key": key }))
            .map(drop)
    }

    /// How many points of metric `key` the server holds.
    pub fn history_len(&self, run_id: &str, key: &str) -> Result<u64, MlflowError> {
        let body = self.send(
            "metrics/get-history",
            self.http
                .get(self.api("metrics/get-history"))
                .query(&[("run_id", run_id), ("metric_key", key)]),
        )?;
        Ok(body["metrics"].as_array().map_or(0, |m| m.len() as u64))
    }

    /// Sets the run's status; `end_time` (ms) for the terminal ones.
    pub fn update_run(
        &self,
        run_id: &str,
        status: &str,
        end_time: Option<i64>,
    ) -> Result<(), MlflowError> {
        let mut body = json!({ "run_id": run_id, "status": status });
        if let Some(end) = end_time {
            body["end_time"] = json!(end);
        }
        self.post("runs/update", &body).map(drop)
    }

    /// Uploads a file to `relative` under the run's artifact root, through the server's
    /// artifact proxy.
    /// A file that is a symbolic link by the time it is opened is refused (HTTP 400 as if
    /// from the server), never followed.
    pub fn upload_file(&self, root: &str, relative: &str, file: &Path) -> Result<(), MlflowError> {
        let opened = File::open(file).map_err(crate::error::Error::io("cannot read", file))?;
        let meta = opened
            .metadata()
            .map_err(crate::error::Error::io("cannot read", file))?;
        if !same_file(file, &meta) {
            return Err(self.rejected(
                "mlflow-artifacts/artifacts",
                format!("{relative} became a symbolic link or special file; links inside a run are never followed"),
            ));
        }
        self.upload(root, relative, Body::sized(opened, meta.len()))
    }

    pub fn upload_bytes(
        &self,
        root: &str,
        relative: &str,
        bytes: Vec<u8>,
    ) -> Result<(), MlflowError> {
        self.upload(root, relative, Body::from(bytes))
    }

    fn upload(&self, root: &str, relative: &str, body: Body) -> Result<(), MlflowError> {
        let url = self.artifacts_url(&["artifacts"], root, relative);
        let request = self
            .http
            .put(url)
            .timeout(UPLOAD_TIMEOUT)
            .header("Content-Type", "application/octet-stream")
            .body(body);
        self.send("mlflow-artifacts/artifacts", request).map(drop)
    }

    /// `api/2.0/mlflow-artifacts/<action…>/<root>/<relative>` on the server.
    pub(super) fn artifacts_url(&self, action: &[&str], root: &str, relative: &str) -> Url {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .expect("http(s) URLs have paths")
            .pop_if_empty()
            .extend(["api", "2.0", "mlflow-artifacts"])
            .extend(action)
            .extend(
                root.split('/')
                    .chain(relative.split('/'))
                    .filter(|s| !s.is_empty()),
            );
        url
    }

    /// The HTTP client, for requests outside the tracking API (presigned part URLs).
    pub(super) fn http(&self) -> &Http {
        &self.http
    }

    pub(super) fn api(&self, method: &str) -> Url {
        self.base
            .join(&format!("api/2.0/mlflow/{method}"))
            .expect("a relative path joins any base URL")
    }

    pub(super) fn post(&self, endpoint: &str, body: &Json) -> Result<Json, MlflowError> {
        self.send(endpoint, self.http.post(self.api(endpoint)).json(body))
    }

    /// A `GET` of `api/2.0/mlflow/<endpoint>` with `query`.
    pub(super) fn get(&self, endpoint: &str, query: &[(&str, &str)]) -> Result<Json, MlflowError> {
        self.send(endpoint, self.http.get(self.api(endpoint)).query(query))
    }

    pub(super) fn send(
        &self,
        endpoint: &str,
        request: RequestBuilder,
    ) -> Result<Json, MlflowError> {
        let request = match &self.auth {
            Auth::None => request,
            Auth::Basic { username, password } => request.basic_auth(username, Some(password)),
            Auth::Bearer(token) => request.bearer_auth(token),
        };
        let response = request.send().map_err(|e| {
            let reason = chain(&e);
            let uri = self.uri.clone();
            if e.is_connect() {
                MlflowError::Unreachable { uri, reason }
            } else {
                MlflowError::NoAnswer { uri, reason }
            }
        })?;
        let status = response.status();
        let bytes = response.bytes().map_err(|e| MlflowError::NoAnswer {
            uri: self.uri.clone(),
            reason: chain(&e),
        })?;
        let body: Json = serde_json::from_slice(&bytes).unwrap_or(Json::Null);
        if status.is_success() {
            return Ok(body);
        }
        if matches!(status.as_u16(), 401 | 403) {
            return Err(MlflowError::Unauthorized {
                uri: self.uri.clone(),
                status: status.as_u16(),
                hint: self.auth.hint(),
            });
        }
        let message = text(&body["message"])
            .unwrap_or_else(|| String::from_utf8_lossy(&bytes).trim().to_owned());
        Err(MlflowError::Server {
            uri: self.uri.clone(),
            endpoint: endpoint.to_owned(),
            status: status.as_u16(),
            code: text(&body["error_code"]).unwrap_or_default(),
            message: message.chars().take(500).collect(),
        })
    }

    fn rejected(&self, endpoint: &str, message: String) -> MlflowError {
        MlflowError::Server {
            uri: self.uri.clone(),
            endpoint: endpoint.to_owned(),
            status: 400,
            code: "INVALID_STATE".into(),
            message,
        }
    }
}

/// Whether `path` itself (not a link's target) is the regular file `opened` was opened as.
fn same_file(path: &Path, opened: &std::fs::Metadata) -> bool {
    let Ok(own) = std::fs::symlink_metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        own.is_file() && opened.is_file() && own.dev() == opened.dev() && own.ino() == opened.ino()
    }
    #[cfg(not(unix))]
    {
        own.is_file() && opened.is_file()
    }
}

fn key_values(pairs: &[(String, String)]) -> Json {
    pairs
        .iter()
        .map(|(key, value)| json!({ "key": key, "value": value }))
        .collect()
}

fn text(value: &Json) -> Option<String> {
    value.as_str().map(str::to_owned)
}

/// An error and its causes, without the URL (it is named separately, credentials removed).
fn chain(error: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(error);
    while let Some(cause) = source {
        let part = cause.to_string();
        if !parts.contains(&part) {
            parts.push(part);
        }
        source = cause.source();
    }
    if parts.is_empty() {
        parts.push(reqwest_kind(error).to_owned());
    }
    parts.join(": ")
}

fn reqwest_kind(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else if error.is_body() || error.is_decode() {
        "the answer broke off"
    } else {
        "the request failed"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_is_a_string_and_infinities_are_clamped() {
        let values: Vec<_> = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.5]
            .into_iter()
            .map(|v| serde_json::to_string(&MetricValue::new(v)).unwrap())
            .collect();
        assert_eq!(
            values,
            [
                "\"NaN\"",
                "1.7976931348623157e+308",
                "-1.7976931348623157e+308",
                "0.5"
            ]
        );
    }

    #[test]
    fn artifact_roots_come_only_from_proxied_uris() {
        let run = |uri: &str| RemoteRun {
            run_id: "r".into(),
            start_time: None,
            artifact_uri: uri.into(),
        };
        assert_eq!(
            run("mlflow-artifacts:/1/r/artifacts")
                .artifact_root()
                .as_deref(),
            Some("1/r/artifacts")
        );
        assert_eq!(
            run("mlflow-artifacts://host:5000/1/r/artifacts")
                .artifact_root()
                .as_deref(),
            Some("1/r/artifacts")
        );
        assert_eq!(
            run("file:///tmp/mlruns/1/r/artifacts").artifact_root(),
            None
        );
    }
}
