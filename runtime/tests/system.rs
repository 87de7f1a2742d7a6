//! System metrics: a run samples the process and the machine from its start to its end into
//! `system/<name>.jsonl`, read back with labbook's reader; `system = off` and
//! `LABBOOK_SYSTEM=off` record none; a bad `LABBOOK_SYSTEM_INTERVAL` is one warning. The
//! environment is process-wide, so each run is a child: this test binary re-run on `child`.

mod support;

use std::path::Path;
use std::time::Duration;

use labbook::prelude::*;
use labbook::store::read::{RunDir, Store};

/// Long enough for points at steps 0 and 1 (whole seconds since the start).
const RUN_FOR: Duration = Duration::from_millis(1300);

#[experiment(name = "sampled")]
fn sampled() {
    for step in 0..3u32 {
        #[log(metric)]
        let loss = step;
        std::thread::sleep(RUN_FOR / 3);
    }
}

#[experiment(name = "unsampled", system = off)]
fn unsampled() {
    #[log(metric)]
    let loss = 1.0;
    std::thread::sleep(Duration::from_millis(400));
}

#[experiment(name = "sampled_in_code", system = "100ms")]
fn sampled_in_code() {
    std::thread::sleep(Duration::from_millis(700));
}

/// Its writer thread dies at once: every later sample must be dropped and counted.
#[experiment(name = "sampled_without_writer")]
fn sampled_without_writer() {
    labbook::__private::crash_writer(&run());
    std::thread::sleep(Duration::from_millis(700));
}

/// The body of every child process.
#[test]
fn child() {
    let Ok(case) = std::env::var("LABBOOK_TEST_CHILD") else {
        return;
    };
    match case.as_str() {
        "sampled" => sampled(),
        "unsampled" => unsampled(),
        "sampled in code" => sampled_in_code(),
        "without writer" => sampled_without_writer(),
        other => panic!("no child case {other:?}"),
    }
}

/// Runs `case` in a child with `vars` and a run store of its own; returns the store and
/// what the child wrote to stderr.
fn run_child(case: &str, vars: &[(&str, &str)]) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let output = support::child_command(case, dir.path())
        .env_remove("LABBOOK_SYSTEM")
        .env_remove("LABBOOK_SYSTEM_INTERVAL")
        .env_remove("LABBOOK_BACKENDS")
        .env_remove("RUST_LOG")
        .envs(vars.iter().copied())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "child {case:?}: {stderr}");
    (dir, stderr)
}

/// The one run of the store at `dir`, finished without problems.
fn only_run(dir: &Path) -> RunDir {
    let mut runs = Store::at(dir).runs().unwrap();
    assert_eq!(runs.len(), 1);
    let run = runs.remove(0);
    let info = run.info().unwrap();
    assert_eq!(info.status, labbook::Status::Complete);
    assert!(info.problems.is_empty(), "{:?}", info.problems);
    run
}

/// Every system stream of `run` by name, with its points.
fn system(run: &RunDir) -> Vec<(String, Vec<labbook::store::jsonl::Point>)> {
    run.system()
        .into_iter()
        .map(|stream| {
            let read = stream.scalars().unwrap();
            assert!(read.warning.is_none(), "{:?}", read.warning);
            (stream.name().to_owned(), read.points)
        })
        .collect()
}

