//! Histograms, images and artifacts as they land in the run directory.

mod support;

use std::path::PathBuf;

use labbook::histogram::Summary;
use labbook::prelude::*;
use support::{info, steps, store};

#[experiment]
fn rich(source: PathBuf) -> PathBuf {
    for epoch in 0..3u32 {
        let weights: Vec<f32> = (0..1000)
            .map(|i| (i as f32 / 1000.0) * (epoch + 1) as f32)
            .collect();
        #[log(histogram, name = "fc1/weight", step = epoch)]
        &weights;
        let pixels: Vec<u8> = (0..4 * 8 * 3)
            .map(|i| (i * 3 + epoch as usize) as u8)
            .collect();
        #[log(image, name = "samples", step = epoch)]
        Image::rgb(8, 4, pixels).unwrap();
    }
    #[log(artifact, name = "inputs")]
    &source;
    #[log(artifact, name = "missing")]
    "/definitely/not/here.txt";
    #[log(metric)]
    let after_the_error = 1;
    run().dir().unwrap().to_owned()
}

#[test]
fn histograms_images_and_artifacts_are_stored_where_readers_look() {
    store();
    let source = tempfile::tempdir().unwrap();
    std::fs::write(source.path().join("notes.txt"), "lr sweep").unwrap();
    std::fs::create_dir(source.path().join("nested")).unwrap();
    std::fs::write(source.path().join("nested/more.txt"), "more").unwrap();
    let dir = rich(source.path().to_owned());

    let lines = std::fs::read_to_string(dir.join("histograms/fc1/weight.jsonl")).unwrap();
    let summaries: Vec<(u64, Summary)> = lines
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            (
                v["step"].as_u64().unwrap(),
                serde_json::from_value(v["value"].clone()).unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summaries.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        [0, 1, 2]
    );
    let (_, last) = &summaries[2];
    assert_eq!(
        (last.num, last.min, last.buckets.iter().sum::<f64>()),
        (1000.0, 0.0, 1000.0)
    );
    assert!((last.max - 2.997).abs() < 1e-3, "{}", last.max);

    for step in 0..3u8 {
        let png = std::fs::read(dir.join(format!("artifacts/images/samples/{step}.png"))).unwrap();
        let mut reader = png::Decoder::new(std::io::Cursor::new(png))
            .read_info()
            .unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let frame = reader.next_frame(&mut buf).unwrap();
        assert_eq!((frame.width, frame.height, buf[0]), (8, 4, step));
    }

    let copied = dir
        .join("artifacts/inputs")
        .join(source.path().file_name().unwrap());
    assert_eq!(
        std::fs::read_to_string(copied.join("notes.txt")).unwrap(),
        "lr sweep"
    );
    assert_eq!(
        std::fs::read_to_string(copied.join("nested/more.txt")).unwrap(),
        "more"
    );
    assert!(
        source.path().join("notes.txt").exists(),
        "an artifact is copied, never moved"
    );
    assert!(!dir.join("artifacts/missing").exists());
    assert_eq!(
        steps(&dir, "after_the_error"),
        [0],
        "a missing artifact does not stop the run"
    );
    assert_eq!(info(&dir).status, labbook::Status::Complete);
}
