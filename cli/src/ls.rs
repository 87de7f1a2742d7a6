//! `labbook ls`: a table of runs, read from each run's info and the last line of each metric.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use anyhow::{bail, Result};
use serde_json::{json, Value};

use super::store::{self, Run};
use super::table::{self, Table};
use super::warn;
use labbook::store::read::{self, Point, RunDir, State, Store};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Only the runs of this experiment.
    experiment: Option<String>,
    /// Only runs in this state: running, complete, failed or crashed.
    #[arg(long, value_name = "STATUS", value_parser = parse_state)]
    status: Option<State>,
    /// Only runs where a metric (its last value), config key or param compares as given:
    /// `lr<0.01`, `optimizer=adam`, `val_acc>=0.9`. Repeat to require several.
    #[arg(long = "where", value_name = "CONDITION", value_parser = Condition::parse)]
    conditions: Vec<Condition>,
    /// Order by a metric (its last value), config key, param, or `start`, `duration`,
    /// `status`, `host`.
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

fn parse_state(text: &str) -> Result<State, String> {
    State::ALL
        .into_iter()
        .find(|s| s.as_str().eq_ignore_ascii_case(text))
        .ok_or_else(|| "expected running, complete, failed or crashed".to_owned())
}

/// One line of the table, with everything a condition or the sort may ask for.
#[derive(Debug)]
pub(crate) struct Row {
    pub run: Run,
    /// `metadata/config.json` as written, and flattened to dotted keys.
    pub config_json: Option<Value>,
    pub config: BTreeMap<String, Value>,
    pub params: BTreeMap<String, Value>,
    pub metrics: BTreeMap<String, Point>,
}

pub(crate) fn run(store: &Store, args: &Args, out: &mut dyn Write) -> Result<()> {
    let dirs = store::runs(store, args.experiment.as_deref())?;
    let wanted = Wanted::from(args);
    let mut rows: Vec<Row> = load_all(&dirs, &wanted)
        .into_iter()
        .filter(|row| args.status.is_none_or(|s| row.run.state == s))
        .filter(|row| args.conditions.iter().all(|c| c.holds(row)))
        .collect();
    if let Some(key) = &args.sort {
        rows.sort_by(|a, b| match (a.field(key), b.field(key)) {
            (Some(x), Some(y)) if args.desc => y.cmp(&x),
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        });
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
    let config_keys = if args.config.is_empty() {
        differing_keys(&rows)
    } else {
        args.config.clone()
    };
    let metric_names: BTreeSet<&String> = rows
        .iter()
        .flat_map(|r| r.metrics.keys())
        .filter(|m| args.metrics.is_empty() || args.metrics.contains(m))
        .collect();
    let mut table = Table::new(
        ["RUN", "STATUS", "STARTED (UTC)", "DURATION", "HOST"]
            .into_iter()
            .map(str::to_owned)
            .chain(config_keys.iter().cloned())
            .chain(metric_names.iter().map(|m| m.to_string())),
    );
    table.align_right(3);
    for row in &rows {
        let last_time = row.metrics.values().map(|p| p.time).reduce(f64::max);
        let mut cells = vec![
            row.run.label().to_owned(),
            row.run.status_cell(),
            table::minute(row.run.info.start_unix),
            row.run
                .duration(last_time)
                .map_or("-".into(), table::duration),
            row.run.info.host.clone(),
        ];
        cells.extend(
            config_keys
                .iter()
                .map(|k| row.config.get(k).map_or("-".into(), store::text)),
        );
        cells.extend(metric_names.iter().map(|m| {
            row.metrics
                .get(*m)
                .map_or("-".into(), |p| table::number(p.value))
        }));
        table.push(cells);
    }
    table.write(out)?;
    if rows.iter().any(|r| r.run.info.problem_count() > 0) {
        writeln!(
            out,
            "\nSome runs could not store or send everything; `labbook show RUN` says what."
        )?;
    }
    Ok(())
}

/// Which files a listing has to read.
struct Wanted {
    /// `None`: every metric.
    metrics: Option<BTreeSet<String>>,
    params: bool,
}

impl Wanted {
    fn from(args: &Args) -> Wanted {
        let mut keys: Vec<&String> = args.conditions.iter().map(|c| &c.key).collect();
        keys.extend(&args.sort);
        let metrics = (!args.metrics.is_empty()).then(|| {
            args.metrics
                .iter()
                .chain(keys.iter().copied())
                .cloned()
                .collect()
        });
        Wanted {
            metrics,
            params: !keys.is_empty(),
        }
    }
}

/// Reads the rows of `dirs` on every core, in their order.
fn load_all(dirs: &[RunDir], wanted: &Wanted) -> Vec<Row> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    let chunk = dirs.len().div_ceil(threads).max(16);
    std::thread::scope(|scope| {
        let handles: Vec<_> = dirs
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .filter_map(|d| load(d, wanted))
                        .collect::<Vec<Row>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect::<Vec<Row>>()
    })
}

