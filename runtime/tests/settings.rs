//! What labbook does to the whole process: its `tracing` subscriber and its signal handler
//! are installed only when the program has none and has not turned them off, in code
//! (`labbook::Settings`) or in the environment. Both are process-wide, so each case runs in
//! a child: this test binary re-run on `child` with `LABBOOK_TEST_CHILD` set.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use labbook::prelude::*;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;

#[experiment(name = "quiet")]
fn quiet() -> PathBuf {
    for i in 0..3u32 {
        #[log(metric)]
        let loss = i;
    }
    tracing::info!("hello from the training loop");
    run().dir().unwrap().to_owned()
}

/// The run finished and its points are on disk.
fn assert_complete(dir: &Path) {
    assert_eq!(support::info(dir).status, labbook::Status::Complete);
    assert_eq!(support::steps(dir, "loss"), [0, 1, 2]);
}

/// A subscriber that is not labbook's, installed as the program's global default.
fn set_own_subscriber() -> Result<(), tracing::subscriber::SetGlobalDefaultError> {
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_writer(Captured))
        .with(labbook::run_log_layer());
    tracing::subscriber::set_global_default(subscriber)
}

/// What the program's own subscriber wrote.
static CAPTURED: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct Captured;

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        Captured
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CAPTURED.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn captured() -> String {
    String::from_utf8_lossy(&CAPTURED.lock().unwrap()).into_owned()
}

/// The body of every child process; each asserts what it sees.
#[test]
fn child() {
    let Ok(case) = std::env::var("LABBOOK_TEST_CHILD") else {
        return;
    };
    support::store();
    match case.as_str() {
        "off in code" => {
            labbook::Settings::new()
                .tracing(false)
                .signals(false)
                .apply();
            assert_complete(&quiet());
            assert!(
                !tracing::dispatcher::has_been_set(),
                "labbook installed a subscriber"
            );
            set_own_subscriber().expect("the program sets its subscriber after the run");
            ctrlc::try_set_handler(|| {}).expect("the program sets its handler after the run");
            assert_complete(&quiet());
        }
        "own subscriber" => {
            set_own_subscriber().unwrap();
            let dir = quiet();
            assert_complete(&dir);
            let own = captured();
            assert!(own.contains("hello from the training loop"), "{own:?}");
            assert!(
                own.contains("LABBOOK_BACKENDS names `nowhere`"),
                "labbook's warnings reach the program's subscriber: {own:?}"
            );
            let log = std::fs::read_to_string(dir.join("logs/labbook.log")).unwrap();
            assert!(log.contains("hello from the training loop"), "{log:?}");
        }
        "code wins" => {
            labbook::Settings::new().tracing(true).apply();
            assert_complete(&quiet());
            assert!(
                tracing::dispatcher::has_been_set(),
                "`tracing(true)` wins over LABBOOK_TRACING=off"
            );
            ctrlc::try_set_handler(|| {}).expect("LABBOOK_SIGNALS=off left signals alone");
        }
        "each run start" => {
            labbook::Settings::new()
                .tracing(false)
                .signals(false)
                .apply();
            assert_complete(&quiet());
            assert!(!tracing::dispatcher::has_been_set());
            labbook::Settings::new().tracing(true).signals(true).apply();
            assert_complete(&quiet());
            assert!(
                tracing::dispatcher::has_been_set(),
                "the second run installed the subscriber"
            );
            assert!(
                set_own_subscriber().is_err(),
                "labbook's subscriber is the global default"
            );
            assert!(
                matches!(
                    ctrlc::try_set_handler(|| {}),
                    Err(ctrlc::Error::MultipleHandlers)
                ),
                "the second run installed the signal handler"
            );
        }
        "ignored signal" => {
            let (ignored, caught) = (mask("SigIgn:"), mask("SigCgt:"));
            assert!(ignored & bit(1) != 0, "nohup ignores SIGHUP: {ignored:x}");
            assert_complete(&quiet());
            let (ignored, caught_now) = (mask("SigIgn:"), mask("SigCgt:"));
            assert!(
                ignored & bit(1) != 0 && caught_now & bit(1) == 0,
                "labbook left SIGHUP ignored: ignored {ignored:x}, caught {caught_now:x}"
            );
            for signal in [2, 15] {
                assert!(
                    caught & bit(signal) == 0 && caught_now & bit(signal) != 0,
                    "labbook took signal {signal}: caught before {caught:x}, after {caught_now:x}"
                );
            }
        }
        other => panic!("no child case {other:?}"),
    }
}

/// A signal mask of this process from `/proc/self/status` (`SigIgn:`, `SigCgt:`).
fn mask(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let mask = status.lines().find_map(|l| l.strip_prefix(field)).unwrap();
    u64::from_str_radix(mask.trim(), 16).unwrap()
}

/// A signal's bit in those masks.
fn bit(signal: u32) -> u64 {
    1 << (signal - 1)
}

/// Runs `case` in a child (this test binary, behind `wrapper` such as `nohup` if given)
/// and fails with the child's output when its assertions do.
fn run_child(case: &str, wrapper: Option<&str>, vars: &[(&str, &str)]) {
    let exe = std::env::current_exe().unwrap();
    let mut command = match wrapper {
        Some(wrapper) => {
            let mut command = Command::new(wrapper);
            command.arg(exe);
            command
        }
        None => Command::new(exe),
    };
    command
        .args(["--exact", "child", "--test-threads", "1", "--nocapture"])
        .env("LABBOOK_TEST_CHILD", case)
        .env_remove("LABBOOK_TRACING")
        .env_remove("LABBOOK_SIGNALS")
        .env_remove("LABBOOK_BACKENDS")
        .env_remove("RUST_LOG")
        .envs(vars.iter().copied());
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "child {case:?}: {}\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn turned_off_in_code_a_run_works_and_leaves_tracing_and_signals_to_the_program() {
    run_child("off in code", None, &[]);
}

#[test]
fn a_subscriber_the_program_set_before_the_first_run_gets_every_event() {
    run_child("own subscriber", None, &[("LABBOOK_BACKENDS", "nowhere")]);
}

#[test]
fn code_wins_over_the_environment_and_the_environment_over_the_default() {
    run_child(
        "code wins",
        None,
        &[("LABBOOK_TRACING", "off"), ("LABBOOK_SIGNALS", "off")],
    );
}

#[test]
fn every_run_start_checks_again() {
    run_child("each run start", None, &[]);
}

#[cfg(target_os = "linux")]
#[test]
fn under_nohup_sighup_stays_ignored_and_labbook_takes_ctrl_c_and_sigterm() {
    run_child("ignored signal", Some("nohup"), &[]);
}
