//! Bad input never stops a run, never hangs it and never leaks: histograms of huge and
//! non-finite values, artifacts that are FIFOs, symlinks or hold the runs root, and secrets
//! in the `#[config]` argument and in params. Each test reads the run directory back with
//! labbook's own readers. (The command line, secrets and non-UTF-8 arguments, is tested from
//! child processes in `command_line.rs`.)
//!
//! Run with `--features wandb,prov,tensorboard` too: the secrets test then also searches
//! the files those backends write.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::OnceLock;
use std::time::Duration;

use labbook::prelude::*;
use labbook::store::jsonl;

mod support;

/// This test binary's folder: `project/` holds the runs root (`project/runs`, which is
/// `LABBOOK_DIR`), `inputs/` what the tests log.
fn base() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir =
            std::env::temp_dir().join(format!("labbook-bad-input-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(dir.join("project/runs")).unwrap();
        std::fs::create_dir_all(dir.join("inputs")).unwrap();
        std::env::set_var("LABBOOK_DIR", dir.join("project/runs"));
        std::env::set_var("LABBOOK_CONSOLE", "off");
        dir
    })
}

/// A fresh folder under `inputs/`.
fn input(name: &str) -> PathBuf {
    let dir = base().join("inputs").join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The one run of `experiment` in this binary.
fn the_run(experiment: &str) -> PathBuf {
    let dir = base().join("project/runs").join(experiment).join("1");
    assert!(dir.is_dir(), "{} is missing", dir.display());
    dir
}

fn info(run: &Path) -> labbook::Info {
    let text = std::fs::read_to_string(run.join("metadata/info.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Runs `body` on its own thread and fails if it takes longer than `limit`: a copy that
/// blocks (on a FIFO) or loops would otherwise hang the suite.
fn within<T: Send + 'static>(limit: Duration, body: impl FnOnce() -> T + Send + 'static) -> T {
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = send.send(body());
    });
    match receive.recv_timeout(limit) {
        Ok(value) => value,
        Err(RecvTimeoutError::Timeout) => panic!("not finished after {limit:?}: it blocks"),
        Err(RecvTimeoutError::Disconnected) => panic!("the run panicked"),
    }
}

/// The problem recorded for site `key`, with the first error.
fn site_problem(run: &Path, key: &str) -> labbook::Problem {
    let info = info(run);
    info.problems
        .sites
        .get(key)
        .cloned()
        .unwrap_or_else(|| panic!("no problem for `{key}` in {:?}", info.problems))
}

// Histograms ---------------------------------------------------------------------------

#[experiment(name = "huge_histogram")]
fn huge_histogram() {
    #[log(histogram)]
    let weights = vec![1e200, -1e200, 3.0, f64::NAN, f64::INFINITY];
    #[log(histogram)]
    let extremes = vec![-f64::MAX, 0.0, f64::MAX];
}

#[test]
fn histograms_of_huge_and_non_finite_values_read_back_faithfully() {
    base();
    huge_histogram();
    let run = the_run("huge_histogram");

    let stream = jsonl::read_histograms(&run.join("histograms/weights.jsonl")).unwrap();
    assert!(stream.warning.is_none(), "{:?}", stream.warning);
    let (step, s, _) = &stream.points[0];
    assert_eq!(*step, 0);
    assert_eq!(
        (s.min, s.max, s.num, s.non_finite),
        (-1e200, 1e200, 5.0, 2.0)
    );
    assert_eq!(s.sum, 3.0);
    assert_eq!(s.sum_squares, f64::INFINITY);
    assert_eq!(s.buckets.iter().sum::<f64>(), 3.0);
    let line = std::fs::read_to_string(run.join("histograms/weights.jsonl")).unwrap();
    assert!(line.contains(r#""sum_squares":"Infinity""#), "{line}");
    assert!(!line.contains("null"), "{line}");

    let stream = jsonl::read_histograms(&run.join("histograms/extremes.jsonl")).unwrap();
    let (_, s, _) = &stream.points[0];
    assert_eq!((s.min, s.max, s.sum), (-f64::MAX, f64::MAX, 0.0));
    assert_eq!(s.sum_squares, f64::INFINITY);
    assert!(s.bucket_limits.iter().all(|l| l.is_finite()), "{s:?}");
    assert_eq!(s.buckets.iter().sum::<f64>(), 3.0);
    assert_eq!(info(&run).status, labbook::Status::Complete);
}

// Artifacts ----------------------------------------------------------------------------

#[experiment(name = "fifo")]
fn fifo(dir: PathBuf) {
    #[log(artifact)]
    let pipe = dir.join("pipe");
    #[log(artifact)]
    let folder = dir;
}

#[test]
fn a_fifo_is_refused_without_blocking() {
    let dir = input("fifo");
    std::fs::write(dir.join("data.txt"), "kept").unwrap();
    let made = Command::new("mkfifo")
        .arg(dir.join("pipe"))
        .status()
        .unwrap();
    assert!(made.success());
    within(Duration::from_secs(30), move || fifo(dir));
    let run = the_run("fifo");
    assert_eq!(info(&run).status, labbook::Status::Complete);

    let pipe = site_problem(&run, "artifact pipe");
    assert_eq!(pipe.lost, 1);
    assert!(pipe.error.contains("FIFO"), "{}", pipe.error);
    assert!(!run.join("artifacts/pipe").exists());

    let folder = site_problem(&run, "artifact folder");
    assert_eq!(folder.lost, 1);
    assert!(
        folder.error.contains("fifo/pipe") && folder.error.contains("FIFO"),
        "{}",
        folder.error
    );
    let copy = run.join("artifacts/folder/fifo");
    assert_eq!(
        std::fs::read_to_string(copy.join("data.txt")).unwrap(),
        "kept"
    );
    assert!(std::fs::symlink_metadata(copy.join("pipe")).is_err());
}

#[experiment(name = "links")]
fn links(dir: PathBuf) {
    for round in 0..2 {
        if round == 1 {
            // The link `swap` becomes a plain file: the second copy must replace the copied
            // link, never write through it.
            std::fs::remove_file(dir.join("swap")).unwrap();
            std::fs::write(dir.join("swap"), "new").unwrap();
        }
        #[log(artifact)]
        let tree = dir.clone();
    }
}

#[cfg(unix)]
#[test]
fn symlinks_in_a_directory_stay_links_and_are_never_followed() {
    use std::os::unix::fs::symlink;
    let outside = input("links-outside");
    std::fs::write(outside.join("private.txt"), "not for the run").unwrap();
    let dir = input("links");
    std::fs::write(dir.join("a.txt"), "A").unwrap();
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    symlink("a.txt", dir.join("latest")).unwrap();
    symlink("../a.txt", dir.join("sub/up")).unwrap();
    symlink(".", dir.join("loop")).unwrap();
    symlink(&outside, dir.join("outside")).unwrap();
    symlink(outside.join("private.txt"), dir.join("swap")).unwrap();

    within(Duration::from_secs(30), move || links(dir));
    let run = the_run("links");
    let copy = run.join("artifacts/tree/links");
    let link = |name: &str| {
        let path = copy.join(name);
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert!(meta.file_type().is_symlink(), "{name} is not a link");
        std::fs::read_link(path).unwrap()
    };
    assert_eq!(link("latest"), Path::new("a.txt"));
    assert_eq!(std::fs::read_to_string(copy.join("latest")).unwrap(), "A");
    assert_eq!(link("sub/up"), Path::new("../a.txt"));
    assert_eq!(link("loop"), Path::new("."));
    assert_eq!(link("outside"), outside);
    // Nothing behind a link was copied.
    let files = support::regular_files(&run.join("artifacts"));
    assert!(
        files.iter().all(|f| !f.ends_with("private.txt")),
        "{files:?}"
    );

    // The second copy replaced the link `swap` by the file, and wrote nothing outside.
    let swap = std::fs::symlink_metadata(copy.join("swap")).unwrap();
    assert!(swap.is_file());
    assert_eq!(std::fs::read_to_string(copy.join("swap")).unwrap(), "new");
    assert_eq!(
        std::fs::read_to_string(outside.join("private.txt")).unwrap(),
        "not for the run"
    );

    // The links to outside are kept but recorded, as their targets are not in the run:
    // `outside` and `swap` in the first copy, `outside` in the second.
    let tree = site_problem(&run, "artifact tree");
    assert_eq!((tree.lost, tree.errors), (3, 3));
    assert!(tree.error.contains("was kept as a link"), "{}", tree.error);
    assert_eq!(info(&run).status, labbook::Status::Complete);
}

#[experiment(name = "project_copy")]
fn project_copy(project: PathBuf, root: PathBuf) {
    #[log(artifact)]
    let code = project;
    #[log(artifact)]
    let store = root;
    #[log(artifact)]
    let own = labbook::run().dir().unwrap().to_path_buf();
}

#[test]
fn the_runs_root_is_never_copied_into_itself() {
    let project = base().join("project");
    std::fs::write(project.join("train.rs"), "fn main() {}").unwrap();
    let root = project.join("runs");
    within(Duration::from_secs(30), move || project_copy(project, root));
    let run = the_run("project_copy");
    assert_eq!(info(&run).status, labbook::Status::Complete);

    let copy = run.join("artifacts/code/project");
    assert_eq!(
        std::fs::read_to_string(copy.join("train.rs")).unwrap(),
        "fn main() {}"
    );
    assert!(!copy.join("runs").exists());
    let code = site_problem(&run, "artifact code");
    assert_eq!(code.lost, 1);
    assert!(code.error.contains("runs root"), "{}", code.error);

    for (site, why) in [("store", "runs root"), ("own", "this run's own directory")] {
        let problem = site_problem(&run, &format!("artifact {site}"));
        assert_eq!(problem.lost, 1);
        assert!(problem.error.contains(why), "{}", problem.error);
        assert!(!run.join("artifacts").join(site).exists());
    }
}

// Secrets ------------------------------------------------------------------------------

#[derive(Serialize)]
struct Hp {
    api_key: String,
    token: String,
    max_tokens: u32,
    tokenizer: String,
    keyboard: String,
    num_keys: u32,
    author: String,
    token_budget: u64,
    eos_token: String,
    database: Database,
}

#[derive(Serialize)]
struct Database {
    password: String,
    url: String,
    #[serde(rename = "clientSecret")]
    client_secret: Option<String>,
}

/// The secret values: none of them may appear in any file of the run.
const SECRETS: [&str; 6] = [
    "sk-CONFIG-1",
    "tok-CONFIG-2",
    "pw-CONFIG-3",
    "url-CONFIG-4",
    "cs-CONFIG-5",
    "hf-PARAM-6",
];

#[experiment(name = "secrets")]
fn secrets(#[config(public = ["eos_token"])] hp: &Hp) {
    #[log(param)]
    let hf_token = "hf-PARAM-6".to_owned();
    #[log(param)]
    let batch_size = 32;
    #[log(metric)]
    let loss = hp.max_tokens as f64 / 1000.0;
}

#[test]
fn secrets_in_the_config_and_params_reach_no_file() {
    base();
    secrets(&Hp {
        api_key: SECRETS[0].into(),
        token: SECRETS[1].into(),
        max_tokens: 100,
        tokenizer: "gpt2".into(),
        keyboard: "us".into(),
        num_keys: 4,
        author: "ann".into(),
        token_budget: 5000,
        eos_token: "</s>".into(),
        database: Database {
            password: SECRETS[2].into(),
            url: format!("postgres://bob:{}@db.example/x", SECRETS[3]),
            client_secret: Some(SECRETS[4].into()),
        },
    });
    let run = the_run("secrets");
    let files = support::regular_files(&run);
    assert!(files.len() >= 3, "{files:?}");
    // With their features on, the files of the other backends are searched too, and the
    // config reached them redacted.
    // TensorBoard's event files sit in the run directory itself.
    let event_file = |f: &std::path::Path| {
        f.parent() == Some(run.as_path())
            && f.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("events.out.tfevents."))
    };
    for (on, written) in [
        (cfg!(feature = "wandb"), "wandb"),
        (cfg!(feature = "tensorboard"), "tensorboard"),
        (cfg!(feature = "prov"), "prov.json"),
    ] {
        let theirs: Vec<_> = files
            .iter()
            .filter(|f| match written {
                "tensorboard" => event_file(f),
                _ => f.starts_with(run.join(written)),
            })
            .collect();
        assert!(!on || !theirs.is_empty(), "no {written} in {files:?}");
        let redacted = theirs.iter().any(|f| {
            let bytes = std::fs::read(f).unwrap();
            bytes.windows(10).any(|w| w == b"<redacted>")
        });
        assert!(
            !on || redacted,
            "the {written} files hold no redacted config"
        );
    }
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        for secret in SECRETS {
            let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
            assert!(!found, "{secret} is in {}", file.display());
        }
    }

    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("metadata/config.json")).unwrap())
            .unwrap();
    assert_eq!(config["api_key"], "<redacted>");
    assert_eq!(config["database"]["password"], "<redacted>");
    assert_eq!(config["database"]["clientSecret"], "<redacted>");
    assert_eq!(
        config["database"]["url"],
        "postgres://<redacted>@db.example/x"
    );
    // Names that only look alike, numbers, and fields marked public stay.
    assert_eq!(config["max_tokens"], 100);
    assert_eq!(config["tokenizer"], "gpt2");
    assert_eq!(config["keyboard"], "us");
    assert_eq!(config["num_keys"], 4);
    assert_eq!(config["author"], "ann");
    assert_eq!(config["token_budget"], 5000);
    assert_eq!(config["eos_token"], "</s>");

    let params: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("params.json")).unwrap()).unwrap();
    assert_eq!(params["hf_token"], "<redacted>");
    assert_eq!(params["batch_size"], 32);
}