fn load(dir: &RunDir, wanted: &Wanted) -> Option<Row> {
    let run = Run::load(dir)
        .map_err(|e| warn(format_args!("skipped {}: {e:#}", dir.label())))
        .ok()?;
    let config_json = dir
        .config()
        .map_err(|e| warn(format_args!("{}: {e:#}", dir.label())))
        .ok()
        .flatten();
    let config = config_json
        .as_ref()
        .map_or_else(BTreeMap::new, read::flatten);
    let params = if wanted.params {
        dir.params()
            .ok()
            .flatten()
            .map_or_else(BTreeMap::new, |p| read::flatten(&p))
    } else {
        BTreeMap::new()
    };
    let mut metrics = BTreeMap::new();
    for stream in dir.metrics() {
        let name = stream.key();
        if wanted.metrics.as_ref().is_some_and(|m| !m.contains(&name)) {
            continue;
        }
        match stream.last() {
            Ok(last) => {
                if let Some(warning) = last.warning {
                    warn(warning);
                }
                if let Some(point) = last.points.last() {
                    metrics.insert(name, *point);
                }
            }
            Err(e) => warn(format_args!("{}: {e}", dir.label())),
        }
    }
    Some(Row {
        run,
        config_json,
        config,
        params,
        metrics,
    })
}

/// The config keys whose values are not the same in every row.
fn differing_keys(rows: &[Row]) -> Vec<String> {
    let keys: BTreeSet<&String> = rows.iter().flat_map(|r| r.config.keys()).collect();
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
        "config": row.config_json,
        "metrics": metrics,
        "problems": row.run.problems(),
    })
}

/// A value to filter or sort by.
#[derive(Clone, Debug, PartialEq)]
enum Field {
    Number(f64),
    Text(String),
}

impl Eq for Field {}

impl PartialOrd for Field {
    fn partial_cmp(&self, other: &Field) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Field {
    fn cmp(&self, other: &Field) -> Ordering {
        match (self, other) {
            (Field::Number(a), Field::Number(b)) => a.total_cmp(b),
            (Field::Number(_), Field::Text(_)) => Ordering::Less,
            (Field::Text(_), Field::Number(_)) => Ordering::Greater,
            (Field::Text(a), Field::Text(b)) => a.cmp(b),
        }
    }
}

impl Row {
    /// A metric's last value, a config key, a param, or a column of the table.
    fn field(&self, key: &str) -> Option<Field> {
        if let Some(point) = self.metrics.get(key) {
            return Some(Field::Number(point.value));
        }
        if let Some(value) = self.config.get(key).or_else(|| self.params.get(key)) {
            return Some(match value {
                Value::Number(n) => Field::Number(n.as_f64().unwrap_or(f64::NAN)),
                other => Field::Text(store::text(other)),
            });
        }
        let info = &self.run.info;
        Some(match key {
            "status" => Field::Text(self.run.state.as_str().into()),
            "host" => Field::Text(info.host.clone()),
            "experiment" => Field::Text(info.experiment.clone()),
            "id" => Field::Number(info.id as f64),
            "start" => Field::Number(info.start_unix),
            "duration" => Field::Number(self.run.duration(None)?),
            _ => return None,
        })
    }
}

/// `KEY OP VALUE` from `--where`.
#[derive(Clone, Debug)]
pub(crate) struct Condition {
    key: String,
    op: &'static str,
    value: String,
}

const OPERATORS: [&str; 7] = ["<=", ">=", "!=", "==", "<", ">", "="];

impl Condition {
    fn parse(text: &str) -> Result<Condition> {
        let found = text.char_indices().find_map(|(at, _)| {
            OPERATORS
                .iter()
                .find(|op| text[at..].starts_with(**op))
                .map(|op| (at, *op))
        });
        let Some((at, op)) = found else {
            bail!(
                "a condition is KEY, an operator (<, <=, >, >=, =, !=) and a value, like `lr<0.01`"
            );
        };
        let (key, value) = (text[..at].trim(), text[at + op.len()..].trim());
        if key.is_empty() || value.is_empty() {
            bail!("`{text}` needs a key before `{op}` and a value after it, like `lr<0.01`");
        }
        Ok(Condition {
            key: key.to_owned(),
            op,
            value: value.to_owned(),
        })
    }

    fn holds(&self, row: &Row) -> bool {
        let Some(field) = row.field(&self.key) else {
            return false;
        };
        let ordering = match (&field, self.value.parse::<f64>()) {
            (Field::Number(a), Ok(b)) => a.partial_cmp(&b),
            (Field::Text(a), _) if a.eq_ignore_ascii_case(&self.value) => Some(Ordering::Equal),
            (Field::Text(a), _) => Some(a.as_str().cmp(&self.value)),
            (Field::Number(_), Err(_)) => None,
        };
        let Some(ordering) = ordering else {
            return self.op == "!=";
        };
        match self.op {
            "<" => ordering.is_lt(),
            "<=" => ordering.is_le(),
            ">" => ordering.is_gt(),
            ">=" => ordering.is_ge(),
            "!=" => ordering.is_ne(),
            _ => ordering.is_eq(),
        }
    }
}
