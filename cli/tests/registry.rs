//! `labbook register` and `labbook models ls` against a real `mlflow server` (sqlite, the
//! version pinned in `xtask/verify/requirements.txt`), the versions read back with MLflow's
//! own client (`xtask/verify/mlflow_registry_check.py`: `get_model_version`,
//! `search_model_versions`, and the checkpoint's bytes downloaded from the version's source).
//! `cargo xtask test` passes the pinned Python environment in `LABBOOK_PYTHON`; without it
//! these tests fail, they never skip.

#![cfg(feature = "mlflow")]

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;

use labbook::prelude::*;
use serde_json::{json, Value as Json};
use support::store;

fn python() -> PathBuf {
    match std::env::var_os("LABBOOK_PYTHON") {
        Some(python) if !python.is_empty() => PathBuf::from(python),
        _ => panic!(
            "LABBOOK_PYTHON is not set: the registry tests need a real `mlflow server`; run them \
             with `cargo xtask test`, which creates the pinned Python environment and sets it"
        ),
    }
}

fn verifier(script: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../xtask/verify")
        .join(script)
}

/// A `mlflow server` on 127.0.0.1 for this test binary, stopped when it ends (the wrapper
/// watches its stdin).
struct Server {
    _wrapper: Child,
    uri: String,
}

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let state = PathBuf::from(format!("{}-mlflow", store().display()));
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut wrapper = Command::new(python())
            .arg(verifier("mlflow_server.py"))
            .arg(&state)
            .arg(port.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python runs");
        let mut line = String::new();
        BufReader::new(wrapper.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(
            line.starts_with("READY"),
            "mlflow server did not start: {line}"
        );
        Server {
            _wrapper: wrapper,
            uri: format!("http://127.0.0.1:{port}"),
        }
    })
}

/// `labbook ARGS` on this binary's store, with the server's URI in the environment.
fn labbook(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_labbook"))
        .args(args)
        .env("LABBOOK_DIR", store())
        .env("MLFLOW_TRACKING_URI", &server().uri)
        .env_remove("MLFLOW_EXPERIMENT_NAME")
        .output()
        .unwrap()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "labbook failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn error(out: &Output) -> String {
    assert!(!out.status.success(), "labbook succeeded");
    String::from_utf8(out.stderr.clone())
        .unwrap()
        .trim()
        .to_owned()
}

/// Reads a model back with MLflow's client; `spec` as `mlflow_registry_check.py` documents it.
fn check(spec: Json) {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), spec.to_string()).unwrap();
    let out = Command::new(python())
        .arg(verifier("mlflow_registry_check.py"))
        .arg(&server().uri)
        .arg(file.path())
        .output()
        .expect("python runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "mlflow_registry_check failed:\n{text}"
    );
    assert!(text.contains("mlflow_registry_check: OK"), "{text}");
}

/// The MLflow run id and artifact root (`1/<id>/artifacts`) the upload recorded.
fn uploaded(dir: &Path) -> (String, String) {
    let state = support::json(&dir.join("metadata/mlflow.json"));
    let text = |key: &str| state[key].as_str().unwrap().to_owned();
    (text("run_id"), text("artifact_root"))
}

#[derive(Serialize)]
struct Model {
    epoch: u64,
    weights: Vec<f64>,
}

/// Five epochs of `test_acc`, a checkpoint each, the two best kept: the best is epoch 3.
#[experiment(name = "registered")]
fn train() -> PathBuf {
    for (epoch, value) in [0.5, 0.8, 0.7, 0.9, 0.85].into_iter().enumerate() {
        let epoch = epoch as u64;
        #[log(metric, step = epoch)]
        let test_acc = value;
        #[log(metric, name = "train/loss", step = epoch)]
        (1.0 - value);
        let model = Model {
            epoch,
            weights: vec![value; 3],
        };
        #[log(checkpoint, name = "model", keep = 2, best = "test_acc", mode = max, step = epoch)]
        &model;
    }
    run().dir().unwrap().to_owned()
}

#[experiment(name = "no-checkpoints")]
fn bare() {
    #[log(metric)]
    let loss = 1.0;
}

