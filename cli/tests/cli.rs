//! The `labbook` command against stores these tests write: tables compared with golden files
//! (`tests/cli/golden`, rewritten with `LABBOOK_BLESS=1`), plots decoded, exports parsed, and
//! every error a single sentence.

#[path = "cli/fixture.rs"]
mod fixture;

use std::path::Path;

use fixture::{golden, Fixture, RunSpec, T0};
use serde_json::{json, Value};

/// `mnist/1..3` and `probe/1`, as a small sweep leaves them. `mnist/2`'s loss ends in a torn
/// line, as a killed writer leaves it.
fn sweep() -> Fixture {
    let f = Fixture::new();
    let runs = [
        (1, "COMPLETE", 0.01, "adam"),
        (2, "COMPLETE", 0.001, "adam"),
        (3, "FAILED", 0.1, "sgd"),
    ];
    for (id, status, lr, optimizer) in runs {
        let config =
            json!({"lr": lr, "optimizer": optimizer, "batch_size": 64, "model": {"hidden": 128}});
        let dir = f.run(RunSpec::new("mnist", id, status).config(config));
        let speed = [0.0, 40.0, 100.0, 250.0][id as usize];
        let loss: Vec<(u64, f64)> = (0..=30)
            .map(|i| {
                (
                    i * 10,
                    2.5 / (1.0 + (i * 10) as f64 / speed) + 0.01 * (i % 3) as f64,
                )
            })
            .collect();
        f.metric(&dir, "train/loss", &loss);
        let acc: Vec<(u64, f64)> = (0..=3)
            .map(|i| (i * 100, 0.99 - 0.9 / (1.0 + (i * 100) as f64 / speed)))
            .collect();
        f.metric(&dir, "val_acc", &acc);
    }
    let torn = f.run_dir("mnist", 2).join("metrics/train/loss.jsonl");
    let mut text = std::fs::read_to_string(&torn).unwrap();
    text.push_str(r#"{"step":310,"val"#);
    std::fs::write(&torn, text).unwrap();

    let probe = f.run(
        RunSpec::new("probe", 1, "COMPLETE")
            .config(json!({"lr": 0.5, "steps": 100}))
            .host("gpu-02", 77),
    );
    f.metric(&probe, "loss", &[(0, 1.0), (50, 0.25), (99, 0.125)]);
    f
}

#[test]
fn ls_shows_every_run_with_the_last_value_of_each_metric_and_skips_a_torn_line() {
    let f = sweep();
    let out = f.labbook(&["ls"]);
    golden("ls", &out.ok());
    let stderr = out.stderr();
    assert!(
        stderr.contains(
            "warning: runs/mnist/2/metrics/train/loss.jsonl:32: skipped a torn last line"
        ),
        "{stderr}"
    );
}

#[test]
fn ls_filters_sorts_and_picks_its_columns() {
    let f = sweep();
    let out = f.labbook(&[
        "ls",
        "mnist",
        "--where",
        "lr<0.05",
        "--where",
        "optimizer=adam",
        "--sort",
        "val_acc",
        "--desc",
        "-c",
        "lr,batch_size",
        "-m",
        "val_acc",
    ]);
    golden("ls_filtered", &out.ok());

    let failed = f.labbook(&["ls", "--status", "failed"]).ok();
    assert_eq!(failed.lines().count(), 2, "{failed}");
    assert!(failed.contains("mnist/3  FAILED"), "{failed}");
    let ordered = f.labbook(&["ls", "mnist", "--sort", "train/loss"]).ok();
    let runs: Vec<&str> = ordered.lines().skip(1).map(|l| &l[..7]).collect();
    assert_eq!(runs, ["mnist/1", "mnist/2", "mnist/3"], "{ordered}");
    assert_eq!(f.labbook(&["ls", "--where", "val_acc>2"]).ok(), "no runs\n");
    let bad = f.labbook(&["ls", "--where", "lr"]);
    assert_eq!(bad.0.status.code(), Some(2));
    assert!(bad.stderr().contains("like `lr<0.01`"), "{}", bad.stderr());
}

#[test]
fn ls_json_holds_whole_configs_and_last_points() {
    let f = sweep();
    let runs: Value = serde_json::from_str(&f.labbook(&["ls", "--json"]).ok()).unwrap();
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 4);
    let first = &runs[0];
    assert_eq!(first["run"], "mnist/1");
    assert_eq!(first["status"], "COMPLETE");
    assert_eq!(first["config"]["model"]["hidden"], 128);
    assert_eq!(first["metrics"]["val_acc"]["step"], 300);
    assert_eq!(first["duration_s"], 3665.0);
    assert_eq!(
        runs[1]["metrics"]["train/loss"]["step"], 300,
        "torn line skipped"
    );
}

