//! The mlflow backend against a production-shaped deployment, started by this test binary:
//! PostgreSQL (a throwaway `initdb` cluster), SeaweedFS's S3 and two `mlflow server --workers 4`
//! on it, one proxying artifacts to S3, one leaving them to the client
//! (`xtask/verify/team_services.py`). Runs are read back with MLflow's own client. Like
//! tests/mlflow.rs these need `LABBOOK_PYTHON` (`cargo xtask test` sets it); they never skip.
//!
//! The services start once for this binary and stop when it ends: the wrapper script watches
//! its stdin and stops every process it started by its pid.

#[path = "mlflow_team/artifacts.rs"]
mod artifacts;
#[path = "mlflow_team/registry.rs"]
mod registry;
mod support;
#[path = "mlflow_team/throughput.rs"]
mod throughput;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};

use labbook::backends::mlflow;
use labbook::prelude::*;
use serde_json::{json, Value as Json};
use support::{child_command, info, points, store};

// ---------------------------------------------------------------------------------------
// Harness

fn python() -> PathBuf {
    match std::env::var_os("LABBOOK_PYTHON") {
        Some(python) if !python.is_empty() => PathBuf::from(python),
        _ => panic!(
            "LABBOOK_PYTHON is not set: these tests start PostgreSQL, SeaweedFS and mlflow \
             servers from the pinned Python environment; run them with `cargo xtask test`"
        ),
    }
}

fn verifier(script: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../xtask/verify")
        .join(script)
}

/// The running services and where they listen.
struct Services {
    _wrapper: Child,
    ready: Json,
}

impl Services {
    /// The tracking server of a layout: `proxied` or `direct`.
    fn uri(&self, layout: &str) -> String {
        self.ready[layout].as_str().unwrap().to_owned()
    }

    /// What a client of the object store needs: the endpoint and the AWS variables.
    fn s3_env(&self) -> Vec<(String, String)> {
        let mut vars: Vec<(String, String)> = self.ready["env"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect();
        vars.push((
            "MLFLOW_S3_ENDPOINT_URL".into(),
            self.ready["s3_endpoint"].as_str().unwrap().to_owned(),
        ));
        vars
    }
}

fn services() -> &'static Services {
    static SERVICES: OnceLock<Services> = OnceLock::new();
    SERVICES.get_or_init(|| {
        let state = PathBuf::from(format!("{}-team", store().display()));
        std::fs::create_dir_all(&state).unwrap();
        let mut wrapper = Command::new(python())
            .arg(verifier("team_services.py"))
            .arg(&state)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python runs");
        let mut line = String::new();
        BufReader::new(wrapper.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let ready = line
            .strip_prefix("READY ")
            .unwrap_or_else(|| panic!("the services did not start: {line}"));
        Services {
            ready: serde_json::from_str(ready).unwrap(),
            _wrapper: wrapper,
        }
    })
}

/// Runs read MLflow settings from the environment when they start: one run starts at a time.
struct Env(#[allow(dead_code)] MutexGuard<'static, ()>);

fn env(uri: &str) -> Env {
    static LOCK: Mutex<()> = Mutex::new(());
    let guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    store();
    std::env::set_var("MLFLOW_TRACKING_URI", uri);
    for (key, value) in services().s3_env() {
        std::env::set_var(key, value);
    }
    Env(guard)
}

/// Runs a verifier script with the object store's variables; its output, asserted to say OK.
fn verify(script: &str, args: &[&str], spec: &Json) -> String {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), spec.to_string()).unwrap();
    let out = Command::new(python())
        .arg(verifier(script))
        .args(args)
        .arg(file.path())
        .envs(services().s3_env())
        .output()
        .expect("python runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{script} failed:\n{text}");
    text
}

fn state(dir: &Path) -> Json {
    serde_json::from_str(&std::fs::read_to_string(dir.join("metadata/mlflow.json")).unwrap())
        .unwrap()
}

fn expected(dir: &Path, name: &str) -> Json {
    points(dir, name)
        .iter()
        .map(|p| json!([p.step, p.value]))
        .collect()
}

#[test]
fn child() {
    if let Ok("sync") = std::env::var("LABBOOK_TEST_CHILD").as_deref() {
        artifacts::sync_child();
    }
    if let Ok("writer") = std::env::var("LABBOOK_TEST_CHILD").as_deref() {
        let points: u64 = std::env::var("LABBOOK_TEST_POINTS")
            .unwrap()
            .parse()
            .unwrap();
        concurrent(points);
    }
}

// ---------------------------------------------------------------------------------------
// Experiments

/// The same run for both layouts: each server has a database of its own.
#[experiment(name = "team-run")]
fn team_run(inputs: &Path) -> PathBuf {
    for i in 0..3000u32 {
        #[log(metric)]
        let loss = 1.0 / f64::from(i + 1);
    }
    #[log(metric, name = "eval/acc", step = 2999)]
    0.5;
    #[log(checkpoint, name = "model", step = 3)]
    &vec![1, 2, 3];
    #[log(artifact, name = "inputs")]
    inputs;
    run().log_param("optimizer", "adam").unwrap();
    run().dir().unwrap().to_owned()
}