#[test]
fn a_run_samples_the_process_and_the_machine_from_start_to_end() {
    let (dir, _) = run_child("sampled", &[("LABBOOK_SYSTEM_INTERVAL", "100ms")]);
    let run = only_run(dir.path());
    let info = run.info().unwrap();
    let streams = system(&run);
    let names: Vec<&str> = streams.iter().map(|(n, _)| n.as_str()).collect();
    for expected in [
        "cpu_utilization_percentage",
        "system_memory_usage_megabytes",
        "system_memory_available_megabytes",
        "process_cpu_percentage",
        "process_memory_rss_megabytes",
        "process_disk_read_megabytes",
        "process_disk_write_megabytes",
        "network_receive_megabytes",
        "network_transmit_megabytes",
        "load_average_1m",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    let end = info.end_unix.expect("the run ended");
    for (name, points) in &streams {
        // The first at the start, one every 100 ms, the last at the end.
        assert!(points.len() >= 5, "{name}: {} points", points.len());
        let first = points.first().unwrap();
        let last = points.last().unwrap();
        assert_eq!(first.step, 0, "{name}");
        assert!(last.step >= 1, "{name}: the last at step {}", last.step);
        assert!(
            first.time - info.start_unix < 0.5,
            "{name}: first at {}",
            first.time
        );
        assert!(
            end - last.time < 0.5,
            "{name}: last {} before the end",
            end - last.time
        );
        assert!(points
            .windows(2)
            .all(|w| w[0].time < w[1].time && w[0].step <= w[1].step));
        assert!(points.iter().all(|p| p.value.is_finite() && p.value >= 0.0));
    }
    let rss = &streams
        .iter()
        .find(|(n, _)| n == "process_memory_rss_megabytes")
        .unwrap()
        .1;
    assert!(
        rss.iter().all(|p| p.value > 1.0),
        "a process has over 1 MB resident"
    );
    // The metrics are the program's own alone.
    let metrics: Vec<String> = run.metrics().iter().map(|s| s.key()).collect();
    assert_eq!(metrics, ["loss"]);
}

#[test]
fn system_off_in_code_records_none() {
    let (dir, _) = run_child("unsampled", &[("LABBOOK_SYSTEM_INTERVAL", "100ms")]);
    let run = only_run(dir.path());
    assert!(system(&run).is_empty());
    assert!(!run.path().join("system").exists());
}

#[test]
fn labbook_system_off_records_none() {
    let vars = [
        ("LABBOOK_SYSTEM", "off"),
        ("LABBOOK_SYSTEM_INTERVAL", "100ms"),
    ];
    let (dir, _) = run_child("sampled in code", &vars);
    let run = only_run(dir.path());
    assert!(system(&run).is_empty());
    assert!(!run.path().join("system").exists());
}

#[test]
fn the_interval_in_code_wins_over_the_environment() {
    let (dir, _) = run_child("sampled in code", &[("LABBOOK_SYSTEM_INTERVAL", "1h")]);
    let run = only_run(dir.path());
    for (name, points) in system(&run) {
        assert!(points.len() >= 4, "{name}: {} points", points.len());
    }
}

#[test]
fn a_bad_interval_is_one_warning_and_the_run_samples_at_its_start_and_end() {
    let (dir, stderr) = run_child("sampled", &[("LABBOOK_SYSTEM_INTERVAL", "fast")]);
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("LABBOOK_SYSTEM_INTERVAL"))
        .collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(
        warnings[0].contains("`fast` is not an interval") && warnings[0].contains("every 10 s"),
        "{}",
        warnings[0]
    );
    let run = only_run(dir.path());
    let log = std::fs::read_to_string(run.path().join("logs/labbook.log")).unwrap();
    assert!(log.contains("LABBOOK_SYSTEM_INTERVAL"), "{log}");
    for (name, points) in system(&run) {
        // At the default 10 s: the first sample and the last.
        assert_eq!(points.len(), 2, "{name}");
    }
}

#[test]
fn a_sample_the_run_cannot_take_is_dropped_and_counted_never_waited_for() {
    let (dir, _) = run_child("without writer", &[("LABBOOK_SYSTEM_INTERVAL", "100ms")]);
    let mut runs = Store::at(dir.path()).runs().unwrap();
    let info = runs.remove(0).info().unwrap();
    assert_eq!(info.status, labbook::Status::Complete);
    let problem = &info.problems.streams["system/cpu_utilization_percentage.jsonl"];
    // The first at 250 ms, one every 100 ms, the last at the end: all dropped.
    assert!(problem.lost >= 3, "{problem:?}");
    assert!(problem.error.contains("dropped"), "{problem:?}");
}
