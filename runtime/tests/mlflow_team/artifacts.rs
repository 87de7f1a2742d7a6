//! A large checkpoint in both layouts: 1 GiB (`LABBOOK_TEST_LARGE_MB` sets another size) sent
//! in parts, through MLflow's multipart proxy (`proxied`) and straight to SeaweedFS's S3
//! (`direct`). The upload (`mlflow::sync`, what `labbook sync` runs) is killed after a few
//! parts and run again: the second attempt sends only the parts the first did not get
//! confirmed, the object in the store is the file byte for byte (boto3 hashes it), MLflow's
//! client lists it, and the uploading process stays within a bounded peak RSS.

use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use labbook::backends::mlflow;
use labbook::prelude::*;
use serde_json::{json, Value as Json};

use super::{env, python, services, state, verifier};
use crate::support::{child_command, store};

/// Where the large file goes in the run directory.
const ARTIFACT: &str = "artifacts/model.bin";
/// Parts confirmed before the first attempt is killed.
const KILL_AFTER: usize = 4;
/// The most memory an upload process may hold: 4 parts of 16 MiB in flight and the program.
const PEAK_RSS_LIMIT_MB: u64 = 256;

fn large_len() -> u64 {
    let mb: u64 = std::env::var("LABBOOK_TEST_LARGE_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    mb << 20
}

#[experiment(name = "team-large")]
fn large_run() -> PathBuf {
    #[log(metric, name = "loss", step = 1)]
    0.5;
    run().dir().unwrap().to_owned()
}

/// The test binary's child: uploads the run in `LABBOOK_TEST_RUN` to `LABBOOK_TEST_URI`
/// and writes its peak RSS (kB) to `LABBOOK_TEST_PEAK`.
pub fn sync_child() {
    let var = |key| std::env::var(key).unwrap();
    let dir = PathBuf::from(var("LABBOOK_TEST_RUN"));
    let settings = mlflow::Settings::for_uri(&var("LABBOOK_TEST_URI")).unwrap();
    let report = mlflow::sync(&[dir], &settings);
    assert!(report.is_success(), "{report}");
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let peak = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .unwrap()
        .trim()
        .trim_end_matches(" kB")
        .to_owned();
    std::fs::write(var("LABBOOK_TEST_PEAK"), peak).unwrap();
}

/// A sparse file of `len` bytes with its offset written at every MiB, so that a part put in
/// the wrong place changes the hash.
fn large_file(path: &Path, len: u64) {
    let mut file = std::fs::File::create(path).unwrap();
    file.set_len(len).unwrap();
    for mib in 0..len >> 20 {
        file.seek(SeekFrom::Start(mib << 20)).unwrap();
        writeln!(file, "labbook part marker {mib:>12}").unwrap();
    }
}

fn upload(uri: &str, dir: &Path, peak: &Path) -> Command {
    let mut command = child_command("sync", store());
    command
        .env("LABBOOK_TEST_RUN", dir)
        .env("LABBOOK_TEST_URI", uri)
        .env("LABBOOK_TEST_PEAK", peak)
        .env_remove("MLFLOW_TRACKING_URI")
        .envs(services().s3_env());
    command
}

fn large_upload(layout: &str) {
    let uri = services().uri(layout);
    let dir = {
        let _env = env(&uri);
        large_run()
    };
    let len = large_len();
    let file = dir.join(ARTIFACT);
    large_file(&file, len);
    let peak = dir.join("peak-rss.txt");

    // The first attempt, killed once a few parts are confirmed.
    let began = Instant::now();
    let mut first = upload(&uri, &dir, &peak).spawn().unwrap();
    let confirmed = loop {
        let parts = state(&dir)["uploads"][ARTIFACT]["confirmed"]
            .as_object()
            .map_or(0, |parts| parts.len());
        if parts >= KILL_AFTER {
            first.kill().unwrap();
            break parts;
        }
        if let Some(status) = first.try_wait().unwrap() {
            panic!("the upload ended ({status}) before {KILL_AFTER} parts were confirmed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    first.wait().unwrap();
    let first_time = began.elapsed();
    // What was confirmed by the time it died (a part may have landed after the poll).
    let killed = state(&dir)["uploads"][ARTIFACT].clone();
    let confirmed_at_kill = killed["confirmed"].as_object().unwrap().len();
    assert!(confirmed_at_kill >= confirmed, "{killed:#}");
    assert_eq!(killed["completed"], false, "{killed:#}");

    // The second attempt goes on from there.
    let began = Instant::now();
    let second = upload(&uri, &dir, &peak).status().unwrap();
    let second_time = began.elapsed();
    assert!(second.success());
    let done = state(&dir);
    let record = &done["uploads"][ARTIFACT];
    let parts = record["parts"].as_u64().unwrap();
    assert_eq!(record["completed"], true, "{record:#}");
    assert_eq!(record["upload_id"], killed["upload_id"], "{record:#}");
    assert_eq!(record["resumed"], confirmed_at_kill as u64, "{record:#}");
    assert_eq!(
        record["sent"].as_u64().unwrap(),
        parts - confirmed_at_kill as u64,
        "the second attempt sent parts that were confirmed already: {record:#}"
    );
    let peak_kb: u64 = std::fs::read_to_string(&peak).unwrap().parse().unwrap();
    eprintln!(
        "{layout}: {} MiB in {parts} parts; killed after {:.1} s with {confirmed_at_kill} confirmed, \
         the rest in {:.1} s ({:.0} MiB/s); peak RSS {} MiB",
        len >> 20,
        first_time.as_secs_f64(),
        second_time.as_secs_f64(),
        ((parts - confirmed_at_kill as u64) * 16).min(len >> 20) as f64
            / second_time.as_secs_f64(),
        peak_kb >> 10
    );
    assert!(
        peak_kb >> 10 < PEAK_RSS_LIMIT_MB,
        "the upload held {} MiB",
        peak_kb >> 10
    );

    let key = match layout {
        "proxied" => format!(
            "proxied/{}/{ARTIFACT}",
            done["artifact_root"].as_str().unwrap()
        ),
        _ => format!(
            "{}/{ARTIFACT}",
            done["artifact_uri"]
                .as_str()
                .unwrap()
                .trim_start_matches("s3://labbook/")
        ),
    };
    let text = check_object(
        &uri,
        &json!({
            "run_id": done["run_id"], "artifact": ARTIFACT, "bucket": "labbook",
            "key": key, "size": len, "file": file, "delete": true,
        }),
    );
    assert!(text.contains("s3_object_check: OK"), "{text}");
    std::fs::remove_file(&file).unwrap();
}

fn check_object(uri: &str, spec: &Json) -> String {
    let spec_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(spec_file.path(), spec.to_string()).unwrap();
    let out = Command::new(python())
        .arg(verifier("s3_object_check.py"))
        .arg(uri)
        .arg(spec_file.path())
        .envs(services().s3_env())
        .output()
        .expect("python runs");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn a_large_checkpoint_resumes_through_the_proxy_without_resending_parts() {
    large_upload("proxied");
}

#[test]
fn a_large_checkpoint_resumes_straight_to_s3_without_resending_parts() {
    large_upload("direct");
}
