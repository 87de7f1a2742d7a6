//! What can go wrong between a run and an MLflow server. No variant ever holds a credential:
//! URLs are kept without their user-info part and errors name the variables, not their values.

/// An MLflow upload problem.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MlflowError {
    /// `MLFLOW_TRACKING_URI` (or `--tracking-uri`) is not an http(s) URL, or a TLS setting is bad.
    #[error("invalid MLflow setting {setting}: {reason}")]
    Settings {
        /// The variable or option, e.g. `MLFLOW_TRACKING_URI`.
        setting: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// No connection could be made; nothing was sent.
    #[error("cannot reach the MLflow server at {uri}: {reason}")]
    Unreachable {
        /// The server, without credentials.
        uri: String,
        /// Why the connection failed.
        reason: String,
    },
    /// A request was sent but no answer came: it may or may not have been applied.
    #[error("the MLflow server at {uri} did not answer: {reason}")]
    NoAnswer {
        /// The server, without credentials.
        uri: String,
        /// What happened to the request.
        reason: String,
    },
    /// HTTP 401 or 403: the credentials are missing or wrong.
    #[error("the MLflow server at {uri} refused the credentials (HTTP {status}); {hint}")]
    Unauthorized {
        /// The server, without credentials.
        uri: String,
        /// 401 or 403.
        status: u16,
        /// Which variables to set or check.
        hint: &'static str,
    },
    /// Any other answer that is not a success.
    #[error("the MLflow server at {uri} answered {endpoint} with HTTP {status} {code}: {message}")]
    Server {
        /// The server, without credentials.
        uri: String,
        /// The REST endpoint called, e.g. `runs/log-batch`.
        endpoint: String,
        /// The HTTP status.
        status: u16,
        /// MLflow's `error_code`, e.g. `INVALID_PARAMETER_VALUE`.
        code: String,
        /// MLflow's message.
        message: String,
    },
    /// Reading the local run failed.
    #[error(transparent)]
    Local(#[from] crate::error::Error),
    /// The run ended and the upload did not finish in the time the end may take.
    #[error("the upload did not finish within {0} s of the end of the run")]
    Deadline(u64),
}

impl MlflowError {
    /// Whether trying again later can succeed: the server is down, busy or failing.
    pub fn is_retryable(&self) -> bool {
        match self {
            MlflowError::Unreachable { .. } | MlflowError::NoAnswer { .. } => true,
            MlflowError::Server { status, .. } => *status >= 500 || matches!(status, 408 | 429),
            _ => false,
        }
    }

    /// A request the server will never accept (a bad key, a changed param): HTTP 400.
    pub(crate) fn is_rejection(&self) -> bool {
        matches!(self, MlflowError::Server { status: 400, .. })
    }

    /// The server's own words for a rejection, or the whole error.
    pub(crate) fn reason(&self) -> String {
        match self {
            MlflowError::Server { code, message, .. } => format!("{code}: {message}"),
            other => other.to_string(),
        }
    }
}