/// The build, the machine, the seed, and the commands that give back the exact code: the
/// commit, and the saved patch of the uncommitted changes with what it left out.
#[test]
fn show_tells_how_the_run_was_built_and_how_to_restore_its_code() {
    let f = sweep();
    let dir = f.run_dir("mnist", 1);
    let info_file = dir.join("metadata/info.json");
    let mut info: Value =
        serde_json::from_str(&std::fs::read_to_string(&info_file).unwrap()).unwrap();
    info["git"] = json!({
        "commit": "0123abcd", "dirty": true, "work_tree": "/src/mnist",
        "untracked": ["notes.txt", "data/"],
        "diff": {"file": "code/diff.patch", "bytes": 12, "left_out": [
            {"path": ".env", "reason": "secret"},
            {"path": "big.bin", "reason": "too_large", "bytes": 5_000_000},
        ]},
    });
    info["build"] = json!({
        "rustc": "rustc 1.95.0 (59807616e 2026-04-14)", "target": "x86_64-unknown-linux-gnu",
        "profile": "release", "cargo_lock_sha256": "cb96", "program": {"name": "mnist", "version": "0.3.0"},
    });
    info["machine"] = json!({"cpus": 16, "cpus_available": 8, "cpu": "AMD EPYC 9654",
        "memory_bytes": 64_000_000_000u64, "gpus": ["NVIDIA H100 80GB HBM3"]});
    info["seed"] = json!(42);
    fixture::write_json(&info_file, &info);
    std::fs::create_dir_all(dir.join("code")).unwrap();
    std::fs::write(dir.join("code/diff.patch"), "diff --git \n").unwrap();
    let patch = std::fs::canonicalize(dir.join("code/diff.patch")).unwrap();

    let shown = f.labbook(&["show", "mnist/1"]).ok();
    for line in [
        "build      rustc 1.95.0 (59807616e 2026-04-14), x86_64-unknown-linux-gnu, release, mnist 0.3.0, Cargo.lock sha256 cb96\n".to_owned(),
        "machine    16 CPUs (8 available), AMD EPYC 9654, 64.0 GB memory, GPUs NVIDIA H100 80GB HBM3\n".to_owned(),
        "seed       42\n".to_owned(),
        format!("\nrestore the code\n  cd /src/mnist && git checkout 0123abcd && git apply {}\n", patch.display()),
        "  not in the patch: .env (looks like a secret)\n  not in the patch: big.bin (too large, 5.0 MB)\n".to_owned(),
        "  untracked, not saved: notes.txt, data/\n".to_owned(),
    ] {
        assert!(shown.contains(&line), "no {line:?} in\n{shown}");
    }

    // Without git facts there is nothing to restore from; a clean tree needs the commit only.
    let other = f.run_dir("mnist", 2).join("metadata/info.json");
    let mut without: Value =
        serde_json::from_str(&std::fs::read_to_string(&other).unwrap()).unwrap();
    without.as_object_mut().unwrap().remove("git");
    fixture::write_json(&other, &without);
    assert!(!f
        .labbook(&["show", "mnist/2"])
        .ok()
        .contains("restore the code"));
    info["git"] = json!({"commit": "0123abcd", "dirty": false});
    fixture::write_json(&info_file, &info);
    let clean = f.labbook(&["show", "mnist/1"]).ok();
    assert!(
        clean.contains("\nrestore the code\n  git checkout 0123abcd\n\n"),
        "{clean}"
    );
}

