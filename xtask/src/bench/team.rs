//! `cargo xtask bench-compare team`: MLflow at team scale. On the deployment of
//! `xtask/verify/team_services.py` (PostgreSQL, `mlflow server --workers 4`, artifacts
//! proxied to SeaweedFS), in one run: labbook's 100,000 points from one run
//! (`runtime/benches/mlflow_team.rs`) with `LABBOOK_MLFLOW_PARALLEL` as shipped and at 1,
//! MLflow's Python client sending the same with sequential `log_batch` in one run, and the
//! server's ceiling (8 Python clients at once, 100,000 points in all); then 16 labbook runs
//! in 16 processes at once, 20,000 points each, every point counted on the server by
//! MLflow's client (`xtask/verify/mlflow_team_check.py`). Replaces the section of
//! `bench/RESULTS.md` it writes.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use serde_json::Value;

use super::{capture, cargo, parse, write_section, REPS};
use crate::python;

pub const HEADING: &str = "## MLflow at team scale";

/// Points of the one-run rows.
const POINTS: u64 = 100_000;
/// Runs at once, and points of each, in the concurrent row.
const RUNS: usize = 16;
const RUN_POINTS: u64 = 20_000;

struct Services(Child, Value);

impl Drop for Services {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        let _ = self.0.wait();
    }
}

fn start(python: &Path, root: &Path, state: &Path) -> Result<Services, String> {
    let mut child = Command::new(python)
        .arg(root.join("xtask/verify/team_services.py"))
        .arg(state)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the team services: {e}"))?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped"))
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let ready = line
        .strip_prefix("READY ")
        .ok_or_else(|| format!("the team services did not start: {line}"))?;
    let ready = serde_json::from_str(ready).map_err(|e| e.to_string())?;
    Ok(Services(child, ready))
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Builds the Rust side once; the path of its executable.
fn build(root: &Path) -> Result<PathBuf, String> {
    let out = capture(
        Command::new(cargo())
            .current_dir(root)
            .args([
                "bench",
                "--no-run",
                "-q",
                "-p",
                "labbook",
                "--features",
                "mlflow",
            ])
            .args(["--bench", "mlflow_team", "--message-format=json"]),
    )?;
    out.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|m| m["target"]["name"] == "mlflow_team")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| "cargo did not build the mlflow_team bench".into())
}

/// One labbook run of `points` points, with `parallel` requests in flight (`None`: the
/// default); the bench's JSON line, checked to have reached the server whole.
fn labbook(
    bench: &Path,
    dir: &Path,
    uri: &str,
    experiment: &str,
    parallel: Option<&str>,
) -> Command {
    let mut command = Command::new(bench);
    command
        .env("LABBOOK_DIR", dir)
        .env("MLFLOW_TRACKING_URI", uri)
        .env("MLFLOW_EXPERIMENT_NAME", experiment)
        .env_remove("LABBOOK_MLFLOW_PARALLEL");
    if let Some(parallel) = parallel {
        command.env("LABBOOK_MLFLOW_PARALLEL", parallel);
    }
    command
}

fn whole(row: Value) -> Result<Value, String> {
    if row["confirmed"] != row["n"] {
        return Err(format!(
            "labbook's run did not reach the server whole: {row}"
        ));
    }
    Ok(row)
}

/// 16 runs at once: seconds from the first start until the last process has every point
/// confirmed, and the points MLflow's client counts on the server (each step once).
fn concurrent(
    bench: &Path,
    python: &Path,
    root: &Path,
    scratch: &Path,
    uri: &str,
) -> Result<(f64, u64), String> {
    let experiment = "labbook-team-concurrent";
    let started = Instant::now();
    let children: Vec<_> = (0..RUNS)
        .map(|_| {
            // One run store, so that each run gets an id of its own: in stores of their own
            // all would be `1`, and two that start in the same millisecond would be one run
            // to the server, which finds a run by that label and start time.
            labbook(bench, &scratch.join("concurrent"), uri, experiment, None)
                .env("LABBOOK_BENCH_POINTS", RUN_POINTS.to_string())
                .stdout(Stdio::piped())
                .spawn()
                .map_err(|e| format!("cannot start the mlflow_team bench: {e}"))
        })
        .collect::<Result<_, _>>()?;
    for child in children {
        let out = child.wait_with_output().map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!("a concurrent run failed: {}", out.status));
        }
        whole(parse(&String::from_utf8_lossy(&out.stdout))?)?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let spec = scratch.join("concurrent.json");
    let spec_text = serde_json::json!({"experiment": experiment, "runs": RUNS, "metric": "loss",
                                       "steps": RUN_POINTS, "divisor": 8.0});
    std::fs::write(&spec, spec_text.to_string()).map_err(|e| e.to_string())?;
    let check = capture(
        Command::new(python)
            .arg(root.join("xtask/verify/mlflow_team_check.py"))
            .arg(uri)
            .arg(&spec),
    )?;
    let stored = check
        .lines()
        .find_map(|l| l.strip_prefix("points=")?.parse().ok())
        .unwrap_or(0);
    if !check.contains("mlflow_team_check: OK") {
        return Err(format!(
            "the concurrent runs are not on the server exactly once:\n{check}"
        ));
    }
    Ok((seconds, stored))
}

