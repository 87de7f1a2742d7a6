//! Several runs at once in one process: each run's `logs/labbook.log` holds the `tracing`
//! events of its own threads only, and a helper thread handed a run logs into that run.

mod support;

use std::path::PathBuf;
use std::sync::{Arc, Barrier};
use std::thread;

use labbook::prelude::*;
use support::{points, store};

/// Logs `events` lines tagged `who` while the other thread's run is active too.
#[experiment(name = "side_by_side")]
fn side_by_side(who: &str, both_started: &Barrier, both_logged: &Barrier) -> PathBuf {
    both_started.wait();
    for i in 0..20 {
        tracing::info!("event {i} of {who}");
    }
    both_logged.wait();
    run().dir().unwrap().to_owned()
}

fn log_of(dir: &std::path::Path) -> String {
    std::fs::read_to_string(dir.join("logs/labbook.log")).unwrap()
}

#[test]
fn two_runs_on_two_threads_each_log_only_their_own_events() {
    store();
    let started = Arc::new(Barrier::new(2));
    let logged = Arc::new(Barrier::new(2));
    let threads: Vec<_> = ["left", "right"]
        .into_iter()
        .map(|who| {
            let (started, logged) = (Arc::clone(&started), Arc::clone(&logged));
            thread::spawn(move || (who, side_by_side(who, &started, &logged)))
        })
        .collect();
    for thread in threads {
        let (who, dir) = thread.join().unwrap();
        let other = if who == "left" { "right" } else { "left" };
        let log = log_of(&dir);
        for i in 0..20 {
            assert!(log.contains(&format!("event {i} of {who}")), "{log}");
        }
        assert!(!log.contains(&format!("of {other}")), "{who}'s log: {log}");
    }
}

#[experiment(name = "outer")]
fn outer() -> (PathBuf, PathBuf) {
    tracing::info!("before the inner run");
    let inner_dir = inner();
    tracing::info!("after the inner run");
    (run().dir().unwrap().to_owned(), inner_dir)
}

#[experiment(name = "inner")]
fn inner() -> PathBuf {
    tracing::info!("inside the inner run");
    run().dir().unwrap().to_owned()
}

#[test]
fn a_nested_run_logs_to_the_innermost_run() {
    store();
    let (outer_dir, inner_dir) = outer();
    let (outer_log, inner_log) = (log_of(&outer_dir), log_of(&inner_dir));
    assert!(outer_log.contains("before the inner run"), "{outer_log}");
    assert!(outer_log.contains("after the inner run"), "{outer_log}");
    assert!(!outer_log.contains("inside the inner run"), "{outer_log}");
    assert!(inner_log.contains("inside the inner run"), "{inner_log}");
    assert!(!inner_log.contains("before the inner run"), "{inner_log}");
}

/// Starts a helper thread with this run's handle while `other` runs on another thread, then
/// lets the helper log a metric both through the handle and through `run()` after entering.
#[experiment(name = "handed_over")]
fn handed_over(both_started: &Barrier, done: &Barrier) -> PathBuf {
    both_started.wait();
    let handle = run();
    thread::spawn(move || {
        handle.log_metric("direct", 0, 1.0).unwrap();
        let _entered = handle.enter();
        run().log_metric("entered", 0, 2.0).unwrap();
        tracing::info!("from the helper of handed_over");
    })
    .join()
    .unwrap();
    done.wait();
    run().dir().unwrap().to_owned()
}

#[experiment(name = "newer")]
fn newer(both_started: &Barrier, done: &Barrier) -> PathBuf {
    both_started.wait();
    done.wait();
    run().dir().unwrap().to_owned()
}

#[test]
fn a_run_handed_to_a_helper_thread_gets_its_records_and_events() {
    store();
    let started = Arc::new(Barrier::new(2));
    let done = Arc::new(Barrier::new(2));
    let (s, d) = (Arc::clone(&started), Arc::clone(&done));
    let first = thread::spawn(move || handed_over(&s, &d));
    let (s, d) = (Arc::clone(&started), Arc::clone(&done));
    let second = thread::spawn(move || newer(&s, &d));
    let (mine, other) = (first.join().unwrap(), second.join().unwrap());
    assert_eq!(points(&mine, "direct")[0].value, 1.0);
    assert_eq!(points(&mine, "entered")[0].value, 2.0);
    assert!(log_of(&mine).contains("from the helper of handed_over"));
    assert!(!other.join("metrics/direct.jsonl").exists());
    assert!(!other.join("metrics/entered.jsonl").exists());
    assert!(!log_of(&other).contains("from the helper"));
}
