//! Run stores written file by file with fixed times, hosts and values, so that the tables
//! the command prints can be compared with golden files; and the command itself.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

/// 2024-11-23 13:53:20 UTC.
pub const T0: f64 = 1_732_370_000.0;

/// A temporary directory holding `runs/`; the command runs in it with `LABBOOK_DIR=runs`.
pub struct Fixture {
    pub dir: tempfile::TempDir,
}

/// One run to write.
pub struct RunSpec {
    pub experiment: &'static str,
    pub id: u64,
    pub status: &'static str,
    pub start: f64,
    /// `None` for a run that has not ended.
    pub duration: Option<f64>,
    pub host: String,
    pub pid: u32,
    pub config: Value,
}

impl RunSpec {
    pub fn new(experiment: &'static str, id: u64, status: &'static str) -> RunSpec {
        RunSpec {
            experiment,
            id,
            status,
            start: T0 + id as f64 * 4000.0,
            duration: (status != "RUNNING").then_some(3600.0 + id as f64 * 65.0),
            host: "gpu-01".into(),
            pid: 4242,
            config: json!({}),
        }
    }

    pub fn config(mut self, config: Value) -> RunSpec {
        self.config = config;
        self
    }

    pub fn host(mut self, host: &str, pid: u32) -> RunSpec {
        self.host = host.into();
        self.pid = pid;
        self
    }
}

impl Fixture {
    pub fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("runs")).unwrap();
        Fixture { dir }
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("runs")
    }

    pub fn run_dir(&self, experiment: &str, id: u64) -> PathBuf {
        self.root().join(experiment).join(id.to_string())
    }

    /// Writes `metadata/info.json` and `metadata/config.json`.
    pub fn run(&self, spec: RunSpec) -> PathBuf {
        let dir = self.run_dir(spec.experiment, spec.id);
        for folder in [
            "metadata",
            "metrics",
            "text",
            "histograms",
            "artifacts",
            "logs",
        ] {
            std::fs::create_dir_all(dir.join(folder)).unwrap();
        }
        let mut info = json!({
            "experiment": spec.experiment,
            "id": spec.id,
            "status": spec.status,
            "start_time": "(not read)",
            "start_unix": spec.start,
            "function": "train",
            "source_file": "examples/mnist.rs",
            "command": ["target/release/examples/mnist", "--epochs", "3"],
            "executable": "/home/alice/labbook/target/release/examples/mnist",
            "working_dir": "/home/alice/labbook",
            "host": spec.host,
            "user": "alice",
            "pid": spec.pid,
            "rank": 0,
            "world_size": 1,
            "launcher": "none",
            "labbook_version": "0.1.0",
            "features": ["dfdx"],
            "backends": ["local", "console"],
            "git": {"commit": "4f2a9c1e0b7d3a5f6e8c9b0a1d2e3f4a5b6c7d8e", "dirty": false},
            "queue_blocked_s": 0.0,
        });
        if let Some(duration) = spec.duration {
            info["end_unix"] = json!(spec.start + duration);
            info["duration_s"] = json!(duration);
        }
        if spec.status == "FAILED" {
            info["error"] = json!("loss became NaN at step 1200");
        }
        write_json(&dir.join("metadata/info.json"), &info);
        if !spec.config.is_null() {
            write_json(&dir.join("metadata/config.json"), &spec.config);
        }
        dir
    }

    /// Writes `metrics/<name>.jsonl`: a point every `every` steps, 0.5 s apart a step.
    pub fn metric(&self, run: &Path, name: &str, points: &[(u64, f64)]) -> PathBuf {
        let info: Value =
            serde_json::from_str(&std::fs::read_to_string(run.join("metadata/info.json")).unwrap())
                .unwrap();
        let start = info["start_unix"].as_f64().unwrap();
        let mut text = String::new();
        for (step, value) in points {
            let value = if value.is_nan() {
                "\"NaN\"".to_owned()
            } else {
                format!("{value:?}")
            };
            let time = start + 10.0 + *step as f64 * 0.5;
            writeln!(text, r#"{{"step":{step},"value":{value},"time":{time:?}}}"#).unwrap();
        }
        let path = run.join("metrics").join(format!("{name}.jsonl"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Runs `labbook ARGS` in the fixture's directory, with `stdin` as its input.
    pub fn labbook_with_input(&self, args: &[&str], stdin: &str) -> Outcome {
        let mut child = Command::new(env!("CARGO_BIN_EXE_labbook"))
            .args(args)
            .current_dir(self.dir.path())
            .env("LABBOOK_DIR", "runs")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
        Outcome(child.wait_with_output().unwrap())
    }

    pub fn labbook(&self, args: &[&str]) -> Outcome {
        self.labbook_with_input(args, "")
    }
}

/// What the command printed and how it exited.
pub struct Outcome(pub Output);

impl Outcome {
    pub fn stdout(&self) -> String {
        String::from_utf8(self.0.stdout.clone()).unwrap()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8(self.0.stderr.clone()).unwrap()
    }

    /// Stdout of a command that must succeed.
    #[track_caller]
    pub fn ok(&self) -> String {
        assert!(
            self.0.status.success(),
            "failed: {}\n{}",
            self.stderr(),
            self.stdout()
        );
        self.stdout()
    }

    /// The one-line error of a command that must fail.
    #[track_caller]
    pub fn error(&self) -> String {
        assert_eq!(self.0.status.code(), Some(1), "{}", self.stdout());
        let stderr = self.stderr();
        let errors: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with("error: "))
            .collect();
        assert_eq!(errors.len(), 1, "one error line expected: {stderr}");
        errors[0].to_owned()
    }
}

pub fn write_json(path: &Path, value: &Value) {
    std::fs::write(path, serde_json::to_string_pretty(value).unwrap()).unwrap();
}

/// Compares with `tests/cli/golden/<name>.txt`; `LABBOOK_BLESS=1` rewrites the file.
#[track_caller]
pub fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/cli/golden")
        .join(format!("{name}.txt"));
    if std::env::var_os("LABBOOK_BLESS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        expected == actual,
        "{} differs (rerun with LABBOOK_BLESS=1 to accept):\n--- expected\n{expected}\n--- actual\n{actual}",
        path.display()
    );
}

/// The host name the command compares a run's host with.
pub fn this_host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default()
}