#[test]
fn show_lists_info_config_params_streams_artifacts_and_checkpoints() {
    let f = sweep();
    let dir = f.run_dir("mnist", 1);
    fixture::write_json(
        &dir.join("params.json"),
        &json!({"parameters": 101770, "dataset": "mnist-60k"}),
    );
    std::fs::write(
        dir.join("text/note.jsonl"),
        "{\"step\":0,\"value\":\"warm-up\",\"time\":1.0}\n{\"step\":3,\"value\":\"finished 3 epochs\",\"time\":2.0}\n",
    )
    .unwrap();
    let summary = json!({"min": -1.0, "max": 1.0, "num": 4.0, "sum": 0.0, "sum_squares": 2.5,
        "bucket_limits": [0.0, 1.0], "buckets": [2.0, 2.0]});
    std::fs::create_dir_all(dir.join("histograms/fc1")).unwrap();
    std::fs::write(
        dir.join("histograms/fc1/weight.jsonl"),
        format!("{{\"step\":0,\"value\":{summary},\"time\":1.0}}\n{{\"step\":2,\"value\":{summary},\"time\":2.0}}\n"),
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("artifacts/images/samples")).unwrap();
    for step in [0, 1, 2] {
        std::fs::write(
            dir.join(format!("artifacts/images/samples/{step}.png")),
            [0u8; 100],
        )
        .unwrap();
    }
    std::fs::create_dir_all(dir.join("artifacts/inputs")).unwrap();
    std::fs::write(dir.join("artifacts/inputs/notes.txt"), "lr sweep").unwrap();
    std::fs::create_dir_all(dir.join("checkpoints")).unwrap();
    for (stem, step) in [
        ("step-0000000200", 200),
        ("step-0000000300", 300),
        ("last", 300),
    ] {
        std::fs::write(
            dir.join(format!("checkpoints/{stem}.json")),
            vec![b'0'; 2048],
        )
        .unwrap();
        let sidecar = json!({"run": "mnist/1", "step": step,
            "file": format!("checkpoints/step-{step:010}.json"), "time": T0 + 4000.0 + step as f64,
            "sites": {}, "streams": {}});
        fixture::write_json(&dir.join(format!("checkpoints/{stem}.meta.json")), &sidecar);
    }
    golden("show", &f.labbook(&["show", "mnist/1"]).ok());

    let failed = f.labbook(&["show", "mnist/3"]).ok();
    assert!(
        failed.contains("error      loss became NaN at step 1200"),
        "{failed}"
    );
}

#[test]
fn show_and_plot_read_the_system_metrics_apart_from_the_metrics() {
    let f = sweep();
    let dir = f.run_dir("mnist", 1);
    std::fs::create_dir_all(dir.join("system")).unwrap();
    let cpu = (0..=4)
        .map(|i| {
            format!(
                "{{\"step\":{},\"value\":{}.5,\"time\":{}}}\n",
                i * 10,
                40 + i,
                T0 + 10.0 * i as f64
            )
        })
        .collect::<String>();
    std::fs::write(dir.join("system/cpu_utilization_percentage.jsonl"), cpu).unwrap();
    std::fs::write(
        dir.join("system/process_memory_rss_megabytes.rank1.jsonl"),
        format!("{{\"step\":0,\"value\":512.0,\"time\":{T0}}}\n"),
    )
    .unwrap();

    let show = squash(&f.labbook(&["show", "mnist/1"]).ok());
    let system = show
        .split("\nsystem (steps in seconds)\n")
        .nth(1)
        .expect("a system block");
    assert!(
        system.contains("\n cpu_utilization_percentage 5 0–40 44.5 40.5 44.5\n"),
        "{show}"
    );
    assert!(
        system.contains("\n process_memory_rss_megabytes.rank1 1 0–0 512 512 512\n"),
        "{show}"
    );
    let metrics = show.split("\nmetrics\n").nth(1).unwrap();
    let metrics = metrics.split("\nsystem").next().unwrap();
    assert!(!metrics.contains("cpu_utilization_percentage"), "{show}");

    let out = f.labbook(&[
        "plot",
        "mnist/1",
        "-m",
        "system/cpu_utilization_percentage",
        "-o",
        "cpu.png",
    ]);
    assert_eq!(out.ok(), "wrote cpu.png (1000x600)\n");
    let (width, _, pixels) = png_pixels(&f.dir.path().join("cpu.png"));
    assert!(coloured(&pixels, width, (120, 80, 960, 520)) > 200);
    let unknown = f
        .labbook(&["plot", "mnist/1", "-m", "system/gpu", "-o", "gpu.png"])
        .error();
    assert!(
        unknown.contains("system/cpu_utilization_percentage"),
        "{unknown}"
    );
}