#[test]
fn a_checkpoint_is_registered_once_with_its_run_metrics_and_listed() {
    // Made offline: `register` uploads the run first.
    std::env::remove_var("MLFLOW_TRACKING_URI");
    store();
    let dir = train();
    let best = "checkpoints/model/step-0000000003.json";
    let last = "checkpoints/model/step-0000000004.json";
    let label = format!("registered/{}", support::info(&dir).id);

    let first = ok(&labbook(&["register", &label, "--name", "cnn"]));
    assert!(
        first.starts_with(&format!(
            "{label}: registered as version 1 of model `cnn` (checkpoint {best}, step 3;"
        )),
        "{first}"
    );
    let again = ok(&labbook(&[
        "register",
        &label,
        "--name",
        "cnn",
        "--checkpoint",
        "best",
    ]));
    assert!(
        again.starts_with(&format!(
            "{label}: already registered as version 1 of model `cnn`"
        )),
        "{again}"
    );
    let newest = ok(&labbook(&[
        "register",
        &label,
        "--name",
        "cnn",
        "--checkpoint",
        "last",
    ]));
    assert!(
        newest.contains(&format!(
            "registered as version 2 of model `cnn` (checkpoint {last}, step 4;"
        )),
        "{newest}"
    );

    let (run_id, root) = uploaded(&dir);
    let source = |file: &str| format!("mlflow-artifacts:/{root}/{file}");
    let tags = |step: &str, file: &str| {
        json!({"labbook.run": label, "labbook.checkpoint": file, "labbook.checkpoint.step": step,
               "metric.test_acc": "0.85", "metric.train/loss": (1.0f64 - 0.85).to_string()})
    };
    let mut best_tags = tags("3", best);
    best_tags["labbook.checkpoint.score"] = json!("test_acc = 0.9 (max)");
    check(json!({
        "model": "cnn",
        "versions": 2,
        "check": [
            {"version": "1", "run_id": run_id, "source": source(best), "tags": best_tags,
             "content": std::fs::read_to_string(dir.join(best)).unwrap()},
            {"version": "2", "run_id": run_id, "source": source(last), "tags": tags("4", last),
             "content": std::fs::read_to_string(dir.join(last)).unwrap()},
        ],
    }));

    let table = ok(&labbook(&["models", "ls", "cnn"]));
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(
        header,
        ["MODEL", "VERSION", "STAGE", "ALIASES", "RUN", "SOURCE", "CREATED", "(UTC)"]
    );
    for (line, (version, file)) in lines[1..].iter().zip([("2", last), ("1", best)]) {
        let cells: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(&cells[..4], ["cnn", version, "None", &label], "{table}");
        assert!(cells[4].ends_with(file), "{table}");
    }
    let listed: Vec<Json> = ok(&labbook(&["models", "ls", "--json"]))
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .filter(|v: &Json| v["model"] == "cnn")
        .collect();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[1]["source"], source(best).as_str());
    assert_eq!(listed[1]["tags"]["labbook.checkpoint.step"], "3");
}

#[test]
fn what_cannot_be_registered_is_said_in_one_sentence() {
    std::env::remove_var("MLFLOW_TRACKING_URI");
    store();
    let dir = train();
    let label = format!("registered/{}", support::info(&dir).id);
    assert_eq!(
        error(&labbook(&[
            "register",
            &label,
            "--name",
            "cnn",
            "--checkpoint",
            "step-2"
        ])),
        format!(
            "error: cannot register {label}: the run has no step-2 checkpoint; it has `model`: \
             steps 3, 4 (best: step 3)"
        )
    );
    let bad = error(&labbook(&[
        "register",
        &label,
        "--name",
        "cnn",
        "--checkpoint",
        "newest",
    ]));
    assert!(
        bad.contains("`newest` is not a checkpoint: use best, last or step-N (N a step)"),
        "{bad}"
    );
    bare();
    let none = error(&labbook(&["register", "no-checkpoints", "--name", "cnn"]));
    assert!(
        none.starts_with("error: cannot register no-checkpoints/")
            && none
                .ends_with(": the run has no checkpoint (a `#[log(checkpoint)]` site saves them)"),
        "{none}"
    );
    assert_eq!(
        error(&labbook(&["models", "ls", "no-such-model"])),
        format!(
            "error: there is no registered model `no-such-model` on {}; `labbook models ls` lists them",
            server().uri
        )
    );
}
