//! `labbook sweep show ID|SPEC`: the trials sorted by the metric (best first), the best
//! point as a ready-to-paste `LABBOOK_SET=…` and `--set …` line, and with `-o` a plot.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use labbook::store::read::Store;

use super::display::best;
use super::space;
use super::spec::Spec;
use super::state::{State, Status, Sweep};
use crate::table::{number, Table};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The sweep's id (as `labbook sweep run` printed it) or its spec file.
    sweep: String,
    /// Also draw the metric against each parameter, and the best so far, into a `.png` or
    /// `.svg` file.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

pub(crate) fn run(store: &Store, args: &Args, out: &mut dyn Write) -> Result<()> {
    let sweep = find(store, &args.sweep)?;
    let spec = sweep.spec()?;
    let state = sweep.read()?;
    writeln!(
        out,
        "sweep {} ({} of {} trials)",
        sweep.id,
        state.trials.len(),
        spec.trial_count()
    )?;
    summary(&spec, &state, out)?;
    if let Some(path) = &args.output {
        super::chart::draw(&spec, &state, path)?;
        writeln!(out, "wrote {}", path.display())?;
    }
    Ok(())
}

/// The sweep an argument names: a spec file, or an id.
fn find(store: &Store, arg: &str) -> Result<Sweep> {
    let path = Path::new(arg);
    if path.is_file() {
        let spec = Spec::load(path)?;
        let sweep = Sweep::of(store.path(), path, &spec);
        if !sweep.dir.is_dir() {
            bail!(
                "the sweep of {arg} has not run in {}: start it with `labbook sweep run {arg}`",
                store.path().display()
            );
        }
        return Ok(sweep);
    }
    Sweep::named(store.path(), arg)
}

/// The trials by metric, best first (those without a value last), and the best point.
pub(crate) fn summary(spec: &Spec, state: &State, out: &mut dyn Write) -> Result<()> {
    let names: Vec<&String> = spec.parameters.keys().collect();
    let mut headers = vec![
        "trial".to_owned(),
        "status".into(),
        spec.metric.clone(),
        "step".into(),
    ];
    headers.extend(names.iter().map(|n| n.to_string()));
    headers.push("run".into());
    let mut table = Table::new(headers);
    for column in [0, 2, 3] {
        table.align_right(column);
    }
    let mut trials: Vec<_> = state.trials.iter().collect();
    trials.sort_by(|a, b| {
        match (
            a.value.filter(|v| v.is_finite()),
            b.value.filter(|v| v.is_finite()),
        ) {
            (Some(x), Some(y)) if spec.goal.better(x, y) => std::cmp::Ordering::Less,
            (Some(x), Some(y)) if spec.goal.better(y, x) => std::cmp::Ordering::Greater,
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            _ => a.trial.cmp(&b.trial),
        }
    });
    for trial in trials {
        let mut row = vec![
            trial.trial.to_string(),
            trial.status.as_str().to_owned(),
            trial.value.map_or("-".into(), number),
            trial.step.map_or("-".into(), |s| s.to_string()),
        ];
        row.extend(
            names
                .iter()
                .map(|n| trial.params.get(*n).map_or("-".into(), space::short)),
        );
        row.push(trial.run.clone().unwrap_or_default());
        table.push(row);
    }
    table.write(out)?;
    let Some((number_, value)) = best(spec, state) else {
        writeln!(
            out,
            "no trial has finished with a value of `{}` yet",
            spec.metric
        )?;
        return Ok(());
    };
    let trial = state
        .trials
        .iter()
        .find(|t| t.trial == number_)
        .expect("the best is a trial");
    let stopped = if trial.status == Status::Stopped {
        ", stopped early"
    } else {
        ""
    };
    writeln!(
        out,
        "\nbest: trial {number_}, {} {} ({}{stopped})",
        spec.metric,
        number(value),
        trial.run.as_deref().unwrap_or("no run")
    )?;
    let set = space::overrides(&trial.params);
    let flags: Vec<String> = trial
        .params
        .iter()
        .map(|(k, v)| shell_word(&format!("{k}={}", space::text(v))))
        .map(|kv| format!("--set {kv}"))
        .collect();
    writeln!(out, "  LABBOOK_SET={}", shell_word(&set))?;
    writeln!(out, "  {}", flags.join(" "))?;
    Ok(())
}

/// `text` as one shell word: bare when it is safe, single-quoted otherwise.
fn shell_word(text: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_.,=:/+@%".contains(c);
    if !text.is_empty() && text.chars().all(safe) {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}
