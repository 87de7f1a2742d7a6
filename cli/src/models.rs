//! `labbook models ls [NAME]`: the registered models of an MLflow server and their versions
//! (version, stage and aliases, labbook run, source, created), as a table or `--json`.

use std::io::Write;

use anyhow::Result;
use serde_json::json;

use labbook::backends::mlflow::{self, RegisteredModel};

use crate::table::{self, Table};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Lists registered models and their versions, newest first.
    Ls(LsArgs),
}

#[derive(Debug, clap::Args)]
struct LsArgs {
    /// One registered model [default: every one].
    name: Option<String>,
    /// One JSON object a version (a model without versions: one with `version` null), with
    /// its whole source and tags.
    #[arg(long)]
    json: bool,
    /// The MLflow server [default: $MLFLOW_TRACKING_URI]. Credentials come from
    /// MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or MLFLOW_TRACKING_TOKEN.
    #[arg(long, value_name = "URI")]
    tracking_uri: Option<String>,
}

/// The widest a source is shown in the table: its end, where the file is named.
const SOURCE_WIDTH: usize = 48;

pub(crate) fn run(args: &Args, out: &mut dyn Write) -> Result<()> {
    let Command::Ls(args) = &args.command;
    let settings = super::sync::settings(args.tracking_uri.as_deref())?;
    let models = mlflow::models(&settings, args.name.as_deref())?;
    if let (Some(name), true) = (&args.name, models.is_empty()) {
        anyhow::bail!(
            "there is no registered model `{name}` on {}; `labbook models ls` lists them",
            settings.tracking_uri
        );
    }
    if args.json {
        return write_json(&models, out);
    }
    let mut table = Table::new([
        "MODEL",
        "VERSION",
        "STAGE",
        "ALIASES",
        "RUN",
        "SOURCE",
        "CREATED (UTC)",
    ]);
    table.align_right(1);
    for model in &models {
        if model.versions.is_empty() {
            let created = table::minute(model.created_ms as f64 / 1000.0);
            table.push(vec![
                model.name.clone(),
                "-".into(),
                "-".into(),
                String::new(),
                String::new(),
                String::new(),
                created,
            ]);
        }
        for version in &model.versions {
            let run = version
                .tags
                .get("labbook.run")
                .cloned()
                .unwrap_or_else(|| version.run_id.clone());
            table.push(vec![
                model.name.clone(),
                version.version.clone(),
                version.stage.clone(),
                version.aliases.join(", "),
                run,
                tail(&version.source, SOURCE_WIDTH),
                table::minute(version.created_ms as f64 / 1000.0),
            ]);
        }
    }
    table.write(out)?;
    Ok(())
}

fn write_json(models: &[RegisteredModel], out: &mut dyn Write) -> Result<()> {
    for model in models {
        if model.versions.is_empty() {
            writeln!(out, "{}", json!({ "model": model.name, "version": null }))?;
        }
        for version in &model.versions {
            let line = json!({
                "model": model.name,
                "version": version.version,
                "stage": version.stage,
                "aliases": version.aliases,
                "run_id": version.run_id,
                "source": version.source,
                "created_ms": version.created_ms,
                "tags": version.tags,
            });
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}

/// The last `width` characters of `text`, after `…` when it is longer.
fn tail(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count <= width {
        return text.to_owned();
    }
    let kept: String = text.chars().skip(count - (width - 1)).collect();
    format!("…{kept}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_sources_keep_their_end() {
        assert_eq!(
            super::tail("s3://b/1/abc/artifacts/model.json", 48),
            "s3://b/1/abc/artifacts/model.json"
        );
        assert_eq!(super::tail("abcdefgh", 5), "…efgh");
    }
}
