//! Many `log-batch` requests in flight for one run on the team server (PostgreSQL,
//! `mlflow server --workers 4`): every point is stored exactly once, read back by MLflow's
//! client (`xtask/verify/mlflow_team_check.py`).

use std::path::PathBuf;

use labbook::backends::mlflow;
use labbook::prelude::*;
use serde_json::json;

use super::{env, services, state, verify};

/// A run kept local (no server in the environment), sent afterwards by `labbook sync`.
#[experiment(name = "team-window")]
fn window_run(points: u64) -> PathBuf {
    for step in 0..points {
        run().log_metric("loss", step, step as f64 / 8.0).unwrap();
    }
    run().dir().unwrap().to_owned()
}

/// Four runs of 25,000 points of one metric, each sent with up to 16 requests in flight, all
/// four at once: 25 batches a run, the first opening the metric on the server, then windows
/// of 16 requests for the same run and metric. 64 requests at once are more than the
/// server's database connection pools hold (5 + 10 a worker, two a request): the server
/// answers some of them 400 after 30 s, and those are sent again.
#[test]
fn many_batches_in_flight_for_one_run_store_every_point_exactly_once() {
    let (runs, points) = (4, 25_000u64);
    let uri = services().uri("proxied");
    let dirs: Vec<PathBuf> = {
        let _env = env(&uri);
        std::env::remove_var("MLFLOW_TRACKING_URI");
        (0..runs).map(|_| window_run(points)).collect()
    };
    let mut settings = mlflow::Settings::for_uri(&uri).unwrap();
    settings.parallel = 16;
    let settings = &settings;
    let reports: Vec<mlflow::SyncReport> = std::thread::scope(|scope| {
        let uploads: Vec<_> = dirs
            .iter()
            .map(|dir| scope.spawn(move || mlflow::sync(std::slice::from_ref(dir), settings)))
            .collect();
        uploads.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (dir, report) in dirs.iter().zip(&reports) {
        assert!(report.is_success(), "{report}");
        match &report.runs[0].outcome {
            mlflow::SyncOutcome::Synced {
                points: sent,
                rejected,
                ..
            } => {
                assert_eq!(*sent, points, "{report}");
                assert!(rejected.is_empty(), "{report}");
            }
            _ => panic!("{report}"),
        }
        assert_eq!(
            state(dir)["streams"]["metrics/loss.jsonl"]["points"],
            points
        );
    }
    let text = verify(
        "mlflow_team_check.py",
        &[&uri],
        &json!({"experiment": "team-window", "runs": runs, "metric": "loss",
                "steps": points, "divisor": 8.0}),
    );
    assert!(
        text.contains(&format!("points={}", runs as u64 * points)),
        "{text}"
    );
    assert!(text.contains("mlflow_team_check: OK"), "{text}");
}
