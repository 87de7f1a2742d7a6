//! Runs the `mnist_burn` example on tiny IDX files written here, then reads the run back with
//! labbook's reader (feature `burn`).

mod support;

use labbook::store::read::{RunDir, StreamKind};
use support::{run_dir, write_mnist};

#[test]
fn trains_with_burn_and_records_the_mnist_names() {
    let (data, runs) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_mnist(data.path());
    let output = support::command(support::example("mnist_burn"), runs.path())
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
    assert!(dir.starts_with(runs.path().join("mnist_burn")));
    let run = RunDir::at(&dir);
    let steps =
        |name: &str| -> Vec<u64> { run.metric(name).unwrap().iter().map(|p| p.step).collect() };
    assert_eq!(steps("train_loss"), [0, 10, 20, 30], "2 epochs of 16 steps");
    let first_loss = run.metric("train_loss").unwrap()[0].value;
    assert!(first_loss > 0.0 && first_loss.is_finite(), "{first_loss}");
    assert_eq!(steps("test_loss"), [16, 32]);
    assert_eq!(steps("test_acc"), [16, 32]);
    let accuracy: Vec<f64> = run
        .metric("test_acc")
        .unwrap()
        .iter()
        .map(|p| p.value)
        .collect();
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
        .stream(StreamKind::Histogram, "conv1/weight")
        .histograms()
        .unwrap();
    let summaries: Vec<_> = histograms
        .points
        .iter()
        .map(|(s, h, _)| (*s, h.num))
        .collect();
    assert_eq!(
        summaries,
        [(0, 16.0 * 9.0), (1, 16.0 * 9.0)],
        "every weight of the first convolution"
    );
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
    assert_eq!(run.info().unwrap().status, labbook::Status::Complete);
}

#[test]
fn resume_restores_the_model_and_adam_and_continues_every_stream() {
    let (data, runs) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_mnist(data.path());
    let train = |extra: &[&str]| {
        let output = support::command(support::example("mnist_burn"), runs.path())
            .arg("--data-dir")
            .arg(data.path())
            .args(["--limit-train", "256", "--batch-size", "16"])
            .args(extra)
            .output()
            .expect("the example starts");
        run_dir(&output)
    };
    let first = train(&["--epochs", "2"]);
    let id = first.file_name().unwrap().to_string_lossy().into_owned();
    let checkpoint = |epoch: u64| first.join(format!("checkpoints/training/step-{epoch:010}.tar"));
    assert!(checkpoint(1).is_file(), "a checkpoint per epoch");
    let resumed = train(&["--epochs", "4", "--resume", &id]);
    assert_eq!(resumed, first, "the same run directory");

    let run = RunDir::at(&first);
    let steps =
        |name: &str| -> Vec<u64> { run.metric(name).unwrap().iter().map(|p| p.step).collect() };
    assert_eq!(
        steps("train_loss"),
        (0..7).map(|i| i * 10).collect::<Vec<_>>(),
        "4 × 16 steps, each logged once"
    );
    assert_eq!(steps("test_acc"), [16, 32, 48, 64]);
    let epochs: Vec<f64> = run
        .metric("epoch")
        .unwrap()
        .iter()
        .map(|p| p.value)
        .collect();
    assert_eq!(
        epochs,
        [0.0, 1.0, 2.0, 3.0],
        "the resumed run starts at epoch 2"
    );
    let info = run.info().unwrap();
    assert_eq!((info.status, info.resumes), (labbook::Status::Complete, 1));
    let kept: Vec<bool> = (0..4).map(|epoch| checkpoint(epoch).is_file()).collect();
    assert_eq!(kept, [false, true, true, true], "keep = 3");

    // Restored, the model goes on from its weights after epoch 1: its test loss keeps falling
    // (a fresh model one epoch in would test near the first run's epoch-0 loss, above epoch 1's).
    let losses: Vec<f64> = run
        .metric("test_loss")
        .unwrap()
        .iter()
        .map(|p| p.value)
        .collect();
    assert!(losses[2] < losses[1], "{losses:?}");
}