#[test]
fn compare_puts_runs_side_by_side_and_marks_the_best() {
    let f = sweep();
    let out = f.labbook(&["compare", "mnist/1", "mnist/2", "mnist/3"]);
    golden("compare", &out.ok());
    assert!(out.stderr().contains("skipped a torn last line"));
    let other = f.labbook(&["compare", "mnist/1", "probe"]).ok();
    assert!(
        other.contains("\nconfig\n") && other.contains("\n  steps "),
        "{other}"
    );
    assert!(squash(&other).contains("\n loss - 0.125\n"), "{other}");
    let one = f.labbook(&["compare", "mnist/1"]);
    assert_eq!(one.0.status.code(), Some(2), "two runs at least");
}

#[cfg(target_os = "linux")]
#[test]
fn a_running_run_whose_process_is_gone_is_crashed() {
    let f = Fixture::new();
    let here = fixture::this_host();
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let gone_pid = gone.id();
    gone.wait().unwrap();
    let crashed = f.run(RunSpec::new("job", 1, "RUNNING").host(&here, gone_pid));
    f.metric(&crashed, "loss", &[(0, 1.0), (100, 0.5)]);
    f.run(RunSpec::new("job", 2, "RUNNING").host(&here, std::process::id()));
    f.run(RunSpec::new("job", 3, "RUNNING").host("elsewhere", 1));
    let out = f.labbook(&["ls"]).ok();
    let states: Vec<(&str, &str)> = out
        .lines()
        .skip(1)
        .map(|l| {
            let cells: Vec<&str> = l.split_whitespace().collect();
            (cells[0], cells[1])
        })
        .collect();
    assert_eq!(
        states,
        [
            ("job/1", "CRASHED"),
            ("job/2", "RUNNING"),
            ("job/3", "RUNNING")
        ],
        "{out}"
    );
    // A crashed run lasted until its last point: 10 s + 100 steps of 0.5 s.
    assert!(out.lines().nth(1).unwrap().contains("  1m 00s  "), "{out}");
    let crashed_only = f.labbook(&["ls", "--status", "crashed"]).ok();
    assert_eq!(crashed_only.lines().count(), 2, "{crashed_only}");
    // gc never removes a run that may still be running; rm asks for --force.
    let kept = f.labbook(&["gc", "--keep-last", "0", "--yes"]).ok();
    assert!(
        kept.contains("removed this run") && kept.contains("job/1"),
        "{kept}"
    );
    assert!(f.run_dir("job", 2).exists() && f.run_dir("job", 3).exists());
    let refused = f.labbook(&["rm", "job/2", "--yes"]).error();
    assert!(refused.contains("may still be running"), "{refused}");
}

/// `text` with each run of spaces made one.
fn squash(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if !(c == ' ' && out.ends_with(' ')) {
            out.push(c);
        }
    }
    out
}

