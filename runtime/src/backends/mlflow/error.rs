//! What can go wrong between a run and an MLflow server. No variant ever holds a credential:
//! URLs are kept without their user-info part and errors name the variables, not their values.

/// What MLflow's SQL stores say, as HTTP 400 `BAD_REQUEST`, for a database that could not
/// take a request now; any other 400 is a rejection. MLflow turns every SQLAlchemy error
/// except `OperationalError` into `BAD_REQUEST`: the server's connection pool (5 + 10
/// connections per worker by default, two held by each `log-batch`) running out under many
/// requests at once, a unique row two requests inserted at once, a transaction PostgreSQL
/// could not serialize or chose as a deadlock's victim. The transaction is rolled back.
pub(crate) const TRANSIENT_DATABASE_ERRORS: [&str; 6] = [
    "QueuePool limit",
    "connection timed out",
    "duplicate key value violates unique constraint",
    "could not serialize access",
    "deadlock detected",
    "database is locked",
];

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
            MlflowError::Server { status, .. } => {
                *status >= 500 || matches!(status, 408 | 429) || self.is_busy()
            }
            _ => false,
        }
    }

    /// The server or its database is too busy for the request now, and nothing of it was
    /// stored: HTTP 429 or 503, or the 400 `BAD_REQUEST` that MLflow's SQL stores answer
    /// for a database error (see [`TRANSIENT_DATABASE_ERRORS`]). Sending the same request
    /// again after a pause is the remedy.
    pub(crate) fn is_busy(&self) -> bool {
        match self {
            MlflowError::Server {
                status: 429 | 503, ..
            } => true,
            MlflowError::Server {
                status: 400,
                code,
                message,
                ..
            } => {
                code == "BAD_REQUEST"
                    && TRANSIENT_DATABASE_ERRORS
                        .iter()
                        .any(|words| message.contains(words))
            }
            _ => false,
        }
    }

    /// A request the server will never accept (a bad key, a changed param): HTTP 400,
    /// unless it is a database that was busy ([`MlflowError::is_busy`]).
    pub(crate) fn is_rejection(&self) -> bool {
        matches!(self, MlflowError::Server { status: 400, .. }) && !self.is_busy()
    }

    /// The server's own words for a rejection, or the whole error.
    pub(crate) fn reason(&self) -> String {
        match self {
            MlflowError::Server { code, message, .. } => format!("{code}: {message}"),
            other => other.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(status: u16, code: &str, message: &str) -> MlflowError {
        MlflowError::Server {
            uri: "http://127.0.0.1:5000".into(),
            endpoint: "runs/log-batch".into(),
            status,
            code: code.into(),
            message: message.into(),
        }
    }

    #[test]
    fn a_busy_database_is_retried_and_a_bad_key_is_refused_for_good() {
        // Word for word what mlflow 3.17.2 on PostgreSQL with --workers 4 answered to 16
        // runs with 4 log-batch requests in flight each.
        let pool = server(
            400,
            "BAD_REQUEST",
            "QueuePool limit of size 5 overflow 10 reached, connection timed out, timeout 30.00 (Background on this error at: https://sqlalche.me/e/21/3o7r)",
        );
        assert!(pool.is_busy() && pool.is_retryable() && !pool.is_rejection());
        let race = server(
            400,
            "BAD_REQUEST",
            "(psycopg2.errors.UniqueViolation) duplicate key value violates unique constraint \"latest_metric_pk\"",
        );
        assert!(race.is_busy() && race.is_retryable() && !race.is_rejection());
        let bad_name = server(
            400,
            "INVALID_PARAMETER_VALUE",
            "Invalid metric name: 'a..b'. Names may only contain alphanumerics",
        );
        assert!(!bad_name.is_busy() && !bad_name.is_retryable() && bad_name.is_rejection());
        // A database error that is not about load stays a rejection.
        let data = server(
            400,
            "BAD_REQUEST",
            "(psycopg2.errors.NumericValueOutOfRange)",
        );
        assert!(data.is_rejection() && !data.is_retryable());
        let unavailable = server(503, "TEMPORARILY_UNAVAILABLE", "database is locked");
        assert!(unavailable.is_busy() && unavailable.is_retryable() && !unavailable.is_rejection());
    }
}
