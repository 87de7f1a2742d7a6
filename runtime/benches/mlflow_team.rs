//! The Rust side of `cargo xtask bench-compare team`: 100,000 scalars from one run to the
//! MLflow server in `MLFLOW_TRACKING_URI` (PostgreSQL, `--workers 4`), timed from the first
//! log call until the run has finished and the server has confirmed every point. One JSON
//! line on stdout: seconds, points the server confirmed, requests in flight.

use std::path::PathBuf;
use std::time::Instant;

use labbook::prelude::*;

const POINTS: u64 = 100_000;

#[experiment(name = "bench-mlflow-team")]
fn points(n: u64) -> PathBuf {
    for step in 0..n {
        run()
            .log_metric("loss", step, 1.0 / (step + 1) as f64)
            .unwrap();
    }
    run().dir().unwrap().to_owned()
}

fn main() {
    std::env::set_var("LABBOOK_CONSOLE", "off");
    std::env::set_var("LABBOOK_PROGRESS", "off");
    std::env::set_var("LABBOOK_SYSTEM", "off");
    std::env::set_var("LABBOOK_BACKENDS", "mlflow");
    let start = Instant::now();
    let dir = points(POINTS);
    let seconds = start.elapsed().as_secs_f64();
    let state: serde_json::Value = std::fs::read_to_string(dir.join("metadata/mlflow.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let confirmed: u64 = state["streams"]
        .as_object()
        .map_or(0, |s| s.values().filter_map(|p| p["points"].as_u64()).sum());
    let parallel = std::env::var("LABBOOK_MLFLOW_PARALLEL").unwrap_or_else(|_| "1".into());
    println!(
        "{{\"workload\":\"mlflow-team\",\"n\":{POINTS},\"seconds\":{seconds},\"confirmed\":{confirmed},\"parallel\":{parallel},\"dir\":{:?}}}",
        dir.display().to_string()
    );
}
