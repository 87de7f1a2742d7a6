//! The mlflow backend and `labbook sync` against a real `mlflow server` (the version pinned in
//! `xtask/verify/requirements.txt`), read back with MLflow's own client through
//! `xtask/verify/mlflow_check.py`. `cargo xtask test` creates that Python environment and
//! passes it in `LABBOOK_PYTHON`; without it these tests fail, they never skip.
//!
//! Servers: one shared by the tests that only add runs to experiments of their own, one for
//! the test that stops and restarts it, one with `--app-name basic-auth`. Each is stopped when
//! its handle drops, or when this process ends (the wrapper script watches its stdin).

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use labbook::backends::mlflow::{self, Auth, Settings, SyncOutcome};
use labbook::prelude::*;
use serde_json::{json, Value as Json};
use support::{info, points, store};

// ---------------------------------------------------------------------------------------
// Harness

fn python() -> PathBuf {
    match std::env::var_os("LABBOOK_PYTHON") {
        Some(python) if !python.is_empty() => PathBuf::from(python),
        _ => panic!(
            "LABBOOK_PYTHON is not set: the MLflow tests need a real `mlflow server`; run them with \
             `cargo xtask test`, which creates the pinned Python environment and sets LABBOOK_PYTHON"
        ),
    }
}

fn verifier(script: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../xtask/verify")
        .join(script)
}

/// A running `mlflow server` on 127.0.0.1.
struct Server {
    wrapper: Child,
    port: u16,
}

impl Server {
    fn start(state: &Path, port: u16, extra: &[&str], env: &[(&str, String)]) -> Server {
        let mut command = Command::new(python());
        command
            .arg(verifier("mlflow_server.py"))
            .arg(state)
            .arg(port.to_string())
            .args(extra)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        let mut wrapper = command.spawn().expect("python runs");
        let mut line = String::new();
        BufReader::new(wrapper.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(
            line.starts_with("READY"),
            "mlflow server did not start: {line} (log: {})",
            std::fs::read_to_string(state.join("server.log")).unwrap_or_default()
        );
        Server { wrapper, port }
    }

    fn uri(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.wrapper.stdin.take());
        let _ = self.wrapper.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(format!("{}-mlflow", store().display())).join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The server shared by tests that use experiments of their own.
fn shared() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| Server::start(&temp_dir("shared"), free_port(), &[], &[]))
}

/// Runs read MLflow settings from the environment when they start: one run starts at a time.
struct Env(#[allow(dead_code)] MutexGuard<'static, ()>);

const VARS: [&str; 5] = [
    "MLFLOW_TRACKING_URI",
    "MLFLOW_EXPERIMENT_NAME",
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_TRACKING_TOKEN",
];

fn env(vars: &[(&str, &str)]) -> Env {
    static LOCK: Mutex<()> = Mutex::new(());
    let guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    store();
    for key in VARS {
        std::env::remove_var(key);
    }
    for (key, value) in vars {
        std::env::set_var(key, value);
    }
    Env(guard)
}

/// Reads a run back with MLflow's client; `spec` as `mlflow_check.py` documents it.
fn check(uri: &str, spec: Json, credentials: &[(&str, &str)]) {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), spec.to_string()).unwrap();
    let mut command = Command::new(python());
    command
        .arg(verifier("mlflow_check.py"))
        .arg(uri)
        .arg(file.path());
    for key in VARS {
        command.env_remove(key);
    }
    command.envs(credentials.iter().copied());
    let out = command.output().expect("python runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "mlflow_check failed:\n{text}");
    assert!(text.contains("mlflow_check: OK"), "{text}");
}

/// The upload state the mirror and `sync` keep in the run.
fn state(dir: &Path) -> Json {
    std::fs::read_to_string(dir.join("metadata/mlflow.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Json::Null)
}

fn confirmed_points(dir: &Path) -> u64 {
    state(dir)["streams"]
        .as_object()
        .map_or(0, |s| s.values().filter_map(|p| p["points"].as_u64()).sum())
}

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A stream's points as the checker wants them, read from the local store.
fn expected(dir: &Path, name: &str) -> Json {
    points(dir, name)
        .iter()
        .map(|p| {
            let value = if p.value.is_nan() {
                json!("NaN")
            } else if p.value.is_infinite() {
                json!(if p.value > 0.0 {
                    "Infinity"
                } else {
                    "-Infinity"
                })
            } else {
                json!(p.value)
            };
            json!([p.step, value])
        })
        .collect()
}

fn settings(uri: &str) -> Settings {
    let mut settings = Settings::for_uri(uri).unwrap();
    settings.auth = Auth::None;
    settings.experiment_name = None;
    settings
}

/// Every file of a run directory, as text (lossy).
fn all_text(dir: &Path) -> String {
    let mut text = String::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).unwrap().flatten() {
            if entry.path().is_dir() {
                pending.push(entry.path());
            } else {
                text += &String::from_utf8_lossy(&std::fs::read(entry.path()).unwrap());
            }
        }
    }
    text
}

