//! `labbook ls`: a table of runs, read from each run's info, config and the last point of
//! each metric (from the summary a finished run wrote at its end, or from the end of each
//! stream), filtered by status, tags, group and conditions, sorted by any of them.

mod filter;
mod load;
mod row;

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::io::{BufWriter, Write};

use anyhow::Result;
use serde_json::{json, Value};

use self::filter::{Condition, InfoFilter, TagFilter};
use self::load::Wanted;
use self::row::Row;
use super::parallel;
use super::store;
use super::table::{self, Table};
use labbook::store::read::{State, Store};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Only the runs of this experiment.
    experiment: Option<String>,
    /// Only runs in this state: running, complete, failed or crashed.
    #[arg(long, value_name = "STATUS", value_parser = filter::parse_state)]
    status: Option<State>,
    /// Only runs with this tag: `baseline` (whatever its value) or `optimizer=adam`. Repeat
    /// to require several.
    #[arg(long = "tag", value_name = "TAG", value_parser = TagFilter::parse)]
    tags: Vec<TagFilter>,
    /// Only runs of this group.
    #[arg(long, value_name = "GROUP")]
    group: Option<String>,
    /// Only runs where a metric (its last value), config key or param compares as given:
    /// `lr<0.01`, `optimizer=adam`, `val_acc>=0.9`. Repeat to require several.
    #[arg(long = "where", value_name = "CONDITION", value_parser = Condition::parse)]
    conditions: Vec<Condition>,
    /// Order by a metric (its last value), config key, param, or `start`, `duration`,
    /// `status`, `host`, `group`.
    #[arg(long, value_name = "KEY")]
    sort: Option<String>,
    /// With `--sort`: largest first.
    #[arg(long, requires = "sort")]
    desc: bool,
    /// Config keys to show, comma-separated [default: those that differ between the runs].
    #[arg(short, long = "config", value_name = "KEY", value_delimiter = ',')]
    config: Vec<String>,
    /// Metrics to show, comma-separated [default: every metric].
    #[arg(short, long = "metric", value_name = "NAME", value_delimiter = ',')]
    metrics: Vec<String>,
    /// Print a JSON array of runs, with their whole config and last points, for scripts.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(store: &Store, args: &Args, out: &mut dyn Write) -> Result<()> {
    // A line of the table is no write of its own: a store of 100,000 runs is 100,000 lines.
    let mut out = BufWriter::with_capacity(1 << 16, out);
    list(store, args, &mut out)?;
    Ok(out.flush()?)
}

fn list(store: &Store, args: &Args, out: &mut dyn Write) -> Result<()> {
    let dirs = store::runs(store, args.experiment.as_deref())?;
    let filter = InfoFilter {
        status: args.status,
        tags: args.tags.clone(),
        group: args.group.clone(),
    };
    let mut rows: Vec<Row> = load::load_all(&dirs, &args.wanted(&filter))
        .into_iter()
        .filter(|row| args.conditions.iter().all(|c| c.holds(row)))
        .collect();
    if let Some(key) = &args.sort {
        rows.sort_by_cached_key(|row| Sorted(row.field(key), args.desc));
    }
    if args.json {
        let runs: Vec<Value> = rows.iter().map(as_json).collect();
        serde_json::to_writer_pretty(&mut *out, &runs)?;
        writeln!(out)?;
        return Ok(());
    }
    if rows.is_empty() {
        writeln!(out, "no runs")?;
        return Ok(());
    }
    let problems = rows.iter().any(|r| r.run.info.problem_count() > 0);
    write_table(rows, args, out)?;
    if problems {
        writeln!(
            out,
            "\nSome runs could not store or send everything; `labbook show RUN` says what."
        )?;
    }
    Ok(())
}

impl Args {
    /// What the rows need read: the metrics shown and those the conditions and the sort
    /// name, and params only when a condition or the sort may name one.
    fn wanted<'a>(&self, filter: &'a InfoFilter) -> Wanted<'a> {
        let mut keys: Vec<&String> = self.conditions.iter().map(|c| &c.key).collect();
        keys.extend(&self.sort);
        let metrics = (!self.metrics.is_empty()).then(|| {
            self.metrics
                .iter()
                .chain(keys.iter().copied())
                .cloned()
                .collect()
        });
        Wanted {
            filter,
            metrics,
            params: !keys.is_empty(),
            config_json: self.json,
        }
    }
}

/// A row's value for `--sort`: rows without one last, whichever the direction.
#[derive(PartialEq, Eq)]
struct Sorted(Option<row::Field>, bool);

