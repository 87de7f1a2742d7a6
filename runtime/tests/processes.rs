//! Several processes at once: the ranks of one job share a run directory, and independent
//! processes never share an id; a job key reused by several experiment calls or by a later
//! launch gets a run for each. Each child is this test binary re-run on `child` with
//! `LABBOOK_TEST_CHILD` set.

mod support;

use std::process::{Child, Command};
use std::time::Duration;

use labbook::prelude::*;
use support::{json, points, runs, steps, store, LAUNCHER_VARIABLES};

#[experiment(name = "ranked")]
fn ranked() {
    for i in 0..5u32 {
        #[log(metric)]
        let loss = i;
        #[log(metric, ranks = all)]
        let step_time = f64::from(i) + f64::from(run().rank()) / 10.0;
        #[log(metric, ranks = [1, 3])]
        let odd_ranks = i;
    }
}

#[experiment(name = "crowd")]
fn crowd() {
    #[log(metric)]
    let started = 1;
}

#[experiment(name = "slurm")]
fn slurm() {
    #[log(metric)]
    let started = 1;
}

#[experiment(name = "sweep")]
fn sweep(call: u32) {
    #[log(metric, ranks = all)]
    let which = call;
}

#[experiment(name = "relaunched")]
fn relaunched() {
    #[log(metric, ranks = all)]
    let started = run().rank();
}

#[experiment(name = "batch")]
fn batch() {
    #[log(metric)]
    let started = 1;
}

/// The body of every child process.
#[test]
fn child() {
    match std::env::var("LABBOOK_TEST_CHILD").as_deref() {
        Ok("ranked") => ranked(),
        Ok("crowd") => crowd(),
        Ok("slurm") => slurm(),
        Ok("sweep") => (0..3).for_each(sweep),
        Ok("relaunched") => relaunched(),
        Ok("batch") => batch(),
        _ => {}
    }
}

fn spawn(kind: &str, vars: &[(&str, String)]) -> Child {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", "child", "--test-threads", "1"])
        .env("LABBOOK_TEST_CHILD", kind);
    for key in LAUNCHER_VARIABLES {
        command.env_remove(key);
    }
    command.envs(vars.iter().map(|(k, v)| (k, v)));
    command.stdout(std::process::Stdio::null()).spawn().unwrap()
}

/// A run's `info.json`; `None` while another test's job has not written it yet.
fn info_of(dir: &std::path::Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join("metadata/info.json")).ok()?;
    serde_json::from_str(&text).ok()
}

fn wait(children: Vec<Child>) {
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
}

