//! `labbook sync [RUN…] [--tracking-uri URI]`: uploads local runs to an MLflow tracking
//! server (feature `mlflow`), the way home for runs made on machines without network. Safe
//! to repeat and to interrupt: each run continues where its last upload stopped.

use std::io::Write;

use anyhow::{anyhow, bail, Result};

use labbook::backends::mlflow::{self, Settings};
use labbook::store::read::Store;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// `experiment/id`, `experiment` (its latest run) or a run directory [default: every run].
    runs: Vec<String>,
    /// The MLflow server [default: $MLFLOW_TRACKING_URI]. Credentials come from
    /// MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or MLFLOW_TRACKING_TOKEN.
    #[arg(long, value_name = "URI")]
    tracking_uri: Option<String>,
}

/// The server `--tracking-uri` names, else `MLFLOW_TRACKING_URI`'s, with the credentials of
/// the environment.
pub(crate) fn settings(tracking_uri: Option<&str>) -> Result<Settings> {
    Ok(match tracking_uri {
        Some(uri) => Settings::for_uri(uri)?,
        None => Settings::from_env()?.ok_or_else(|| {
            anyhow!("no MLflow server: pass --tracking-uri or set MLFLOW_TRACKING_URI")
        })?,
    })
}

pub(crate) fn run(store: &Store, args: &Args, out: &mut dyn Write) -> Result<()> {
    let settings = settings(args.tracking_uri.as_deref())?;
    let runs = if args.runs.is_empty() {
        super::store::runs(store, None)?
    } else {
        let runs: Result<Vec<_>> = args
            .runs
            .iter()
            .map(|arg| super::store::resolve(store, arg))
            .collect();
        runs?
    };
    let mut failed = 0;
    for run in &runs {
        // One at a time, so each line shows up as its run is done.
        let report = mlflow::sync(&[run.path().to_owned()], &settings);
        failed += usize::from(!report.is_success());
        write!(out, "{report}")?;
        out.flush()?;
    }
    if failed > 0 {
        bail!(
            "{failed} of {} runs did not reach {}; run `labbook sync` again to continue",
            runs.len(),
            settings.tracking_uri
        );
    }
    Ok(())
}
