//! `labbook export RUN… --format csv|jsonl`: every metric point in long format,
//! `run,metric,step,value,time`, for pandas, polars, R or a spreadsheet.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use super::store;
use super::warn;
use labbook::store::read::Store;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// `experiment/id`, `experiment` (its latest run) or a run directory.
    #[arg(required = true)]
    runs: Vec<String>,
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    format: Format,
    /// Only these metrics (repeat or separate with commas) [default: every metric].
    #[arg(short, long = "metric", value_name = "NAME", value_delimiter = ',')]
    metrics: Vec<String>,
    /// Write here instead of to standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    /// Comma-separated values with a header line.
    Csv,
    /// One JSON object a line.
    Jsonl,
}

pub(crate) fn run(store: &Store, args: &Args, out: &mut dyn Write) -> Result<()> {
    let runs = store::load_all(store, &args.runs)?;
    let mut selected = Vec::new();
    for run in &runs {
        for stream in run.dir.metrics() {
            let name = stream.key();
            if args.metrics.is_empty() || args.metrics.contains(&name) {
                selected.push((run, name, stream));
            }
        }
    }
    if let Some(missing) = args
        .metrics
        .iter()
        .find(|m| !selected.iter().any(|(_, name, _)| name == *m))
    {
        bail!(
            "no run among {} has a metric `{missing}`",
            args.runs.join(", ")
        );
    }
    let mut file;
    let out: &mut dyn Write = match &args.output {
        Some(path) => {
            file = BufWriter::new(
                File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
            );
            &mut file
        }
        None => out,
    };
    if args.format == Format::Csv {
        writeln!(out, "run,metric,step,value,time")?;
    }
    for (run, name, stream) in selected {
        let read = stream
            .scalars()
            .with_context(|| format!("cannot read metric `{name}` of {}", run.label()))?;
        if let Some(warning) = read.warning {
            warn(warning);
        }
        let (label, name) = (run.label(), name.as_str());
        for p in read.points {
            match args.format {
                Format::Csv => writeln!(
                    out,
                    "{},{},{},{},{}",
                    csv(label),
                    csv(name),
                    p.step,
                    csv_number(p.value),
                    csv_number(p.time)
                )?,
                Format::Jsonl => {
                    let mut line = Vec::with_capacity(128);
                    line.extend_from_slice(b"{\"run\":");
                    serde_json::to_writer(&mut line, label)?;
                    line.extend_from_slice(b",\"metric\":");
                    serde_json::to_writer(&mut line, name)?;
                    line.push(b',');
                    // `"step":…,"value":…,"time":…}` as the store writes it.
                    let start = line.len();
                    labbook::store::jsonl::push_scalar(&mut line, p.step, p.value, p.time);
                    line.remove(start);
                    out.write_all(&line)?;
                }
            }
        }
    }
    out.flush()?;
    Ok(())
}

/// A CSV field, quoted when it must be.
fn csv(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// A number as pandas and polars read it back exactly: shortest round-trip digits, `NaN`,
/// `inf`, `-inf`.
fn csv_number(value: f64) -> String {
    if value.is_finite() {
        ryu::Buffer::new().format_finite(value).to_owned()
    } else if value.is_nan() {
        "NaN".into()
    } else if value > 0.0 {
        "inf".into()
    } else {
        "-inf".into()
    }
}