fn png_pixels(path: &Path) -> (u32, u32, Vec<[u8; 3]>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buffer = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut buffer).unwrap();
    assert_eq!(frame.color_type, png::ColorType::Rgb);
    let pixels = buffer[..frame.buffer_size()]
        .chunks(3)
        .map(|p| [p[0], p[1], p[2]])
        .collect();
    (frame.width, frame.height, pixels)
}

/// Pixels of strong colour (lines, heat map cells), not white, grey or black text.
fn coloured(pixels: &[[u8; 3]], width: u32, area: (u32, u32, u32, u32)) -> usize {
    let (x0, y0, x1, y1) = area;
    (y0..y1)
        .flat_map(|y| (x0..x1).map(move |x| (x, y)))
        .filter(|&(x, y)| {
            let [r, g, b] = pixels[(y * width + x) as usize];
            let (hi, lo) = (r.max(g).max(b), r.min(g).min(b));
            hi - lo > 60
        })
        .count()
}

#[test]
fn plot_draws_a_png_with_lines_in_the_plot_area() {
    let f = sweep();
    let out = f.labbook(&[
        "plot",
        "mnist/1",
        "mnist/2",
        "mnist/3",
        "--metric",
        "train/loss",
        "--smooth",
        "0.6",
        "-o",
        "loss.png",
    ]);
    assert_eq!(out.ok(), "wrote loss.png (1000x600)\n");
    assert!(out.stderr().contains("skipped a torn last line"));
    let (width, height, pixels) = png_pixels(&f.dir.path().join("loss.png"));
    assert_eq!((width, height), (1000, 600));
    assert_eq!(pixels[0], [255, 255, 255], "white background");
    let inside = coloured(&pixels, width, (120, 80, 960, 520));
    assert!(
        inside > 2000,
        "only {inside} coloured pixels in the plot area"
    );
    // The three runs have their own colours: blue, orange, green.
    for colour in [[31, 119, 180], [255, 127, 14], [44, 160, 44]] {
        assert!(pixels.contains(&colour), "no pixel of {colour:?}");
    }

    f.labbook(&[
        "plot",
        "mnist",
        "-m",
        "train/loss,val_acc",
        "--x",
        "time",
        "--size",
        "1200x500",
        "-o",
        "two.png",
    ])
    .ok();
    let (width, height, pixels) = png_pixels(&f.dir.path().join("two.png"));
    assert_eq!((width, height), (1200, 500));
    assert!(coloured(&pixels, width, (80, 60, 580, 420)) > 500);
    assert!(coloured(&pixels, width, (680, 60, 1180, 420)) > 500);
}

