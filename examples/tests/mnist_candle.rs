//! Runs the `mnist_candle` example on tiny IDX files written here, then reads the run back
//! with labbook's reader, the checkpoint with candle's (feature `candle`).

mod support;

use labbook::store::read::{RunDir, StreamKind};
use support::{run_dir, write_mnist};

#[test]
fn trains_with_candle_and_records_the_mnist_names() {
    let (data, runs) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_mnist(data.path());
    let output = support::command(support::example("mnist_candle"), runs.path())
        .arg("--data-dir")
        .arg(data.path())
        .args([
            "--limit-train",
            "256",
            "--epochs",
            "2",
            "--batch-size",
            "16",
        ])
        .output()
        .expect("the example starts");
    let dir = run_dir(&output);
    assert!(dir.starts_with(runs.path().join("mnist_candle")));
    let run = RunDir::at(&dir);
    let steps =
        |name: &str| -> Vec<u64> { run.metric(name).unwrap().iter().map(|p| p.step).collect() };
    assert_eq!(steps("train_loss"), [0, 10, 20, 30], "2 epochs of 16 steps");
    let first_loss = run.metric("train_loss").unwrap()[0].value;
    assert!(first_loss > 0.0 && first_loss.is_finite(), "{first_loss}");
    assert_eq!(steps("test_loss"), [16, 32]);
    let accuracy: Vec<f64> = run
        .metric("test_acc")
        .unwrap()
        .iter()
        .map(|p| p.value)
        .collect();
    assert_eq!(steps("test_acc"), [16, 32]);
    assert!(
        accuracy.iter().all(|a| (0.0..=1.0).contains(a)),
        "{accuracy:?}"
    );
    let epochs: Vec<(u64, f64)> = run
        .metric("epoch")
        .unwrap()
        .iter()
        .map(|p| (p.step, p.value))
        .collect();
    assert_eq!(epochs, [(16, 0.0), (32, 1.0)]);

    let params = run.params().unwrap().unwrap();
    assert_eq!(
        (params["lr"].as_f64(), params["data"].as_str()),
        (Some(0.001), Some("mnist"))
    );
    let histograms = run
        .stream(StreamKind::Histogram, "fc1/weight")
        .histograms()
        .unwrap();
    let summaries: Vec<_> = histograms
        .points
        .iter()
        .map(|(s, h, _)| (*s, h.num))
        .collect();
    assert_eq!(summaries, [(0, 784.0 * 512.0), (1, 784.0 * 512.0)]);
    assert!(dir.join("artifacts/images/predictions/1.png").is_file());
    let texts = run
        .stream(StreamKind::Text, "summary")
        .texts()
        .unwrap()
        .points;
    assert!(
        texts[0].1.contains("after 2 epochs on 256 mnist"),
        "{}",
        texts[0].1
    );

    let checkpoint = dir.join("checkpoints/varmap/last.safetensors");
    let tensors = candle_core::safetensors::load(&checkpoint, &candle_core::Device::Cpu).unwrap();
    let mut names: Vec<_> = tensors.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "fc1.bias",
            "fc1.weight",
            "fc2.bias",
            "fc2.weight",
            "fc3.bias",
            "fc3.weight"
        ]
    );
    assert_eq!(tensors["fc1.weight"].dims(), [512, 784]);
    assert_eq!(run.info().unwrap().status, labbook::Status::Complete);
}