/// Measures and writes the section.
pub fn measure(root: &Path) -> Result<(), String> {
    let python = python::ensure(&python::VERIFY)?;
    let bench = build(root)?;
    let machine = super::training::machine();
    let scratch = std::env::temp_dir().join(format!("labbook-bench-team-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).map_err(|e| e.to_string())?;
    let services = start(&python, root, &scratch.join("services"))?;
    let uri = services.1["proxied"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let peers_py = root.join("xtask/bench/peers.py");
    let (mut ours, mut ours_one, mut sequential, mut ceiling) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut shipped = Value::Null;
    for rep in 0..REPS {
        eprintln!("xtask: team repetition {} of {REPS}", rep + 1);
        for (parallel, into) in [(None, &mut ours), (Some("1"), &mut ours_one)] {
            let tag = parallel.unwrap_or("default");
            let row = whole(parse(&capture(&mut labbook(
                &bench,
                &scratch.join(format!("rust-{tag}-{rep}")),
                &uri,
                &format!("labbook-team-{tag}-{rep}"),
                parallel,
            ))?)?)?;
            if parallel.is_none() {
                shipped = row["parallel"].clone();
            }
            into.push(row["seconds"].as_f64().unwrap_or(f64::NAN));
        }
        for (peer, into) in [
            ("mlflow-server", &mut sequential),
            ("mlflow-ceiling-8", &mut ceiling),
        ] {
            let out = scratch.join(format!("{peer}-{rep}"));
            let row = parse(&capture(
                Command::new(&python)
                    .arg(&peers_py)
                    .arg(peer)
                    .arg(&out)
                    .arg(&uri),
            )?)?;
            if row["stored"] != row["n"] {
                return Err(format!("{peer} did not store every point: {row}"));
            }
            into.push(row["seconds"].as_f64().unwrap_or(f64::NAN));
        }
    }
    eprintln!("xtask: {RUNS} runs at once");
    let (together, stored) = concurrent(&bench, &python, root, &scratch, &uri)?;
    drop(services);
    let _ = std::fs::remove_dir_all(&scratch);
    let (ours, ours_one, sequential, ceiling) = (
        median(ours),
        median(ours_one),
        median(sequential),
        median(ceiling),
    );
    let rate = |s: f64| POINTS as f64 / s;
    let all = RUNS as u64 * RUN_POINTS;
    let section = format!(
        "{HEADING}\n\n\
         `cargo xtask bench-compare team` on {cpu} ({cores} cores, 1-minute load {load} before \
         the first run): PostgreSQL (Debian's), `mlflow server --workers 4` (mlflow 3.17.2), \
         artifacts proxied to SeaweedFS, all on this machine; {POINTS} points, median of \
         {REPS}, until the server has confirmed every point.\n\n\
         | sender | seconds | points/s | vs Python sequential |\n\
         |---|---:|---:|---:|\n\
         | labbook, one run (`LABBOOK_MLFLOW_PARALLEL` default {shipped}) | {ours:.2} | {r_ours:.0} | {x_ours:.2}× |\n\
         | labbook, one run, `LABBOOK_MLFLOW_PARALLEL=1` | {ours_one:.2} | {r_one:.0} | {x_one:.2}× |\n\
         | Python `MlflowClient.log_batch` ×1000, sequential, one run | {sequential:.2} | {r_seq:.0} | 1.00× |\n\
         | server ceiling: 8 Python clients at once, a run each | {ceiling:.2} | {r_ceil:.0} | {x_ceil:.2}× |\n\n\
         labbook reaches {share:.0} % of the server's ceiling.\n\n\
         {RUNS} labbook runs in {RUNS} processes at once, {RUN_POINTS} points each (default \
         `LABBOOK_MLFLOW_PARALLEL`): {together:.2} s until the last is confirmed, \
         {r_all:.0} points/s in all; MLflow's client counts {stored} points on the server, \
         each step of each run once (of {all} sent).\n",
        cpu = machine.cpu,
        cores = machine.cores,
        load = machine.load,
        r_ours = rate(ours),
        x_ours = sequential / ours,
        r_one = rate(ours_one),
        x_one = sequential / ours_one,
        r_seq = rate(sequential),
        r_ceil = rate(ceiling),
        x_ceil = sequential / ceiling,
        share = 100.0 * ceiling / ours,
        r_all = all as f64 / together,
    );
    write_section(root, HEADING, &section)
}