#[test]
fn plot_draws_histograms_as_heat_maps_and_writes_svg() {
    let f = sweep();
    let dir = f.run_dir("mnist", 1);
    let mut lines = String::new();
    for step in 0..20u64 {
        let spread = 0.1 + step as f64 * 0.05;
        let limits: Vec<f64> = (1..=16)
            .map(|i| -spread + 2.0 * spread * i as f64 / 16.0)
            .collect();
        let buckets: Vec<f64> = (0..16)
            .map(|i: i32| (64 - (2 * i - 15).pow(2) / 4) as f64)
            .collect();
        let summary = json!({"min": -spread, "max": spread, "num": buckets.iter().sum::<f64>(),
            "sum": 0.0, "sum_squares": 1.0, "bucket_limits": limits, "buckets": buckets});
        lines.push_str(&format!(
            "{{\"step\":{},\"value\":{summary},\"time\":{}}}\n",
            step * 10,
            T0 + step as f64
        ));
    }
    std::fs::write(dir.join("histograms/weights.jsonl"), lines).unwrap();
    f.labbook(&["plot", "mnist/1", "-m", "weights", "-o", "weights.png"])
        .ok();
    let (width, height, pixels) = png_pixels(&f.dir.path().join("weights.png"));
    assert_eq!((width, height), (1000, 600));
    assert!(
        coloured(&pixels, width, (120, 80, 960, 520)) > 50_000,
        "a filled heat map"
    );

    let out = f.labbook(&[
        "plot",
        "mnist/1",
        "mnist/2",
        "-m",
        "val_acc,weights",
        "-o",
        "mixed.svg",
    ]);
    assert_eq!(out.ok(), "wrote mixed.svg (1600x500)\n");
    assert!(out
        .stderr()
        .contains("mnist/2 has no metric or histogram `weights`"));
    let svg = std::fs::read_to_string(f.dir.path().join("mixed.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("<polyline") && svg.contains("<rect"));
    assert!(svg.contains("weights — mnist/1") && svg.contains(">\nmnist/2\n<"));
}

#[test]
fn export_writes_long_csv_and_json_lines() {
    let f = sweep();
    let out = f.labbook(&["export", "mnist/1", "probe", "--format", "csv"]);
    let csv = out.ok();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("run,metric,step,value,time"));
    assert_eq!(csv.lines().count(), 1 + 31 + 4 + 3);
    assert!(
        csv.contains("\nmnist/1,val_acc,200,0.84,1732374110.0\n"),
        "{csv}"
    );
    assert!(
        csv.ends_with("probe/1,loss,99,0.125,1732374059.5\n"),
        "{csv}"
    );

    let out = f.labbook(&[
        "export",
        "mnist/2",
        "--format",
        "jsonl",
        "-m",
        "train/loss",
        "-o",
        "out.jsonl",
    ]);
    assert_eq!(out.ok(), "");
    assert!(out.stderr().contains("skipped a torn last line"));
    let text = std::fs::read_to_string(f.dir.path().join("out.jsonl")).unwrap();
    let points: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(points.len(), 31);
    assert_eq!(
        points[1],
        json!({"run": "mnist/2", "metric": "train/loss", "step": 10, "value": 2.5 / 1.1 + 0.01, "time": T0 + 8000.0 + 15.0})
    );
    let missing = f.labbook(&["export", "mnist/2", "-m", "nope"]).error();
    assert_eq!(missing, "error: no run among mnist/2 has a metric `nope`");
}

#[test]
fn watch_follows_a_live_run_until_it_ends() {
    let f = sweep();
    let done = squash(&f.labbook(&["watch", "mnist/1"]).ok());
    assert!(
        done.starts_with("mnist/1 COMPLETE 1h 01m (gpu-01, pid 4242)\n"),
        "{done}"
    );
    assert!(done.contains("\nval_acc 300 0.88412 2 steps/s\n"), "{done}");
    assert!(done.ends_with("mnist/1 ended: COMPLETE\n"), "{done}");

    let here = fixture::this_host();
    let live = f.run(RunSpec::new("live", 1, "RUNNING").host(&here, std::process::id()));
    let loss = f.metric(&live, "loss", &[(0, 1.0), (1, 0.9)]);
    let once = squash(&f.labbook(&["watch", "live", "--once"]).ok());
    assert!(once.contains("\nloss 1 0.9 2 steps/s\n"), "{once}");
    assert!(once.contains("\nlast point "), "{once}");

    let child = std::process::Command::new(env!("CARGO_BIN_EXE_labbook"))
        .args(["watch", "live/1", "--interval", "0.1"])
        .current_dir(f.dir.path())
        .env("LABBOOK_DIR", "runs")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(400));
    let mut text = std::fs::read_to_string(&loss).unwrap();
    text.push_str(&format!(
        "{{\"step\":2,\"value\":0.75,\"time\":{}}}\n",
        T0 + 4012.0
    ));
    std::fs::write(&loss, text).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(400));
    let info_path = live.join("metadata/info.json");
    let mut info: Value =
        serde_json::from_str(&std::fs::read_to_string(&info_path).unwrap()).unwrap();
    info["status"] = json!("COMPLETE");
    info["duration_s"] = json!(12.0);
    fixture::write_json(&info_path, &info);
    let output = child.wait_with_output().unwrap();
    let shown = squash(&String::from_utf8(output.stdout).unwrap());
    assert!(shown.contains("\nloss 1 0.9 "), "{shown}");
    assert!(shown.contains("\nloss 2 0.75 "), "{shown}");
    assert!(shown.ends_with("live/1 ended: COMPLETE\n"), "{shown}");
}

