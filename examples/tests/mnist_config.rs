//! The `mnist` example's config takes `--set`, `LABBOOK_SET` and `--config` overrides (how
//! `labbook sweep` launches its trials), records them in `info.json`, and refuses a bad one
//! before any run starts.

mod support;

use std::path::Path;
use std::process::Output;

use labbook::store::read::Store;
use support::{run_dir, write_mnist};

fn run(data_dir: &Path, runs: &Path, set: Option<&str>, args: &[&str]) -> Output {
    let mut command = support::command(support::example("mnist"), runs);
    command
        .env_remove("LABBOOK_CONFIG")
        .env("LABBOOK_CONSOLE", "off")
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--limit-train", "64", "--epochs", "1"])
        .args(args);
    match set {
        Some(set) => command.env("LABBOOK_SET", set),
        None => command.env_remove("LABBOOK_SET"),
    };
    command.output().expect("the example starts")
}

#[test]
fn set_and_labbook_set_override_the_flags_and_are_recorded() {
    let (data, runs) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_mnist(data.path());
    let file = runs.path().join("hp.toml");
    std::fs::write(&file, "seed = 7\n").unwrap();
    let output = run(
        data.path(),
        runs.path(),
        Some("lr=0.01,batch_size=32"),
        &["--batch-size", "16", "--set", "epochs=2", "--config"],
    );
    // `--config` without its file is clap's error, before any run.
    assert!(!output.status.success());
    let output = run(
        data.path(),
        runs.path(),
        Some("lr=0.01,batch_size=32"),
        &[
            "--batch-size",
            "16",
            "--set",
            "epochs=2",
            "--config",
            file.to_str().unwrap(),
        ],
    );
    let dir = run_dir(&output);
    let store = Store::open(runs.path()).unwrap();
    let run = store.resolve(&dir.display().to_string()).unwrap();
    let config = labbook::store::read::flatten(&run.config().unwrap().unwrap());
    assert_eq!(
        (
            &config["lr"],
            &config["batch_size"],
            &config["epochs"],
            &config["seed"]
        ),
        (&0.01.into(), &32.into(), &2.into(), &7.into())
    );
    let overrides: Vec<_> = run
        .info()
        .unwrap()
        .overrides
        .into_iter()
        .map(|(key, o)| format!("{key}={} ({})", o.value, o.source))
        .collect();
    assert_eq!(
        overrides,
        [
            "batch_size=32 (LABBOOK_SET)".to_owned(),
            "epochs=2 (--set)".to_owned(),
            "lr=0.01 (LABBOOK_SET)".to_owned(),
            format!("seed=7 (--config {})", file.display()),
        ]
    );
    // 64 samples in batches of 32, for 2 epochs.
    assert_eq!(run.metric("test_acc").unwrap().len(), 2);
}

#[test]
fn a_bad_override_stops_before_any_run() {
    let (data, runs) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_mnist(data.path());
    for (set, args, message) in [
        (
            Some("learning_rate=0.1"),
            &[][..],
            "error: the config has no key `learning_rate` (given by LABBOOK_SET); its keys are `batch_size`, `data_dir`, `epochs`, `limit_train`, `lr`, `require_data`, `resume`, `seed`",
        ),
        (
            None,
            &["--set", "batch_size=big"][..],
            "error: config key `batch_size` expects an integer, not `big` (given by --set)",
        ),
        (
            None,
            &["--set", "epochs=0"][..],
            "error: config key `epochs` must be at least 1, not 0",
        ),
    ] {
        let output = run(data.path(), runs.path(), set, args);
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.lines().last(), Some(message), "{stderr}");
    }
    assert!(!runs.path().join("mnist").exists(), "no run was started");
}
