//! Where the MLflow server is and how to log in, from the variables the MLflow client reads.

use std::fmt;
use std::path::PathBuf;

use reqwest::Url;

use super::MlflowError;

/// The server, the experiment and the credentials of an upload.
///
/// `Debug` never shows a password or token.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The server's URL, without any `user:password@` part.
    pub tracking_uri: String,
    /// `MLFLOW_EXPERIMENT_NAME`: the MLflow experiment of every run; by default the labbook
    /// experiment's name.
    pub experiment_name: Option<String>,
    /// `MLFLOW_TRACKING_USERNAME`/`MLFLOW_TRACKING_PASSWORD` or `MLFLOW_TRACKING_TOKEN`.
    pub auth: Auth,
    /// `MLFLOW_TRACKING_INSECURE_TLS`: accept any server certificate.
    pub insecure_tls: bool,
    /// `MLFLOW_TRACKING_SERVER_CERT_PATH`: a PEM certificate to trust.
    pub server_cert: Option<PathBuf>,
    /// `LABBOOK_MLFLOW_PARALLEL`: the most metrics requests in flight at once, 1 to 64
    /// (default [`DEFAULT_PARALLEL`]).
    pub parallel: usize,
}

/// Credentials, sent as the MLflow client sends them: basic auth when a user name and
/// password are both given (it wins), otherwise a bearer token.
#[derive(Clone, Default)]
pub enum Auth {
    /// No credentials.
    #[default]
    None,
    /// HTTP basic auth.
    Basic {
        /// `MLFLOW_TRACKING_USERNAME`.
        username: String,
        /// `MLFLOW_TRACKING_PASSWORD`.
        password: String,
    },
    /// `Authorization: Bearer <MLFLOW_TRACKING_TOKEN>`.
    Bearer(String),
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Basic { username, .. } => write!(f, "Basic({username:?}, <redacted>)"),
            Auth::Bearer(_) => f.write_str("Bearer(<redacted>)"),
        }
    }
}

impl Auth {
    /// What to check when the server refuses the credentials.
    pub(crate) fn hint(&self) -> &'static str {
        match self {
            Auth::None => "no credentials were given: set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or MLFLOW_TRACKING_TOKEN",
            Auth::Basic { .. } => "check MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD",
            Auth::Bearer(_) => "check MLFLOW_TRACKING_TOKEN",
        }
    }
}

impl Settings {
    /// The settings in the environment; `None` when `MLFLOW_TRACKING_URI` is unset or empty.
    pub fn from_env() -> Result<Option<Settings>, MlflowError> {
        match env("MLFLOW_TRACKING_URI") {
            Some(uri) => Settings::for_uri(&uri).map(Some),
            None => Ok(None),
        }
    }

    /// The server at `uri`, with the experiment, credentials and TLS settings of the
    /// environment. Credentials in the URL (`https://user:pass@host`) are used when the
    /// environment has none, and removed from the URL.
    pub fn for_uri(uri: &str) -> Result<Settings, MlflowError> {
        let invalid = |reason: String| MlflowError::Settings {
            setting: "MLFLOW_TRACKING_URI",
            reason,
        };
        let mut url = Url::parse(uri.trim()).map_err(|e| invalid(format!("not a URL ({e})")))?;
        let from_url = (!url.username().is_empty()).then(|| Auth::Basic {
            username: url.username().to_owned(),
            password: url.password().unwrap_or_default().to_owned(),
        });
        let _ = url.set_username("");
        let _ = url.set_password(None);
        let tracking_uri = url.as_str().trim_end_matches('/').to_owned();
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid(format!(
                "{tracking_uri} is not an http(s) server; labbook talks to tracking servers over REST"
            )));
        }
        let auth = match (
            env("MLFLOW_TRACKING_USERNAME"),
            env("MLFLOW_TRACKING_PASSWORD"),
            env("MLFLOW_TRACKING_TOKEN"),
        ) {
            (Some(username), Some(password), _) => Auth::Basic { username, password },
            (_, _, Some(token)) => Auth::Bearer(token),
            _ => from_url.unwrap_or_default(),
        };
        Ok(Settings {
            tracking_uri,
            experiment_name: env("MLFLOW_EXPERIMENT_NAME"),
            auth,
            insecure_tls: env("MLFLOW_TRACKING_INSECURE_TLS")
                .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "1")),
            server_cert: env("MLFLOW_TRACKING_SERVER_CERT_PATH").map(PathBuf::from),
            parallel: parse_parallel(env("LABBOOK_MLFLOW_PARALLEL"))?,
        })
    }
}

fn env(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.trim().is_empty())
}

/// The most requests in flight when `LABBOOK_MLFLOW_PARALLEL` is not set: 8, what one run
/// needs to come near the ceiling of `mlflow server --workers 4` on PostgreSQL, and no
/// slower than one at a time on a single-worker sqlite server. Fewer go out while the server
/// answers that it is busy (many runs at once exhaust its database connection pools): see
/// `parallel`.
pub const DEFAULT_PARALLEL: usize = 8;
/// The most requests in flight that `LABBOOK_MLFLOW_PARALLEL` may ask for.
pub const MAX_PARALLEL: usize = 64;

/// `LABBOOK_MLFLOW_PARALLEL` read from `value`: a whole number from 1 to [`MAX_PARALLEL`].
pub(crate) fn parse_parallel(value: Option<String>) -> Result<usize, MlflowError> {
    let Some(value) = value else {
        return Ok(DEFAULT_PARALLEL);
    };
    match value.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_PARALLEL).contains(&n) => Ok(n),
        _ => Err(MlflowError::Settings {
            setting: "LABBOOK_MLFLOW_PARALLEL",
            reason: format!(
                "{value:?} is not a number of requests from 1 to {MAX_PARALLEL}; set it to 1 to send one request at a time"
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_the_url_are_moved_out_of_it_and_never_printed() {
        let settings =
            Settings::for_uri("https://bob:hunter2@mlflow.example:8443/prefix/").unwrap();
        assert_eq!(settings.tracking_uri, "https://mlflow.example:8443/prefix");
        let shown = format!("{settings:?}");
        assert!(
            !shown.contains("hunter2") && shown.contains("bob"),
            "{shown}"
        );
        assert!(Settings::for_uri("file:///tmp/mlruns").is_err());
        assert!(Settings::for_uri("not a url").is_err());
    }

    #[test]
    fn the_number_of_requests_in_flight_is_checked() {
        assert_eq!(parse_parallel(None).unwrap(), DEFAULT_PARALLEL);
        assert_eq!(parse_parallel(Some(" 8 ".into())).unwrap(), 8);
        for bad in ["0", "65", "many", "-1"] {
            let message = parse_parallel(Some(bad.into())).unwrap_err().to_string();
            assert!(message.contains("LABBOOK_MLFLOW_PARALLEL"), "{message}");
            assert!(message.contains("from 1 to 64"), "{message}");
        }
    }
}