#[test]
fn gc_and_rm_ask_first_unless_told_yes() {
    let f = sweep();
    let asked = f
        .labbook_with_input(&["gc", "--keep-last", "1"], "n\n")
        .ok();
    assert!(
        asked.contains("mnist/1") && asked.contains("mnist/2") && !asked.contains("mnist/3"),
        "{asked}"
    );
    assert!(
        asked.contains("Remove these 2 runs (") && asked.ends_with("nothing removed\n"),
        "{asked}"
    );
    assert!(f.run_dir("mnist", 1).exists());

    let removed = f
        .labbook_with_input(&["gc", "mnist", "--keep-last", "1"], "y\n")
        .ok();
    assert!(removed.contains("? [y/N] \nremoved 2 runs ("), "{removed}");
    assert!(!f.run_dir("mnist", 1).exists() && !f.run_dir("mnist", 2).exists());
    assert!(f.run_dir("mnist", 3).exists() && f.run_dir("probe", 1).exists());
    let nothing = f.labbook(&["gc", "--keep-last", "1"]).ok();
    assert!(nothing.starts_with("nothing to remove"), "{nothing}");

    let path = f.run_dir("probe", 1);
    let gone = f.labbook(&["rm", path.to_str().unwrap(), "--yes"]).ok();
    assert!(
        gone.contains("probe/1") && gone.contains("removed this run ("),
        "{gone}"
    );
    assert!(!path.exists());
}

#[test]
fn run_arguments_are_ids_experiments_or_paths() {
    let f = sweep();
    let latest = f.labbook(&["show", "mnist"]).ok();
    assert!(latest.starts_with("run        mnist/3\n"), "{latest}");
    let by_path = f.labbook(&["show", "runs/mnist/2/"]).ok();
    assert!(by_path.starts_with("run        mnist/2\n"), "{by_path}");
    let outside = tempfile::tempdir().unwrap();
    let copy = outside.path().join("7");
    std::fs::create_dir_all(copy.join("metadata")).unwrap();
    std::fs::copy(
        f.run_dir("probe", 1).join("metadata/info.json"),
        copy.join("metadata/info.json"),
    )
    .unwrap();
    let elsewhere = f.labbook(&["show", copy.to_str().unwrap()]).ok();
    assert!(
        elsewhere.contains(&format!("run        {}\n", copy.display())),
        "{elsewhere}"
    );
}

#[test]
fn every_error_is_one_sentence() {
    let f = sweep();
    assert_eq!(
        f.labbook(&["show", "cifar"]).error(),
        "error: there is no run or experiment `cifar` in runs (its experiments are mnist, probe)"
    );
    assert_eq!(
        f.labbook(&["show", "mnist/9"]).error(),
        "error: experiment `mnist` has no run 9 in runs"
    );
    assert_eq!(
        f.labbook(&["show", "../../etc"]).error(),
        "error: there is no run or experiment `../../etc` in runs (its experiments are mnist, probe)"
    );
    assert_eq!(
        f.labbook(&["plot", "mnist/1", "-m", "nope", "-o", "x.png"])
            .error(),
        "error: no metric or histogram `nope` in mnist/1 (they have train/loss, val_acc)"
    );
    assert_eq!(
        f.labbook(&["plot", "mnist/1", "-m", "val_acc", "-o", "x.jpg"])
            .error(),
        "error: cannot tell which image format x.jpg should be: name it .png or .svg"
    );
    let corrupt = f.run_dir("mnist", 1).join("metrics/val_acc.jsonl");
    let text = std::fs::read_to_string(&corrupt)
        .unwrap()
        .replacen("\"value\"", "\"valu", 1);
    std::fs::write(&corrupt, text).unwrap();
    for command in [
        &["show", "mnist/1"][..],
        &["export", "mnist/1"],
        &["plot", "mnist/1", "-m", "val_acc", "-o", "x.png"],
    ] {
        let error = f.labbook(command).error();
        assert!(
            error.starts_with("error: cannot read metric `val_acc` of mnist/1: runs/mnist/1/metrics/val_acc.jsonl:1: "),
            "{error}"
        );
    }
    let empty = Fixture::new();
    std::fs::remove_dir(empty.root()).unwrap();
    assert_eq!(
        empty.labbook(&["ls"]).error(),
        "error: there is no run store at runs (set LABBOOK_DIR or pass --dir)"
    );
}

