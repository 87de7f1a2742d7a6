//! How fast the MNIST example trains as shipped: `cargo xtask bench-compare training` builds
//! the release example once, runs its default training (5 epochs, seed 0) several times,
//! and reports the median wall time, steps per second and test accuracy, with the machine
//! it ran on.
//!
//! dfdx's CPU matrix products run on rayon's pool, one thread per core: on a 2-core machine a
//! second busy process (a build, a test) takes one of the two threads' cores and the steps
//! slow down by far more than half. So each round also runs the example on one thread
//! (`RAYON_NUM_THREADS=1`), which shows how much of the speed is the second core, and the
//! machine's load is stated beside the figures.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use super::capture;
use super::overhead::{build, data_args};

/// Runs of each setting.
pub const ROUNDS: usize = 3;

/// The settings compared: a label and the rayon thread count (`None`: rayon's default).
pub const SETTINGS: [(&str, Option<usize>); 2] = [
    ("as shipped (rayon: one thread per core)", None),
    ("`RAYON_NUM_THREADS=1`", Some(1)),
];

/// One run of the example.
#[derive(Clone, Debug)]
pub struct Run {
    /// The whole process, start to exit, in seconds.
    pub wall_s: f64,
    /// Training steps per second, from the example's summary.
    pub steps_per_s: f64,
    /// Test accuracy after the last epoch, in percent.
    pub accuracy: f64,
    /// `mnist` or `synthetic`.
    pub data: String,
}

/// What the figures were measured on.
#[derive(Clone, Debug)]
pub struct Machine {
    /// The CPU's model name.
    pub cpu: String,
    /// Cores available to the process.
    pub cores: usize,
    /// The 1-minute load average before the first run.
    pub load: String,
}

/// The runs of each setting, one per round.
pub type Training = (Machine, Vec<(&'static str, Vec<Run>)>);

pub fn measure(root: &Path) -> Result<Training, String> {
    let example = build(root, "")?;
    let machine = machine();
    let runs = std::env::temp_dir().join(format!("labbook-training-{}", std::process::id()));
    let mut results: Vec<(&'static str, Vec<Run>)> = SETTINGS
        .iter()
        .map(|(label, _)| (*label, Vec::new()))
        .collect();
    for round in 0..ROUNDS {
        eprintln!("xtask: training round {} of {ROUNDS}", round + 1);
        for (i, (_, threads)) in SETTINGS.iter().enumerate() {
            let mut command = Command::new(&example);
            command
                .args(["--seed", "0"])
                .env("LABBOOK_DIR", &runs)
                .env("LABBOOK_PROGRESS", "off")
                .env("LABBOOK_SYSTEM", "off")
                .env_remove("RAYON_NUM_THREADS");
            data_args(&mut command);
            if let Some(threads) = threads {
                command.env("RAYON_NUM_THREADS", threads.to_string());
            }
            let started = Instant::now();
            let stdout = capture(&mut command)?;
            let wall_s = started.elapsed().as_secs_f64();
            results[i].1.push(summary(&stdout, wall_s)?);
        }
    }
    let _ = std::fs::remove_dir_all(runs);
    Ok((machine, results))
}

/// From the example's output: `training a … on 60000 mnist images, …`, one `epoch 1/5: …
/// (2.9 s, 323 steps/s)` line an epoch, and `final test accuracy 98.51%`.
fn summary(stdout: &str, wall_s: f64) -> Result<Run, String> {
    let data = stdout
        .lines()
        .find_map(|l| {
            let rest = l.strip_prefix("training a ")?;
            let (head, _) = rest.split_once(" images")?;
            head.rsplit(' ').next().map(str::to_owned)
        })
        .unwrap_or_else(|| "unknown".into());
    let (mut steps, mut seconds) = (0.0, 0.0);
    for line in stdout.lines().filter(|l| l.starts_with("epoch ")) {
        let timing = line
            .rsplit_once('(')
            .and_then(|(_, t)| t.strip_suffix(" steps/s)"))
            .and_then(|t| t.split_once(" s, "))
            .and_then(|(s, r)| Some((s.parse::<f64>().ok()?, r.parse::<f64>().ok()?)));
        let (s, rate) = timing.ok_or_else(|| format!("no timing in {line:?}"))?;
        steps += s * rate;
        seconds += s;
    }
    if seconds == 0.0 {
        return Err(format!("no epoch in the example's output: {stdout}"));
    }
    let accuracy = stdout
        .lines()
        .find_map(|l| {
            l.strip_prefix("final test accuracy ")?
                .strip_suffix('%')?
                .parse()
                .ok()
        })
        .ok_or_else(|| format!("no final accuracy in the example's output: {stdout}"))?;
    Ok(Run {
        wall_s,
        steps_per_s: steps / seconds,
        accuracy,
        data,
    })
}

pub(super) fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")?
                .split_once(':')
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".into());
    Machine { cpu, cores, load }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_line_gives_accuracy_speed_and_data() {
        let out = "training a 784-512-128-10 MLP (468874 weights) on 60000 mnist images, testing on 10000\nepoch 1/2: train loss 0.3, test loss 0.2, test accuracy 96.00% (2.0 s, 400 steps/s)\nepoch 2/2: train loss 0.1, test loss 0.1, test accuracy 98.51% (3.0 s, 300 steps/s)\nfinal test accuracy 98.51%\nrun directory: runs/mnist/1\n";
        let run = summary(out, 10.5).unwrap();
        assert_eq!(run.accuracy, 98.51);
        assert_eq!(run.steps_per_s, 340.0);
        assert_eq!(run.data, "mnist");
        assert!(summary("nothing", 1.0).is_err());
    }
}