/// Re-runs this test binary on `child` with `LABBOOK_TEST_CHILD=kind`.
fn spawn_child(kind: &str, vars: &[(&str, String)]) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", "child", "--test-threads", "1", "--nocapture"])
        .env("LABBOOK_TEST_CHILD", kind)
        .env("LABBOOK_DIR", store());
    for key in VARS {
        command.env_remove(key);
    }
    command.envs(vars.iter().map(|(k, v)| (k, v)));
    command
}

#[test]
fn child() {
    let var = |key: &str| std::env::var(key).unwrap();
    match std::env::var("LABBOOK_TEST_CHILD").as_deref() {
        Ok("crash") => crashing(),
        Ok("guarded") => {
            guarded();
        }
        Ok("hung") => hung(),
        Ok("sampled") => sampled(),
        Ok("sync") => {
            let dir = PathBuf::from(var("LABBOOK_TEST_SYNC_DIR"));
            let report = mlflow::sync(&[dir], &settings(&var("LABBOOK_TEST_SYNC_URI")));
            print!("{report}");
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------
// Experiments

#[derive(Serialize)]
struct Hparams {
    lr: f64,
    model: Model,
    notes: String,
    #[serde(rename = "bad@key")]
    bad_key: u32,
}

#[derive(Serialize)]
struct Model {
    layers: Vec<u32>,
    activation: String,
}

#[experiment(name = "mlflow-mirror")]
fn mirrored(#[config] hp: &Hparams, inputs: &Path) -> PathBuf {
    let dir = run().dir().unwrap().to_owned();
    for i in 0..2500u32 {
        #[log(metric)]
        let loss = hp.lr / f64::from(i + 1);
    }
    for (step, value) in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.25]
        .into_iter()
        .enumerate()
    {
        run().log_metric("odd values", step as u64, value).unwrap();
    }
    #[log(metric, name = "train/acc", step = 7)]
    0.75;
    #[log(text, name = "note")]
    "hello mlflow";
    #[log(histogram, name = "weights")]
    &[0.5f32, 1.5, 2.5];
    #[log(image, name = "sample")]
    Image::rgb(2, 2, vec![255; 12]).unwrap();
    #[log(checkpoint, name = "model", step = 3)]
    &vec![1, 2, 3];
    #[log(artifact, name = "inputs")]
    inputs;
    run().log_param("phase", "warmup").unwrap();
    // Mirrored while the run goes on, not only at its end.
    run().flush().unwrap();
    wait_for(
        "the mirror to send the points",
        Duration::from_secs(60),
        || confirmed_points(&dir) == 2505 && state(&dir)["params"]["phase"] == "warmup",
    );
    // MLflow params cannot change: refused once, with the key, and not retried.
    run().log_param("phase", "main").unwrap();
    run().flush().unwrap();
    wait_for("the refusal of `phase`", Duration::from_secs(30), || {
        state(&dir)["rejected"]["param phase"].is_string()
    });
    dir
}

/// [`mirrored`] to the server at `uri`, with a folder of inputs (`inputs`, a test's own) and
/// the param `notes`.
fn mirrored_to(uri: &str, inputs: &str, notes: String) -> PathBuf {
    let inputs = temp_dir(inputs);
    std::fs::write(inputs.join("notes.txt"), "lr sweep").unwrap();
    let hp = Hparams {
        lr: 0.01,
        model: Model {
            layers: vec![64, 32],
            activation: "relu".into(),
        },
        notes,
        bad_key: 1,
    };
    let _env = env(&[("MLFLOW_TRACKING_URI", uri)]);
    mirrored(&hp, &inputs)
}

#[experiment(name = "mlflow-restart")]
fn restarted(server: &mut Option<Server>, state_dir: &Path, port: u16) -> PathBuf {
    let dir = run().dir().unwrap().to_owned();
    let log = |from: u64, to: u64| {
        for step in from..to {
            run().log_metric("loss", step, step as f64 / 8.0).unwrap();
        }
        run().flush().unwrap();
    };
    log(0, 300);
    wait_for("the first points", Duration::from_secs(60), || {
        confirmed_points(&dir) == 300
    });
    drop(server.take());
    log(300, 600);
    std::thread::sleep(Duration::from_millis(1500));
    *server = Some(Server::start(state_dir, port, &[], &[]));
    log(600, 900);
    wait_for(
        "the backlog after the restart",
        Duration::from_secs(90),
        || confirmed_points(&dir) == 900,
    );
    dir
}

#[experiment(name = "mlflow-offline")]
fn offline(inputs: &Path) -> PathBuf {
    for i in 0..1500u32 {
        #[log(metric, name = "train/loss")]
        f64::from(i).sqrt();
    }
    run().log_param("optimizer", "adam").unwrap();
    #[log(artifact, name = "inputs")]
    inputs;
    run().dir().unwrap().to_owned()
}

#[experiment(name = "mlflow-system")]
fn sampled() {
    #[log(metric)]
    let loss = 1.0;
    std::thread::sleep(Duration::from_millis(600));
}

#[experiment(name = "mlflow-failed")]
fn failing() -> Result<(), String> {
    for i in 0..10u32 {
        #[log(metric)]
        let loss = f64::from(i);
    }
    Err("diverged".into())
}

/// Logs many points, then dies without ending the run.
#[experiment(name = "mlflow-crashed")]
fn crashing() {
    for i in 0..20_000u32 {
        #[log(metric)]
        let loss = f64::from(i) * 0.5;
        #[log(metric, name = "grad/norm")]
        f64::from(i % 97);
    }
    run().flush().unwrap();
    std::process::abort();
}

#[experiment(name = "mlflow-guarded")]
fn guarded() -> PathBuf {
    for i in 0..50u32 {
        #[log(metric)]
        let loss = f64::from(i);
    }
    run().dir().unwrap().to_owned()
}

/// The step of the checkpoint a resumed `mlflow-resumed` run continues from.
const CHECKPOINT_STEP: u64 = 99;

/// `loss` for every step before `to`, a checkpoint at step 99; a resumed run continues after
/// it. The values depend on the step only, as in a deterministic training loop.
#[experiment(name = "mlflow-resumed", resume = resume)]
fn resumable(resume: Option<u64>, to: u64) -> PathBuf {
    let mut at = 0u64;
    let first = run().restore(&mut at).unwrap().map_or(0, |step| step + 1);
    for step in first..to {
        run()
            .log_metric("loss", step, (step as f64).sqrt() / 3.0)
            .unwrap();
        if step == CHECKPOINT_STEP {
            at = step;
            #[log(checkpoint, step = step)]
            &at;
        }
    }
    run().dir().unwrap().to_owned()
}

/// A run whose directory holds, next to a file of its own, links to a file and a folder
/// outside it, and a FIFO.
#[experiment(name = "mlflow-links")]
fn linked(outside: &Path) -> PathBuf {
    #[log(metric)]
    let loss = 1.0;
    let artifacts = run().dir().unwrap().join("artifacts");
    std::fs::create_dir_all(artifacts.join("kept")).unwrap();
    std::fs::write(artifacts.join("kept/notes.txt"), "in the run").unwrap();
    std::os::unix::fs::symlink(
        outside.join("secret.txt"),
        artifacts.join("kept/secret.txt"),
    )
    .unwrap();
    std::os::unix::fs::symlink(outside, artifacts.join("outside")).unwrap();
    // A FIFO: opening it would wait for a writer forever.
    let fifo = Command::new("mkfifo")
        .arg(artifacts.join("kept/pipe"))
        .status()
        .unwrap();
    assert!(fifo.success());
    run().dir().unwrap().to_owned()
}

const HUNG_POINTS: u32 = 2000;

/// Logs, writes its run directory to the file `LABBOOK_TEST_READY` names, and waits to be
/// interrupted.
#[experiment(name = "mlflow-hung")]
fn hung() {
    for i in 0..HUNG_POINTS {
        #[log(metric)]
        let loss = f64::from(i) / 7.0;
    }
    run().flush().unwrap();
    let ready = PathBuf::from(std::env::var_os("LABBOOK_TEST_READY").unwrap());
    let dir = run().dir().unwrap().display().to_string();
    std::fs::write(ready.with_extension("tmp"), dir).unwrap();
    std::fs::rename(ready.with_extension("tmp"), &ready).unwrap();
    loop {
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every artifact path of a run, listed by MLflow's own client.
fn artifact_listing(uri: &str, experiment: &str, run_name: &str) -> Vec<String> {
    let script = r#"
import json, sys
import mlflow
from mlflow.tracking import MlflowClient
uri, experiment, name = sys.argv[1:4]
mlflow.set_tracking_uri(uri)
client = MlflowClient(tracking_uri=uri)
exp = client.get_experiment_by_name(experiment)
[run] = [r for r in client.search_runs([exp.experiment_id]) if r.info.run_name == name]
paths = []
def walk(path):
    for entry in client.list_artifacts(run.info.run_id, path):
        if entry.is_dir:
            walk(entry.path)
        else:
            paths.append(entry.path)
walk(None)
print(json.dumps(sorted(paths)))
"#;
    let out = Command::new(python())
        .args(["-c", script, uri, experiment, run_name])
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

// ---------------------------------------------------------------------------------------
// Tests

#[test]
fn the_backend_is_registered_and_stays_off_without_a_tracking_uri() {
    assert!(labbook::backend::registry()
        .names()
        .any(|name| name == "mlflow"));
    let _env = env(&[]);
    let dir = guarded();
    assert!(!info(&dir).backends.contains(&"mlflow".to_string()));
    assert!(!dir.join("metadata/mlflow.json").exists());
}

#[test]
fn a_run_is_mirrored_to_the_server_while_it_trains() {
    let server = shared();
    let dir = mirrored_to(&server.uri(), "inputs", "n".repeat(7000));
    let info = info(&dir);
    assert_eq!(info.status, labbook::Status::Complete);
    assert!(info.backends.contains(&"mlflow".to_string()));
    let state = state(&dir);
    assert_eq!(state["synced"], true, "{state:#}");
    assert_eq!(state["status"], "FINISHED");

    // Refused keys are reported once, naming the key.
    let log = std::fs::read_to_string(dir.join("logs/labbook.log")).unwrap();
    let refused = |key: &str| {
        log.lines()
            .filter(|l| l.contains(&format!("refused param `{key}`")))
            .count()
    };
    assert_eq!(refused("phase"), 1, "{log}");
    assert_eq!(refused("bad@key"), 1, "{log}");
    // And counted in info.json: two params the server does not hold.
    let problem = &info.problems.backends["mlflow"];
    assert_eq!(problem.lost, 2, "{problem:?}");
    assert!(log.contains("param `notes` has 7000 characters"), "{log}");

    let label = format!("mlflow-mirror/{}", info.id);
    let cut = state["params"]["notes"].as_str().unwrap();
    assert!(
        cut.chars().count() <= 6000
            && cut.ends_with("the whole value is the artifact params/notes.txt]")
    );
    let mut tags = json!({
        "labbook.run_id": label,
        "labbook.host": info.host,
        "labbook.rank": "0",
        "mlflow.source.name": info.source_file,
    });
    if let Some(git) = &info.git {
        tags["mlflow.source.git.commit"] = json!(git.commit);
    }
    check(
        &server.uri(),
        json!({
            "experiment": "mlflow-mirror",
            // Opens in MLflow 3's model-training view, not among GenAI evaluation runs.
            "experiment_tags": {"mlflow.experimentKind": "custom_model_development"},
            "run_name": label,
            "runs": 1,
            "status": "FINISHED",
            "params": {
                "lr": "0.01", "model.layers": "[64,32]", "model.activation": "relu",
                "phase": "warmup", "notes": cut,
            },
            "absent_params": ["bad@key"],
            "tags": tags,
            "metrics": {
                "loss": expected(&dir, "loss"),
                "odd values": [[0, "NaN"], [1, "Infinity"], [2, "-Infinity"], [3, -0.25]],
                "train/acc": [[7, 0.75]],
            },
            "artifacts": {
                "params/notes.txt": "n".repeat(7000),
                "artifacts/inputs/inputs/notes.txt": "lr sweep",
                "checkpoints/model/step-0000000003.json": std::fs::read_to_string(
                    dir.join("checkpoints/model/step-0000000003.json")).unwrap(),
                "text/note.jsonl": std::fs::read_to_string(dir.join("text/note.jsonl")).unwrap(),
                "histograms/weights.jsonl": null,
            },
            "artifact_sizes": {
                "artifacts/images/sample/0.png":
                    std::fs::metadata(dir.join("artifacts/images/sample/0.png")).unwrap().len(),
            },
        }),
        &[],
    );
    assert_eq!(points(&dir, "loss").len(), 2500, "the local run is whole");
}

#[test]
fn the_server_stopped_mid_run_and_restarted_loses_nothing() {
    let state_dir = temp_dir("restart");
    let port = free_port();
    let mut server = Some(Server::start(&state_dir, port, &[], &[]));
    let uri = format!("http://127.0.0.1:{port}");
    let dir = {
        let _env = env(&[("MLFLOW_TRACKING_URI", &uri)]);
        restarted(&mut server, &state_dir, port)
    };
    assert_eq!(state(&dir)["synced"], true);
    let log = std::fs::read_to_string(dir.join("logs/labbook.log")).unwrap();
    let count = |needle: &str| log.matches(needle).count();
    assert_eq!(count("points wait in the local run"), 1, "{log}");
    assert_eq!(count("the MLflow server is back"), 1, "{log}");
    let label = format!("mlflow-restart/{}", info(&dir).id);
    check(
        &uri,
        json!({
            "experiment": "mlflow-restart", "run_name": label, "runs": 1, "status": "FINISHED",
            "metrics": { "loss": expected(&dir, "loss") },
        }),
        &[],
    );
    assert_eq!(expected(&dir, "loss").as_array().unwrap().len(), 900);
    drop(server);
}

#[test]
fn system_metrics_reach_mlflow_as_its_own_system_metrics() {
    let server = shared();
    let status = spawn_child(
        "sampled",
        &[
            ("MLFLOW_TRACKING_URI", server.uri()),
            ("LABBOOK_SYSTEM", String::new()),
            ("LABBOOK_SYSTEM_INTERVAL", "100ms".into()),
        ],
    )
    .status()
    .unwrap();
    assert!(status.success());
    let dir = support::runs("mlflow-system").pop().unwrap();
    let run = labbook::store::read::RunDir::at(&dir);
    let mut metrics = serde_json::Map::new();
    for stream in run.system() {
        let points: Vec<Json> = stream
            .scalars()
            .unwrap()
            .points
            .iter()
            .map(|p| json!([p.step, p.value]))
            .collect();
        assert!(points.len() >= 3, "{}: {points:?}", stream.name());
        metrics.insert(format!("system/{}", stream.name()), Json::Array(points));
    }
    assert!(
        metrics.contains_key("system/process_memory_rss_megabytes"),
        "{metrics:?}"
    );
    metrics.insert("loss".into(), json!([[0, 1.0]]));
    let label = format!("mlflow-system/{}", info(&dir).id);
    let spec = json!({"experiment": "mlflow-system", "run_name": label, "status": "FINISHED", "metrics": metrics});
    check(&server.uri(), spec, &[]);
}

#[test]
fn a_run_made_while_the_server_is_down_is_synced_later_exactly_once() {
    let server = shared();
    let inputs = temp_dir("offline-inputs");
    std::fs::write(inputs.join("data.csv"), "a,b\n1,2\n").unwrap();
    let dead = format!("http://127.0.0.1:{}", free_port());
    let start = Instant::now();
    let dir = {
        let _env = env(&[("MLFLOW_TRACKING_URI", &dead)]);
        offline(&inputs)
    };
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "the end of the run waited {:?} on a dead server",
        start.elapsed()
    );
    assert_eq!(info(&dir).status, labbook::Status::Complete);
    assert_eq!(points(&dir, "train/loss").len(), 1500);
    // Every point, the one param and the one input file, each said with what to do.
    let problem = &info(&dir).problems.backends["mlflow"];
    assert_eq!(problem.lost, 1502, "{problem:?}");
    assert!(
        problem.error.contains("cannot reach") && problem.error.contains("labbook sync"),
        "{problem:?}"
    );
    let log = std::fs::read_to_string(dir.join("logs/labbook.log")).unwrap();
    let file = log
        .lines()
        .find(|l| l.contains("1 file(s) are not on the MLflow server"))
        .unwrap_or_else(|| panic!("the unsent file is said: {log}"));
    assert!(
        file.contains("data.csv") && file.contains("cannot reach") && file.contains("labbook sync"),
        "{file}"
    );
    assert!(
        log.contains("1 param(s) are not on the MLflow server (`optimizer`): cannot reach"),
        "{log}"
    );
    let before = state(&dir);
    assert_eq!(before["synced"], false, "{before:#}");
    assert!(before["last_error"]
        .as_str()
        .unwrap()
        .contains("cannot reach"));

    let mut settings = settings(&server.uri());
    settings.experiment_name = Some("mlflow-offline-cluster".into());
    let sync = |what: &str| {
        let report = mlflow::sync(std::slice::from_ref(&dir), &settings);
        assert!(report.is_success(), "{what}: {report}");
        match &report.runs[0].outcome {
            SyncOutcome::Synced { points, .. } => *points,
            other => panic!("{what}: {other:?}"),
        }
    };
    assert_eq!(sync("first sync"), 1500);
    assert_eq!(sync("second sync"), 0, "nothing is sent twice");
    {
        // What `labbook sync mlflow-offline/<id> --tracking-uri URI` does.
        let _env = env(&[("MLFLOW_EXPERIMENT_NAME", "mlflow-offline-cluster")]);
        let label = format!("mlflow-offline/{}", info(&dir).id);
        let run = labbook::store::read::Store::from_env()
            .unwrap()
            .resolve(&label)
            .unwrap();
        let settings = Settings::for_uri(&server.uri()).unwrap();
        let report = mlflow::sync(&[run.path().to_owned()], &settings);
        assert!(report.is_success(), "{report}");
        let out = report.to_string();
        assert!(
            out.starts_with(&format!("{label}: up to date (MLflow run ")),
            "{out}"
        );
    }
    std::fs::remove_file(dir.join("metadata/mlflow.json")).unwrap();
    assert_eq!(
        sync("sync without its state"),
        0,
        "the run is found by its tag"
    );
    let label = format!("mlflow-offline/{}", info(&dir).id);
    check(
        &server.uri(),
        json!({
            "experiment": "mlflow-offline-cluster", "run_name": label, "runs": 1,
            "status": "FINISHED",
            "params": { "optimizer": "adam" },
            "tags": { "labbook.run_id": label },
            "metrics": { "train/loss": expected(&dir, "train/loss") },
            "artifacts": { "artifacts/inputs/offline-inputs/data.csv": "a,b\n1,2\n" },
        }),
        &[],
    );
}

#[test]
fn failed_and_crashed_runs_sync_with_their_status_and_an_interrupted_sync_resumes() {
    let server = shared();
    {
        let _env = env(&[]);
        assert!(failing().is_err());
    }
    let failed = support::runs("mlflow-failed").pop().unwrap();
    let crash = spawn_child("crash", &[]).output().unwrap();
    assert!(!crash.status.success());
    let crashed = support::runs("mlflow-crashed").pop().unwrap();
    assert_eq!(info(&crashed).status, labbook::Status::Running);
    assert_eq!(points(&crashed, "loss").len(), 20_000);

    // A sync killed half-way, then one that finishes.
    let mut syncing = spawn_child(
        "sync",
        &[
            ("LABBOOK_TEST_SYNC_DIR", crashed.display().to_string()),
            ("LABBOOK_TEST_SYNC_URI", server.uri()),
        ],
    )
    .stdout(Stdio::null())
    .spawn()
    .unwrap();
    wait_for("the first confirmed batch", Duration::from_secs(60), || {
        confirmed_points(&crashed) > 0
    });
    syncing.kill().unwrap();
    syncing.wait().unwrap();
    let interrupted = confirmed_points(&crashed);
    assert!(
        interrupted < 40_000,
        "the sync ended before it was interrupted"
    );

    let report = mlflow::sync(&[failed.clone(), crashed.clone()], &settings(&server.uri()));
    assert!(report.is_success(), "{report}");
    assert!(report.to_string().contains("marked KILLED"), "{report}");
    assert_eq!(confirmed_points(&crashed), 40_000);
    for (dir, experiment, status, streams) in [
        (&failed, "mlflow-failed", "FAILED", &["loss"][..]),
        (
            &crashed,
            "mlflow-crashed",
            "KILLED",
            &["loss", "grad/norm"][..],
        ),
    ] {
        let metrics: serde_json::Map<String, Json> = streams
            .iter()
            .map(|s| (s.to_string(), expected(dir, s)))
            .collect();
        check(
            &server.uri(),
            json!({
                "experiment": experiment,
                "run_name": format!("{experiment}/{}", info(dir).id),
                "runs": 1, "status": status, "metrics": metrics,
            }),
            &[],
        );
    }
}

#[test]
fn wrong_credentials_are_a_clear_error_and_the_run_stays_intact() {
    let password = "correct-horse-battery-9";
    let wrong = "wrong-staple-4417";
    let state_dir = temp_dir("auth");
    let config = state_dir.join("auth.ini");
    std::fs::write(
        &config,
        format!(
            "[mlflow]\ndefault_permission = READ\ndatabase_uri = sqlite:///{}/auth.db\n\
             admin_username = admin\nadmin_password = {password}\n\
             authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n",
            state_dir.display()
        ),
    )
    .unwrap();
    let server = Server::start(
        &state_dir,
        free_port(),
        &["--app-name", "basic-auth"],
        &[
            ("MLFLOW_AUTH_CONFIG_PATH", config.display().to_string()),
            (
                "MLFLOW_FLASK_SERVER_SECRET_KEY",
                "labbook-test-secret".into(),
            ),
        ],
    );
    let out = spawn_child(
        "guarded",
        &[
            ("MLFLOW_TRACKING_URI", server.uri()),
            ("MLFLOW_TRACKING_USERNAME", "admin".into()),
            ("MLFLOW_TRACKING_PASSWORD", wrong.into()),
        ],
    )
    .output()
    .unwrap();
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{output}");
    assert!(
        output.contains("refused the credentials (HTTP 401); check MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD"),
        "{output}"
    );
    assert!(output.contains("labbook sync"), "{output}");
    let dir = support::runs("mlflow-guarded")
        .into_iter()
        .find(|d| info(d).backends.contains(&"mlflow".to_string()))
        .unwrap();
    assert_eq!(info(&dir).status, labbook::Status::Complete);
    assert_eq!(points(&dir, "loss").len(), 50);
    assert_eq!(state(&dir)["synced"], false);
    let problem = &info(&dir).problems.backends["mlflow"];
    assert_eq!(problem.lost, 50, "{problem:?}");
    assert!(problem.error.contains("HTTP 401"), "{problem:?}");

    let mut settings = settings(&server.uri());
    settings.auth = Auth::Basic {
        username: "admin".into(),
        password: wrong.into(),
    };
    let report = mlflow::sync(std::slice::from_ref(&dir), &settings);
    assert!(!report.is_success());
    let refused = report.to_string();
    assert!(refused.contains("HTTP 401"), "{refused}");
    for text in [&output, &refused, &format!("{settings:?}"), &all_text(&dir)] {
        assert!(!text.contains(wrong), "the password leaked: {text}");
    }

    settings.auth = Auth::Basic {
        username: "admin".into(),
        password: password.into(),
    };
    let report = mlflow::sync(std::slice::from_ref(&dir), &settings);
    assert!(report.is_success(), "{report}");
    assert!(!all_text(&dir).contains(password));
    check(
        &server.uri(),
        json!({
            "experiment": "mlflow-guarded", "run_name": format!("mlflow-guarded/{}", info(&dir).id),
            "status": "FINISHED", "metrics": { "loss": expected(&dir, "loss") },
        }),
        &[
            ("MLFLOW_TRACKING_USERNAME", "admin"),
            ("MLFLOW_TRACKING_PASSWORD", password),
        ],
    );
}

#[test]
fn links_inside_a_run_are_never_followed_by_the_upload() {
    let server = shared();
    let outside = temp_dir("outside-the-run");
    std::fs::write(outside.join("secret.txt"), "not part of any run").unwrap();
    let dir = {
        let _env = env(&[]);
        linked(&outside)
    };
    let report = mlflow::sync(std::slice::from_ref(&dir), &settings(&server.uri()));
    assert!(report.is_success(), "{report}");
    let said = report.to_string();
    for link in [
        "artifacts/kept/secret.txt",
        "artifacts/outside",
        "artifacts/kept/pipe",
    ] {
        assert!(said.contains(&format!("file `{link}`")), "{said}");
    }
    let label = format!("mlflow-links/{}", info(&dir).id);
    let listed = artifact_listing(&server.uri(), "mlflow-links", &label);
    assert!(
        listed.contains(&"artifacts/kept/notes.txt".to_owned()),
        "{listed:?}"
    );
    assert!(
        listed
            .iter()
            .all(|p| !p.contains("secret") && !p.contains("outside") && !p.contains("pipe")),
        "a link was followed: {listed:?}"
    );
    // Said once: a second sync neither uploads nor reports them again.
    let again = mlflow::sync(std::slice::from_ref(&dir), &settings(&server.uri()));
    assert!(again.to_string().contains("up to date"), "{again}");
}

#[test]
fn a_run_resumed_offline_syncs_every_step_exactly_once() {
    let server = shared();
    let dir = {
        let _env = env(&[("MLFLOW_TRACKING_URI", &server.uri())]);
        resumable(None, 300)
    };
    assert_eq!(state(&dir)["synced"], true);
    assert_eq!(confirmed_points(&dir), 300);
    // Resumed without a server: the stream goes back to step 99, then past its old length.
    let resumed = {
        let _env = env(&[]);
        resumable(Some(info(&dir).id), 600)
    };
    assert_eq!(resumed, dir);
    assert_eq!(support::steps(&dir, "loss"), (0..600).collect::<Vec<_>>());

    let report = mlflow::sync(std::slice::from_ref(&dir), &settings(&server.uri()));
    assert!(report.is_success(), "{report}");
    match &report.runs[0].outcome {
        SyncOutcome::Synced { points, notes, .. } => {
            assert!(notes.is_empty(), "{notes:?}");
            assert_eq!(*points, 300, "steps 300 to 599 are new to the server");
        }
        other => panic!("{other:?}"),
    }
    let label = format!("mlflow-resumed/{}", info(&dir).id);
    let holds_every_step_once = || {
        check(
            &server.uri(),
            json!({
                "experiment": "mlflow-resumed", "run_name": label, "runs": 1,
                "status": "FINISHED", "metrics": { "loss": expected(&dir, "loss") },
            }),
            &[],
        )
    };
    holds_every_step_once();

    // Resumed once more, with the server: the live mirror rolls back with the stream too.
    {
        let _env = env(&[("MLFLOW_TRACKING_URI", &server.uri())]);
        resumable(Some(info(&dir).id), 900);
    }
    assert_eq!(support::steps(&dir, "loss"), (0..900).collect::<Vec<_>>());
    assert_eq!(state(&dir)["synced"], true);
    assert_eq!(
        state(&dir)["streams"]["metrics/loss.jsonl"]["last_step"],
        899
    );
    holds_every_step_once();
}

/// A server that takes every connection and never answers: a real socket, held open.
fn silent_server() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let uri = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for connection in listener.incoming().flatten() {
            held.push(connection);
        }
    });
    uri
}

#[test]
fn ctrl_c_while_the_server_never_answers_ends_the_run_failed_within_the_grace() {
    let uri = silent_server();
    let ready = temp_dir("hung").join("ready");
    let mut child = spawn_child(
        "hung",
        &[
            ("MLFLOW_TRACKING_URI", uri),
            ("LABBOOK_TEST_READY", ready.display().to_string()),
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let started = Instant::now();
    while !ready.exists() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the child ended ({status}) before logging");
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("the child logged nothing within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let dir = PathBuf::from(std::fs::read_to_string(&ready).unwrap());
    let interrupted = Instant::now();
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if interrupted.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("the child did not exit within 30 s of Ctrl-C");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = interrupted.elapsed();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    // Within the interrupt's 10 s grace, not cut off by it.
    assert!(
        took < Duration::from_secs(10),
        "exit {took:?} after Ctrl-C:\n{stderr}"
    );
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(!stderr.contains("did not reach the disk"), "{stderr}");
    assert!(
        !stderr.contains("were stopped"),
        "MLflow was cut off:\n{stderr}"
    );

    let info = info(&dir);
    assert_eq!(info.status, labbook::Status::Failed);
    assert_eq!(info.error.as_deref(), Some("interrupted"));
    assert_eq!(points(&dir, "loss").len(), HUNG_POINTS as usize);
    let problem = info
        .problems
        .backends
        .get("mlflow")
        .unwrap_or_else(|| panic!("no mlflow problem in {:?}", info.problems));
    assert_eq!(problem.lost, u64::from(HUNG_POINTS), "{problem:?}");
    assert!(problem.error.contains("labbook sync"), "{problem:?}");
    assert_eq!(confirmed_points(&dir), 0);
    // Every other backend finished.
    for (name, other) in &info.problems.backends {
        assert!(name == "mlflow", "{name}: {other:?}");
    }
    #[cfg(feature = "tensorboard")]
    {
        let events: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("events.out"))
            .collect();
        assert_eq!(events.len(), 1);
        let bytes = std::fs::read(events[0].path()).unwrap();
        // TFRecord framing: u64 length, u32 CRC, data, u32 CRC; the file is whole and holds
        // the version event and every point.
        let (mut at, mut records) = (0, 0);
        while at < bytes.len() {
            let len = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) as usize;
            at += 8 + 4 + len + 4;
            records += 1;
        }
        assert_eq!(at, bytes.len());
        assert!(records > HUNG_POINTS as usize, "{records} records");
    }
}

// ---------------------------------------------------------------------------------------
// Tags, notes and groups

#[experiment(name = "mlflow-tags", tags = ["baseline", "optimizer=sgd"], group = "lr-sweep")]
fn tagged() -> PathBuf {
    run().tag("optimizer", "adam").unwrap();
    run().note("warm-up over 100 steps").unwrap();
    // Fine for labbook, refused by MLflow's rules for keys.
    run().tag("odd!key", "x").unwrap();
    #[log(metric)]
    let loss = 0.5;
    run().dir().unwrap().to_owned()
}

#[test]
fn tags_notes_and_the_group_reach_mlflow_and_an_edit_is_synced() {
    let server = shared();
    let dirs: Vec<PathBuf> = (0..2)
        .map(|_| {
            let _env = env(&[("MLFLOW_TRACKING_URI", &server.uri())]);
            tagged()
        })
        .collect();
    // Both members nest under one parent run named after the group.
    let parent = state(&dirs[0])["parent"][1].as_str().unwrap().to_owned();
    assert_eq!(state(&dirs[1])["parent"][1].as_str(), Some(parent.as_str()));
    let first = info(&dirs[0]);
    let label = format!("{}/{}", first.experiment, first.id);
    let tags = json!({
        "baseline": "",
        "optimizer": "adam",
        "mlflow.note.content": "warm-up over 100 steps",
        "labbook.group": "lr-sweep",
        "mlflow.parentRunId": parent,
        "mlflow.runName": label,
    });
    let spec = json!({"experiment": "mlflow-tags", "run_name": label, "runs": 3,
                      "status": "FINISHED", "tags": tags});
    check(&server.uri(), spec, &[]);
    let spec = json!({"experiment": "mlflow-tags", "run_name": "lr-sweep", "status": "FINISHED",
                      "tags": {"labbook.group_parent": "lr-sweep"}});
    check(&server.uri(), spec, &[]);
    // The tag MLflow refuses is a problem of the run; every other tag is there (above).
    let problems = info(&dirs[0]).problem_lines();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].contains("tag `odd!key` is not on the MLflow server"),
        "{problems:?}"
    );

    // `labbook tag` / `labbook note` on the finished run, then `labbook sync`.
    labbook::store::read::RunDir::at(&dirs[0])
        .edit_tags(|tags| {
            tags.tags.remove("baseline");
            tags.set_notes("");
            tags.add("reviewed=yes")
        })
        .unwrap();
    let report = mlflow::sync(&dirs[..1], &settings(&server.uri()));
    assert!(
        matches!(report.runs[0].outcome, SyncOutcome::Synced { .. }),
        "{:?}",
        report.runs[0].outcome
    );
    let spec = json!({"experiment": "mlflow-tags", "run_name": label,
                      "tags": {"reviewed": "yes", "optimizer": "adam"},
                      "absent_tags": ["baseline", "mlflow.note.content"]});
    check(&server.uri(), spec, &[]);
}

