//! `labbook watch RUN`: the latest value and rate of every metric of a live run, refreshed
//! until the run ends. Reads only the last lines of each stream.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use anyhow::{Context, Result};

use super::store::{self, now, Run};
use super::table::{self, Table};
use super::warn;
use labbook::store::read::{RunDir, State, Store};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// `experiment/id`, `experiment` (its latest run) or a run directory.
    run: String,
    /// Seconds between refreshes.
    #[arg(long, default_value_t = 1.0, value_name = "SECONDS")]
    interval: f64,
    /// Print the current state once and exit.
    #[arg(long)]
    once: bool,
}

pub(crate) fn run(store: &Store, args: &Args, out: &mut dyn Write) -> Result<()> {
    let dir = store::resolve(store, &args.run)?;
    let interval = Duration::from_secs_f64(args.interval.clamp(0.05, 3600.0));
    // On a terminal the block is redrawn in place; elsewhere a block is printed when it changes.
    let terminal = std::io::stdout().is_terminal();
    let mut previous: Option<(String, usize)> = None;
    loop {
        let run = Run::load(&dir)?;
        let (block, key) = snapshot(&run, &dir)?;
        match &previous {
            Some((_, lines)) if terminal => write!(out, "\x1b[{lines}F\x1b[J{block}")?,
            Some((last, _)) if *last == key => {}
            Some(_) => write!(out, "\n{block}")?,
            None => write!(out, "{block}")?,
        }
        out.flush()?;
        if run.state != State::Running {
            let error = run
                .info
                .error
                .as_deref()
                .map_or(String::new(), |e| format!(": {e}"));
            writeln!(out, "{} ended: {}{error}", run.label(), run.state.as_str())?;
            return Ok(());
        }
        if args.once {
            return Ok(());
        }
        previous = Some((key, block.lines().count()));
        std::thread::sleep(interval);
    }
}

/// The block to show, and what it shows apart from clocks (to tell a change).
fn snapshot(run: &Run, dir: &RunDir) -> Result<(String, String)> {
    let info = &run.info;
    let mut table = Table::new(["METRIC", "STEP", "VALUE", "RATE"]);
    for column in 1..4 {
        table.align_right(column);
    }
    let mut key = run.state.as_str().to_owned();
    let mut last_time = None::<f64>;
    for stream in dir.metrics() {
        let name = stream.key();
        let tail = stream
            .tail(4096)
            .with_context(|| format!("cannot read metric `{name}` of {}", dir.label()))?;
        if let Some(warning) = tail.warning {
            warn(warning);
        }
        let (Some(first), Some(last)) = (tail.points.first(), tail.points.last()) else {
            continue;
        };
        last_time = Some(last_time.map_or(last.time, |t| t.max(last.time)));
        let seconds = last.time - first.time;
        let rate = if seconds > 0.0 && last.step > first.step {
            format!(
                "{} steps/s",
                table::number(round((last.step - first.step) as f64 / seconds))
            )
        } else {
            "-".into()
        };
        key.push_str(&format!(" {name}={}", last.step));
        table.push(vec![
            name,
            last.step.to_string(),
            table::number(last.value),
            rate,
        ]);
    }
    let elapsed = run.duration(last_time).map_or("-".into(), table::duration);
    let mut block = format!(
        "{}  {}  {elapsed}  ({}, pid {})\n",
        run.label(),
        run.state.as_str(),
        info.host,
        info.pid
    );
    let mut rows = Vec::new();
    table.write(&mut rows)?;
    block.push_str(&String::from_utf8_lossy(&rows));
    if let Some(latest) = last_time.filter(|_| run.state == State::Running) {
        block.push_str(&format!(
            "last point {} ago\n",
            table::duration((now() - latest).max(0.0))
        ));
    }
    Ok((block, key))
}

/// Three significant digits are enough for a rate.
fn round(value: f64) -> f64 {
    if value == 0.0 || !value.is_finite() {
        return value;
    }
    let scale = 10f64.powi(2 - value.abs().log10().floor() as i32);
    (value * scale).round() / scale
}
