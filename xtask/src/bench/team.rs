//! `cargo xtask bench-compare team`: MLflow at team scale. On the deployment of
//! `xtask/verify/team_services.py` (PostgreSQL, `mlflow server --workers 4`, artifacts
//! proxied to SeaweedFS), in one run: labbook's 100,000 points from one run
//! (`runtime/benches/mlflow_team.rs`), MLflow's Python client sending the same with
//! sequential `log_batch` in one run, and the server's ceiling (8 Python clients at once,
//! 100,000 points in all). Replaces the section of `bench/RESULTS.md` it writes.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use super::{capture, cargo, parse, write_section, REPS};
use crate::python;

pub const HEADING: &str = "## MLflow at team scale";

struct Services(Child, Value);

impl Drop for Services {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        let _ = self.0.wait();
    }
}

fn start(python: &Path, root: &Path, state: &Path) -> Result<Services, String> {
    let mut child = Command::new(python)
        .arg(root.join("xtask/verify/team_services.py"))
        .arg(state)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the team services: {e}"))?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped"))
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let ready = line
        .strip_prefix("READY ")
        .ok_or_else(|| format!("the team services did not start: {line}"))?;
    let ready = serde_json::from_str(ready).map_err(|e| e.to_string())?;
    Ok(Services(child, ready))
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Measures and writes the section.
pub fn measure(root: &Path) -> Result<(), String> {
    let python = python::ensure(&python::VERIFY)?;
    let scratch = std::env::temp_dir().join(format!("labbook-bench-team-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).map_err(|e| e.to_string())?;
    let services = start(&python, root, &scratch.join("services"))?;
    let uri = services.1["proxied"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let peers_py = root.join("xtask/bench/peers.py");
    let (mut ours, mut sequential, mut ceiling) = (Vec::new(), Vec::new(), Vec::new());
    for rep in 0..REPS {
        eprintln!("xtask: team repetition {} of {REPS}", rep + 1);
        let dir = scratch.join(format!("rust-{rep}"));
        let row = parse(&capture(
            Command::new(cargo())
                .current_dir(root)
                .args(["bench", "-q", "-p", "labbook", "--features", "mlflow"])
                .args(["--bench", "mlflow_team"])
                .env("LABBOOK_DIR", &dir)
                .env("MLFLOW_TRACKING_URI", &uri)
                .env("MLFLOW_EXPERIMENT_NAME", format!("labbook-team-{rep}")),
        )?)?;
        if row["confirmed"] != row["n"] {
            return Err(format!(
                "labbook's run did not reach the server whole: {row}"
            ));
        }
        ours.push(row["seconds"].as_f64().unwrap_or(f64::NAN));
        for (peer, into) in [
            ("mlflow-server", &mut sequential),
            ("mlflow-ceiling-8", &mut ceiling),
        ] {
            let out = scratch.join(format!("{peer}-{rep}"));
            let row = parse(&capture(
                Command::new(&python)
                    .arg(&peers_py)
                    .arg(peer)
                    .arg(&out)
                    .arg(&uri),
            )?)?;
            if row["stored"] != row["n"] {
                return Err(format!("{peer} did not store every point: {row}"));
            }
            into.push(row["seconds"].as_f64().unwrap_or(f64::NAN));
        }
    }
    drop(services);
    let _ = std::fs::remove_dir_all(&scratch);
    let (ours, sequential, ceiling) = (median(ours), median(sequential), median(ceiling));
    let rate = |s: f64| 100_000.0 / s;
    let section = format!(
        "{HEADING}\n\n\
         `cargo xtask bench-compare team`: PostgreSQL {pg}, `mlflow server --workers 4` \
         (mlflow 3.17.2), artifacts proxied to SeaweedFS, all on this machine; 100,000 points, \
         median of {REPS}, every point counted on the server.\n\n\
         | sender | seconds | points/s | vs Python sequential |\n\
         |---|---:|---:|---:|\n\
         | labbook, one run (`LABBOOK_MLFLOW_PARALLEL` default 1) | {ours:.2} | {r_ours:.0} | {x_ours:.2}× |\n\
         | Python `MlflowClient.log_batch` ×1000, sequential, one run | {sequential:.2} | {r_seq:.0} | 1.00× |\n\
         | server ceiling: 8 Python clients at once, a run each | {ceiling:.2} | {r_ceil:.0} | {x_ceil:.2}× |\n\n\
         labbook reaches {share:.0} % of the server's ceiling.\n",
        pg = "(Debian's)",
        r_ours = rate(ours),
        x_ours = sequential / ours,
        r_seq = rate(sequential),
        r_ceil = rate(ceiling),
        x_ceil = sequential / ceiling,
        share = 100.0 * ceiling / ours,
    );
    write_section(root, HEADING, &section)
}
