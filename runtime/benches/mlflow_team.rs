//! The Rust side of `cargo xtask bench-compare team`: scalars from one run to the MLflow
//! server in `MLFLOW_TRACKING_URI` (PostgreSQL, `--workers 4`), timed from the first log
//! call until the server has confirmed every point: the live mirror sends them while the
//! run goes on and at its end; what it left for `labbook sync` (when the end of the run ran
//! out of time) is sent by `labbook sync`'s code in the same process, inside the time.
//! `LABBOOK_BENCH_POINTS` points (default 100,000) of `loss`, step `s` holding `s / 8`.
//! One JSON line on stdout: seconds, points the server confirmed, points `sync` sent,
//! requests in flight.

use std::path::{Path, PathBuf};
use std::time::Instant;

use labbook::backends::mlflow;
use labbook::prelude::*;

#[experiment(name = "bench-mlflow-team")]
fn points(n: u64) -> PathBuf {
    for step in 0..n {
        run().log_metric("loss", step, step as f64 / 8.0).unwrap();
    }
    run().dir().unwrap().to_owned()
}

/// Points of the run the server confirmed, from its upload state.
fn confirmed(dir: &Path) -> u64 {
    let state: serde_json::Value = std::fs::read_to_string(dir.join("metadata/mlflow.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    state["streams"]
        .as_object()
        .map_or(0, |s| s.values().filter_map(|p| p["points"].as_u64()).sum())
}

fn main() {
    std::env::set_var("LABBOOK_CONSOLE", "off");
    std::env::set_var("LABBOOK_PROGRESS", "off");
    std::env::set_var("LABBOOK_SYSTEM", "off");
    std::env::set_var("LABBOOK_BACKENDS", "mlflow");
    let n: u64 = std::env::var("LABBOOK_BENCH_POINTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let settings = mlflow::Settings::from_env()
        .expect("valid MLflow settings")
        .expect("MLFLOW_TRACKING_URI is set");
    let start = Instant::now();
    let dir = points(n);
    let mut by_sync = 0;
    if confirmed(&dir) < n {
        let report = mlflow::sync(std::slice::from_ref(&dir), &settings);
        if let Some(mlflow::SyncOutcome::Synced { points, .. }) =
            report.runs.first().map(|r| &r.outcome)
        {
            by_sync = *points;
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "{{\"workload\":\"mlflow-team\",\"n\":{n},\"seconds\":{seconds},\"confirmed\":{},\"by_sync\":{by_sync},\"parallel\":{},\"dir\":{:?}}}",
        confirmed(&dir),
        settings.parallel,
        dir.display().to_string()
    );
}