/// `labbook sync` says what it lacks before it reaches for a network: a server, a run.
#[cfg(feature = "mlflow")]
#[test]
fn sync_names_what_it_lacks_in_one_sentence() {
    let f = sweep();
    let sync = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_labbook"))
            .arg("sync")
            .args(args)
            .arg("--dir")
            .arg(f.root())
            .env_remove("MLFLOW_TRACKING_URI")
            .output()
            .unwrap();
        fixture::Outcome(out).error()
    };
    assert_eq!(
        sync(&["mnist/1"]),
        "error: no MLflow server: pass --tracking-uri or set MLFLOW_TRACKING_URI"
    );
    assert_eq!(
        sync(&["mnist/1", "--tracking-uri", "ftp://mlflow.example.org"]),
        "error: invalid MLflow setting MLFLOW_TRACKING_URI: ftp://mlflow.example.org is not an \
         http(s) server; labbook talks to tracking servers over REST"
    );
    let unknown = sync(&["mnist/9", "--tracking-uri", "http://127.0.0.1:9"]);
    assert!(
        unknown.starts_with("error: experiment `mnist` has no run 9 in "),
        "{unknown}"
    );
}

mod recorded {
    //! A store written by a real `#[experiment]` run, read back by the command.

    use labbook::prelude::*;

    #[derive(Serialize)]
    struct Hp {
        lr: f64,
        steps: u32,
    }

    #[experiment(name = "recorded")]
    fn train(#[config] hp: &Hp) {
        for i in 0..hp.steps {
            #[log(metric, every = 10)]
            let loss = 1.0 / (1.0 + i as f64 * hp.lr);
            #[log(histogram, every = 50, name = "spread")]
            &[i as f64, 2.0 * i as f64, 3.0];
        }
        #[log(param)]
        let seed = 7u32;
    }

    #[test]
    fn the_command_reads_what_an_experiment_wrote() {
        let f = super::Fixture::new();
        std::env::set_var("LABBOOK_DIR", f.root());
        std::env::set_var("LABBOOK_CONSOLE", "off");
        train(&Hp {
            lr: 0.1,
            steps: 100,
        });
        train(&Hp {
            lr: 0.2,
            steps: 100,
        });
        let ls = f.labbook(&["ls"]).ok();
        assert!(
            ls.contains("recorded/1  COMPLETE") && ls.contains("recorded/2  COMPLETE"),
            "{ls}"
        );
        let header: Vec<&str> = ls.lines().next().unwrap().split_whitespace().collect();
        assert_eq!(header[header.len() - 2..], ["lr", "loss"], "{ls}");
        let show = f.labbook(&["show", "recorded"]).ok();
        assert!(
            super::squash(&show).contains("\n loss 10 0–90 0.052632 0.052632 1\n"),
            "{show}"
        );
        assert!(show.contains("\n  seed  7\n"), "{show}");
        assert!(show.contains("\nhistograms\n"), "{show}");
        f.labbook(&[
            "plot",
            "recorded/1",
            "recorded/2",
            "-m",
            "loss",
            "-m",
            "spread",
            "-o",
            "p.png",
        ])
        .ok();
    }
}
