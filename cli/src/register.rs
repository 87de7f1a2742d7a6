//! `labbook register RUN --name NAME [--checkpoint best|last|step-N] [--site SITE]`: makes a
//! checkpoint of a run a version of a registered model on an MLflow server (feature
//! `mlflow`), uploading the run first when the server lacks it; safe to repeat.

use std::io::Write;

use anyhow::Result;

use labbook::backends::mlflow::{self, Choice};
use labbook::store::read::Store;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// `experiment/id`, `experiment` (its latest run) or a run directory.
    run: String,
    /// The registered model; created when the server has none of that name.
    #[arg(long, value_name = "NAME")]
    name: String,
    /// Which checkpoint: `best` (by the metric its site keeps the best of), `last`, or
    /// `step-N` (the one saved at step N).
    #[arg(long, value_name = "WHICH", default_value = "best")]
    checkpoint: Choice,
    /// The checkpoint site (`#[log(checkpoint, name = "…")]`), when the run has several.
    #[arg(long, value_name = "SITE")]
    site: Option<String>,
    /// The MLflow server [default: $MLFLOW_TRACKING_URI]. Credentials come from
    /// MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or MLFLOW_TRACKING_TOKEN.
    #[arg(long, value_name = "URI")]
    tracking_uri: Option<String>,
}

pub(crate) fn run(store: &Store, args: &Args, out: &mut dyn Write) -> Result<()> {
    let settings = super::sync::settings(args.tracking_uri.as_deref())?;
    let run = super::store::resolve(store, &args.run)?;
    let registered = mlflow::register(
        run.path(),
        &settings,
        &args.name,
        args.checkpoint,
        args.site.as_deref(),
    )?;
    writeln!(out, "{registered}")?;
    Ok(())
}