#[experiment(name = "team-concurrent")]
fn concurrent(points: u64) {
    for step in 0..points {
        run().log_metric("loss", step, step as f64 / 8.0).unwrap();
    }
}

// ---------------------------------------------------------------------------------------
// Tests

fn inputs(name: &str) -> PathBuf {
    let dir = PathBuf::from(format!("{}-team-inputs", store().display())).join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), "team scale").unwrap();
    dir
}

#[test]
fn the_proxied_layout_holds_every_point_and_file_in_postgres_and_s3() {
    let uri = services().uri("proxied");
    let dir = {
        let _env = env(&uri);
        team_run(&inputs("proxied"))
    };
    let info = info(&dir);
    assert_eq!(state(&dir)["synced"], true, "{:#}", state(&dir));
    let checkpoint = "checkpoints/model/step-0000000003.json";
    let text = verify(
        "mlflow_check.py",
        &[&uri],
        &json!({
            "experiment": "team-run",
            "run_name": format!("team-run/{}", info.id),
            "runs": 1,
            "status": "FINISHED",
            "params": {"optimizer": "adam"},
            "metrics": {"loss": expected(&dir, "loss"), "eval/acc": [[2999, 0.5]]},
            "artifacts": {
                checkpoint: std::fs::read_to_string(dir.join(checkpoint)).unwrap(),
                "artifacts/inputs/proxied/notes.txt": "team scale",
            },
        }),
    );
    assert!(text.contains("mlflow_check: OK"), "{text}");
}

#[test]
fn the_direct_layout_holds_every_point_in_postgres_and_every_file_in_s3() {
    let uri = services().uri("direct");
    let dir = {
        let _env = env(&uri);
        team_run(&inputs("direct"))
    };
    let info = info(&dir);
    assert_eq!(state(&dir)["synced"], true, "{:#}", state(&dir));
    let checkpoint = "checkpoints/model/step-0000000003.json";
    let text = verify(
        "mlflow_check.py",
        &[&uri],
        &json!({
            "experiment": "team-run",
            "run_name": format!("team-run/{}", info.id),
            "runs": 1,
            "status": "FINISHED",
            "params": {"optimizer": "adam"},
            "metrics": {"loss": expected(&dir, "loss"), "eval/acc": [[2999, 0.5]]},
            "artifacts": {
                checkpoint: std::fs::read_to_string(dir.join(checkpoint)).unwrap(),
                "artifacts/inputs/direct/notes.txt": "team scale",
            },
        }),
    );
    assert!(text.contains("mlflow_check: OK"), "{text}");
}

/// Runs in processes of their own, at once, each with `points` steps of `loss`.
fn concurrent_runs(runs: usize, points: u64) -> Vec<PathBuf> {
    let uri = services().uri("proxied");
    let mut children: Vec<Child> = (0..runs)
        .map(|_| {
            child_command("writer", store())
                .env("LABBOOK_TEST_POINTS", points.to_string())
                // Windows of 4 requests: the parallel path, and its fallback when the
                // server answers one of them with 400.
                .env("LABBOOK_MLFLOW_PARALLEL", "4")
                .env("MLFLOW_TRACKING_URI", &uri)
                .envs(services().s3_env())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in &mut children {
        assert!(child.wait().unwrap().success());
    }
    support::runs("team-concurrent")
}

#[test]
fn sixteen_concurrent_runs_deliver_every_point_exactly_once() {
    let (runs, points) = (16, 20_000u64);
    let dirs = concurrent_runs(runs, points);
    assert_eq!(dirs.len(), runs);
    // What the live mirrors could not send within the end-of-run limit is counted as a
    // problem of the run and sent by `labbook sync`, which continues where they stopped.
    let unsent: u64 = dirs
        .iter()
        .map(|dir| {
            info(dir)
                .problems
                .backends
                .get("mlflow")
                .map_or(0, |p| p.lost)
        })
        .sum();
    let report = mlflow::sync(
        &dirs,
        &mlflow::Settings::for_uri(&services().uri("proxied")).unwrap(),
    );
    assert!(report.is_success(), "{report}");
    for dir in &dirs {
        assert_eq!(
            state(dir)["synced"],
            true,
            "{}: {:#}",
            dir.display(),
            state(dir)
        );
    }
    eprintln!(
        "{unsent} of {} points were sent by labbook sync",
        runs as u64 * points
    );
    let text = verify(
        "mlflow_team_check.py",
        &[&services().uri("proxied")],
        &json!({"experiment": "team-concurrent", "runs": runs, "metric": "loss",
                "steps": points, "divisor": 8.0}),
    );
    assert!(text.contains("mlflow_team_check: OK"), "{text}");
}