impl PartialOrd for Sorted {
    fn partial_cmp(&self, other: &Sorted) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Sorted {
    fn cmp(&self, other: &Sorted) -> Ordering {
        match (&self.0, &other.0) {
            (Some(x), Some(y)) if self.1 => y.cmp(x),
            (Some(x), Some(y)) => x.cmp(y),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        }
    }
}

/// Run, status, start, duration, host; group and tags when any run has them; the config
/// keys asked for (or those that differ); the last value of each metric.
fn write_table(rows: Vec<Row>, args: &Args, out: &mut dyn Write) -> Result<()> {
    let config_keys = if args.config.is_empty() {
        differing_keys(&rows)
    } else {
        args.config.clone()
    };
    let mut metric_names = BTreeSet::new();
    for name in rows.iter().flat_map(|r| r.metrics.keys()) {
        // One by one: collecting would sort a name a run, a million for a big store.
        if !metric_names.contains(name) && (args.metrics.is_empty() || args.metrics.contains(name))
        {
            metric_names.insert(name.clone());
        }
    }
    let columns = Columns {
        groups: rows.iter().any(|r| r.run.info.group.is_some()),
        tags: rows.iter().any(|r| !r.run.info.tags.is_empty()),
        config_keys,
        metric_names: metric_names.into_iter().collect(),
    };
    let mut table = Table::new(
        ["RUN", "STATUS", "STARTED (UTC)", "DURATION", "HOST"]
            .into_iter()
            .chain(columns.groups.then_some("GROUP"))
            .chain(columns.tags.then_some("TAGS"))
            .map(str::to_owned)
            .chain(columns.config_keys.iter().cloned())
            .chain(columns.metric_names.iter().cloned()),
    );
    table.align_right(3);
    for cells in parallel::filter_map(rows, |row| Some(columns.cells(row))) {
        table.push(cells);
    }
    table.write(out)?;
    // Freeing a cell at a time is work no one waits for: a big listing has millions.
    std::thread::spawn(move || drop(table));
    Ok(())
}

/// The columns of the table after the first five.
struct Columns {
    groups: bool,
    tags: bool,
    config_keys: Vec<String>,
    metric_names: Vec<String>,
}

impl Columns {
    /// The cells of `row`'s line (which it takes, so that it is dropped on the thread that
    /// made the line).
    fn cells(&self, row: Row) -> Vec<String> {
        let info = &row.run.info;
        let last_time = row.metrics.values().map(|p| p.time).reduce(f64::max);
        let mut cells = vec![
            row.run.label().to_owned(),
            row.run.status_cell(),
            table::minute(info.start_unix),
            row.run
                .duration(last_time)
                .map_or("-".into(), table::duration),
            info.host.clone(),
        ];
        if self.groups {
            cells.push(info.group.clone().unwrap_or_else(|| "-".into()));
        }
        if self.tags {
            let joined: Vec<String> = info
                .tags
                .iter()
                .map(|(key, value)| match value.as_str() {
                    "" => key.clone(),
                    value => format!("{key}={value}"),
                })
                .collect();
            cells.push(if joined.is_empty() {
                "-".into()
            } else {
                joined.join(",")
            });
        }
        cells.extend(
            self.config_keys
                .iter()
                .map(|k| row.config.get(k).map_or("-".into(), store::text)),
        );
        cells.extend(self.metric_names.iter().map(|m| {
            row.metrics
                .get(m)
                .map_or("-".into(), |p| table::number(p.value))
        }));
        cells
    }
}

/// The config keys whose values are not the same in every row.
fn differing_keys(rows: &[Row]) -> Vec<String> {
    let mut keys = BTreeSet::new();
    for key in rows.iter().flat_map(|r| r.config.keys()) {
        keys.insert(key);
    }
    keys.into_iter()
        .filter(|k| {
            let first = rows[0].config.get(*k);
            rows.iter().any(|r| r.config.get(*k) != first)
        })
        .cloned()
        .collect()
}

fn as_json(row: &Row) -> Value {
    let info = &row.run.info;
    let last_time = row.metrics.values().map(|p| p.time).reduce(f64::max);
    let metrics: serde_json::Map<String, Value> = row
        .metrics
        .iter()
        .map(|(name, p)| {
            let point =
                json!({"step": p.step, "value": store::json_number(p.value), "time": p.time});
            (name.clone(), point)
        })
        .collect();
    json!({
        "run": row.run.label(),
        "experiment": info.experiment,
        "id": info.id,
        "path": row.run.dir.path(),
        "status": row.run.state.as_str(),
        "start_time": info.start_time,
        "start_unix": info.start_unix,
        "duration_s": row.run.duration(last_time),
        "host": info.host,
        "group": info.group,
        "tags": info.tags,
        "notes": info.notes,
        "config": row.config_json,
        "metrics": metrics,
        "problems": row.run.problems(),
    })
}
