//! The command line as `metadata/info.json` records it, from real child processes: an
//! argument that is not UTF-8 does not stop the run, and credentials in the arguments reach
//! no file of the run directory.
//!
//! This test has its own `main` (`harness = false`): the standard test harness itself
//! panics on an argument that is not UTF-8, so the child (this binary again, with
//! `LABBOOK_TEST_CHILD` set) must not go through it.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use labbook::prelude::*;

mod support;

#[experiment(name = "argv")]
fn argv() {
    #[log(metric)]
    let started = 1;
}

fn main() {
    if std::env::var_os("LABBOOK_TEST_CHILD").is_some() {
        argv();
        return;
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let base = std::env::temp_dir().join(format!(
        "labbook-command-line-{}-{nanos}",
        std::process::id()
    ));
    let tests: [Test; 2] = [
        (
            "an_argument_that_is_not_utf8_is_recorded_lossily",
            an_argument_that_is_not_utf8_is_recorded_lossily,
        ),
        (
            "credentials_on_the_command_line_reach_no_file",
            credentials_on_the_command_line_reach_no_file,
        ),
    ];
    println!("\nrunning {} tests", tests.len());
    for (name, test) in tests {
        test(&base.join(name));
        println!("test {name} ... ok");
    }
    println!("\ntest result: ok. {} passed", tests.len());
}

/// A test: its name and its body, which gets a folder of its own.
type Test = (&'static str, fn(&Path));

/// Runs this binary as a child with `args` and a store of its own; returns its run directory.
fn child(store: &Path, args: Vec<OsString>) -> PathBuf {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(args)
        .env("LABBOOK_TEST_CHILD", "1")
        .env("LABBOOK_DIR", store)
        .env("LABBOOK_CONSOLE", "off")
        .stdout(std::process::Stdio::null());
    for key in support::LAUNCHER_VARIABLES {
        command.env_remove(key);
    }
    let mut child = command.spawn().unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("the child run did not end within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "the child run failed: {status}");
    store.join("argv/1")
}

fn info(run: &Path) -> labbook::Info {
    let path = run.join("metadata/info.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{} cannot be read: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

#[cfg(unix)]
fn an_argument_that_is_not_utf8_is_recorded_lossily(store: &Path) {
    use std::os::unix::ffi::OsStringExt;
    let run = child(
        store,
        vec!["--data".into(), OsString::from_vec(b"caf\xe9.bin".to_vec())],
    );
    let info = info(&run);
    assert_eq!(info.status, labbook::Status::Complete);
    assert_eq!(
        info.command[1..],
        ["--data".to_owned(), "caf\u{FFFD}.bin".to_owned()]
    );
}

#[cfg(not(unix))]
fn an_argument_that_is_not_utf8_is_recorded_lossily(_: &Path) {}

/// Arguments with a secret, and the secret.
type SecretArgument = (&'static [&'static str], &'static str);

/// What the child gets, each with the secret in it.
const SECRET_ARGUMENTS: [SecretArgument; 10] = [
    (&["--pass", "s3cret-1"], "s3cret-1"),
    (&["--db-pass", "s3cret-2"], "s3cret-2"),
    (&["-p", "s3cret-3"], "s3cret-3"),
    (&["--user", "bob:s3cret-4"], "s3cret-4"),
    (&["-H", "Authorization: Bearer s3cret-5"], "s3cret-5"),
    (&["--bearer", "s3cret-6"], "s3cret-6"),
    (&["--cookie", "session=s3cret-7"], "s3cret-7"),
    (&["--token", "-s3cret-8"], "s3cret-8"),
    (
        &["--uri", "https://bob:s3c/ret@9@mlflow.example/x"],
        "s3c/ret@9",
    ),
    (&["--api-key=s3cret-10"], "s3cret-10"),
];

fn credentials_on_the_command_line_reach_no_file(store: &Path) {
    let mut args: Vec<OsString> = Vec::new();
    for (pair, _) in SECRET_ARGUMENTS {
        args.extend(pair.iter().map(OsString::from));
    }
    args.extend(["--max-tokens", "512", "--tokenizer", "gpt2"].map(OsString::from));
    let run = child(store, args);
    let files = support::regular_files(&run);
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        for (_, secret) in SECRET_ARGUMENTS {
            let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
            assert!(!found, "{secret} is in {}", file.display());
        }
    }
    let command = info(&run).command.join(" ");
    for kept in [
        "--db-pass <redacted>",
        "--user bob:<redacted>",
        "-H Authorization: <redacted>",
        "--uri https://<redacted>@mlflow.example/x",
        "--max-tokens 512 --tokenizer gpt2",
    ] {
        assert!(command.contains(kept), "{kept:?} not in {command}");
    }
}