/// The files of the run directory a mirror sends: everything under `artifacts/` and
/// `checkpoints/` (not `last.*`) and the text and histogram streams.
fn mirrored_files(dir: &Path) -> Vec<String> {
    let mut files = Vec::new();
    let mut folders: Vec<PathBuf> = ["artifacts", "checkpoints", "text", "histograms"]
        .iter()
        .map(|f| dir.join(f))
        .collect();
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            let path = entry.path();
            let relative = path
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                folders.push(path);
            } else if !name.starts_with("last.")
                && (relative.starts_with("artifacts/")
                    || relative.starts_with("checkpoints/")
                    || name.ends_with(".jsonl"))
            {
                files.push(relative);
            }
        }
    }
    files
}

#[test]
fn files_a_server_cannot_take_are_counted_in_the_runs_problems_with_what_to_change() {
    // A server that neither proxies artifacts nor names an object store: labbook cannot
    // write where it keeps them, so every file stays in the run directory only.
    let state_dir = temp_dir("no-proxy");
    let elsewhere = temp_dir("no-proxy-artifacts");
    let server = Server::start(
        &state_dir,
        free_port(),
        &[
            "--no-serve-artifacts",
            "--default-artifact-root",
            elsewhere.to_str().unwrap(),
        ],
        &[],
    );
    let dir = mirrored_to(&server.uri(), "no-proxy-inputs", "short".into());
    let info = info(&dir);
    assert_eq!(info.status, labbook::Status::Complete);
    let files = mirrored_files(&dir);
    assert!(
        files.len() >= 5,
        "text, histogram, image, checkpoint, artifact: {files:?}"
    );
    let problem = &info.problems.backends["mlflow"];
    // Two refused params (`phase` changed, `bad@key`), and every file.
    assert_eq!(
        problem.lost,
        2 + files.len() as u64,
        "{problem:?} {files:?}"
    );
    let log = std::fs::read_to_string(dir.join("logs/labbook.log")).unwrap();
    let said = format!("{} file(s) are not on the MLflow server", files.len());
    assert!(log.contains(&said), "{log}");
    assert!(
        log.contains(&format!(
            "the MLflow server keeps artifacts at {}",
            elsewhere.display()
        )) && log.contains("start the server with --serve-artifacts"),
        "{log}"
    );
    // Points still went: only the files are missing.
    assert_eq!(confirmed_points(&dir), 2505);
    drop(server);
}