/// Runs `ranked` as the four ranks of one job, each with `vars(rank)` as its launcher's
/// environment, and checks the gates: one run directory for the job (whose key labbook
/// reads as `job`), rank 0's stream for a default site, one stream per rank for
/// `ranks = all`, ranks 1 and 3 for `[1, 3]`, every rank in `info.json`.
fn four_ranks_are_gated(job: &str, vars: impl Fn(u32) -> Vec<(&'static str, String)>) {
    store();
    wait((0..4).map(|rank| spawn("ranked", &vars(rank))).collect());
    let dirs: Vec<_> = runs("ranked")
        .into_iter()
        .filter(|d| info_of(d).is_some_and(|info| info["job"] == job))
        .collect();
    assert_eq!(dirs.len(), 1, "one job, one run directory: {dirs:?}");
    let dir = &dirs[0];
    assert_eq!(steps(dir, "loss"), [0, 1, 2, 3, 4]);
    for rank in 1..4 {
        assert!(
            !dir.join(format!("metrics/loss.rank{rank}.jsonl")).exists(),
            "rank {rank} logged a rank-0 site"
        );
        let stream = labbook::store::jsonl::read_scalars(
            &dir.join(format!("metrics/step_time.rank{rank}.jsonl")),
        )
        .unwrap()
        .points;
        assert_eq!(stream.len(), 5);
        assert!(stream
            .iter()
            .all(|p| (p.value.fract() * 10.0).round() as u32 == rank));
    }
    assert_eq!(steps(dir, "step_time").len(), 5);
    assert!(!dir.join("metrics/odd_ranks.jsonl").exists());
    assert!(
        dir.join("metrics/odd_ranks.rank1.jsonl").exists()
            && dir.join("metrics/odd_ranks.rank3.jsonl").exists()
    );
    let info = json(&dir.join("metadata/info.json"));
    assert_eq!(info["world_size"], 4);
    // Rank 0 lists the ranks that had started when it ended (these processes do not wait
    // for one another as a real job's collectives do); every rank reports itself.
    let listed = info["ranks"].as_array().map_or(0, Vec::len);
    assert!((1..=4).contains(&listed), "{info}");
    for rank in 0..4 {
        let own = json(&dir.join(format!("metadata/rank{rank}.json")));
        assert_eq!(own["rank"], rank);
        assert!(own["pid"].as_u64().is_some() && own["host"].is_string());
    }
}

#[test]
fn four_ranks_of_one_job_write_one_run_with_per_rank_streams() {
    four_ranks_are_gated("job-42", |rank| {
        vec![
            ("RANK", rank.to_string()),
            ("WORLD_SIZE", "4".into()),
            ("LABBOOK_RUN_ID", "job-42".into()),
        ]
    });
}

#[test]
fn torchrun_environment_gates_the_same_way() {
    four_ranks_are_gated("torchrun-elastic-7", |rank| {
        vec![
            ("RANK", rank.to_string()),
            ("LOCAL_RANK", rank.to_string()),
            ("WORLD_SIZE", "4".into()),
            ("TORCHELASTIC_RUN_ID", "elastic-7".into()),
            ("MASTER_ADDR", "127.0.0.1".into()),
            ("MASTER_PORT", "29500".into()),
        ]
    });
}

#[test]
fn slurm_environment_gates_the_same_way() {
    four_ranks_are_gated("slurm-3001.0", |rank| {
        vec![
            ("SLURM_PROCID", rank.to_string()),
            ("SLURM_NTASKS", "4".into()),
            ("SLURM_JOB_ID", "3001".into()),
            ("SLURM_STEP_ID", "0".into()),
        ]
    });
}

#[test]
fn slurm_ranks_of_one_job_share_a_run_and_two_jobs_never_collide() {
    store();
    let job = |id: &str| -> Vec<Child> {
        (0..2)
            .map(|rank| {
                spawn(
                    "slurm",
                    &[
                        ("SLURM_PROCID", rank.to_string()),
                        ("SLURM_NTASKS", "2".into()),
                        ("SLURM_JOB_ID", id.into()),
                    ],
                )
            })
            .collect()
    };
    let mut children = job("1001");
    children.extend(job("1002"));
    wait(children);
    let dirs = runs("slurm");
    let slurm: Vec<_> = dirs
        .iter()
        .filter(|d| info_of(d).is_some_and(|info| info["launcher"] == "slurm"))
        .collect();
    assert_eq!(slurm.len(), 2, "{dirs:?}");
}

#[test]
fn eight_processes_starting_at_once_get_eight_ids() {
    store();
    let children = (0..8).map(|_| spawn("crowd", &[])).collect();
    wait(children);
    let mut ids: Vec<u64> = runs("crowd")
        .iter()
        .filter(|d| info_of(d).is_some_and(|info| info["launcher"] == "none"))
        .map(|d| d.file_name().unwrap().to_str().unwrap().parse().unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 8);
}

/// The runs of `experiment` whose `info.json` names job `job`, waiting for none: call it
/// after the job's processes ended.
fn runs_of_job(experiment: &str, job: &str) -> Vec<std::path::PathBuf> {
    runs(experiment)
        .into_iter()
        .filter(|d| info_of(d).is_some_and(|info| info["job"] == job))
        .collect()
}

/// A key no other test binary run shares.
fn fresh_key(name: &str) -> String {
    format!("{name}-{}", std::process::id())
}

/// Rank `rank` of a launch of two with `LABBOOK_RUN_ID` set to `key`.
fn rank_of_two(kind: &str, key: &str, rank: u32) -> Child {
    spawn(
        kind,
        &[
            ("RANK", rank.to_string()),
            ("WORLD_SIZE", "2".into()),
            ("LABBOOK_RUN_ID", key.into()),
        ],
    )
}

/// Both ranks of a launch of two with `LABBOOK_RUN_ID` set to `key`.
fn two_ranks(kind: &str, key: &str) -> Vec<Child> {
    (0..2).map(|rank| rank_of_two(kind, key, rank)).collect()
}

#[test]
fn three_experiment_calls_in_one_job_make_three_runs_each_shared_by_every_rank() {
    store();
    let key = fresh_key("sweep");
    wait(two_ranks("sweep", &key));
    let dirs = runs_of_job("sweep", &key);
    assert_eq!(dirs.len(), 3, "one run per call: {dirs:?}");
    for (call, dir) in dirs.iter().enumerate() {
        // Call n of rank 0 and call n of rank 1 are in the same run, and in no other.
        let rank0 = points(dir, "which");
        let rank1 = labbook::store::jsonl::read_scalars(&dir.join("metrics/which.rank1.jsonl"))
            .unwrap()
            .points;
        assert_eq!(rank0.len(), 1, "{dir:?}");
        assert_eq!(rank1.len(), 1, "{dir:?}");
        assert_eq!(rank0[0].value, call as f64);
        assert_eq!(rank1[0].value, call as f64);
        assert_eq!(json(&dir.join("metadata/rank1.json"))["rank"], 1);
        assert_eq!(json(&dir.join("metadata/info.json"))["status"], "COMPLETE");
    }
}

#[test]
fn two_launches_one_after_another_with_one_key_make_two_runs() {
    store();
    let key = fresh_key("relaunched");
    wait(two_ranks("relaunched", &key));
    wait(two_ranks("relaunched", &key));
    let dirs = runs_of_job("relaunched", &key);
    assert_eq!(dirs.len(), 2, "{dirs:?}");
    for dir in &dirs {
        assert_eq!(points(dir, "started").len(), 1, "{dir:?}");
        let rank1 = labbook::store::jsonl::read_scalars(&dir.join("metrics/started.rank1.jsonl"))
            .unwrap()
            .points;
        assert_eq!(
            rank1.len(),
            1,
            "{dir:?}: rank 1 of each launch in its own run"
        );
        assert_eq!(rank1[0].value, 1.0);
    }
}

#[test]
fn a_program_run_twice_in_one_slurm_job_step_makes_two_runs() {
    store();
    let job = fresh_key("4");
    let vars = [
        ("SLURM_JOB_ID", job.clone()),
        ("SLURM_STEP_ID", "batch".into()),
        ("SLURM_PROCID", "0".into()),
        ("SLURM_NTASKS", "1".into()),
    ];
    wait(vec![spawn("batch", &vars)]);
    wait(vec![spawn("batch", &vars)]);
    let dirs = runs_of_job("batch", &format!("slurm-{job}.batch"));
    assert_eq!(dirs.len(), 2, "{dirs:?}");
    for dir in &dirs {
        assert_eq!(steps(dir, "started"), [0]);
    }
}

#[test]
fn a_launch_started_again_after_an_early_stop_never_joins_the_stopped_one() {
    store();
    let key = fresh_key("restarted");
    // Rank 0 of two ran call 0 and the launch stopped before rank 1 got there.
    wait(vec![rank_of_two("relaunched", &key, 0)]);
    // Started again on the same host some seconds later.
    std::thread::sleep(labbook::store::alloc::HOST_LAUNCH_SPREAD + Duration::from_secs(1));
    wait(two_ranks("relaunched", &key));
    let dirs = runs_of_job("relaunched", &key);
    let claims = claims_of(&store().join("relaunched/.jobs"));
    assert_eq!(dirs.len(), 2, "{dirs:?}\n{claims}");
    let has_rank1 = |dir: &std::path::Path| dir.join("metrics/started.rank1.jsonl").exists();
    assert!(
        !has_rank1(&dirs[0]),
        "the stopped launch had no rank 1: {dirs:?}\n{claims}"
    );
    assert!(
        has_rank1(&dirs[1]),
        "the new launch's rank 1 is in the new launch's run: {dirs:?}\n{claims}"
    );
}

/// Every claim file under `jobs` with its content, for a failure message.
fn claims_of(jobs: &std::path::Path) -> String {
    let mut out = String::new();
    let mut stack = vec![jobs.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                out += &format!("{}: {text}\n", path.display());
            }
        }
    }
    out
}
