//! candle tensors as metrics, histograms and images, and a `VarMap` as a checkpoint, read
//! back from the run directory with labbook's own reader (feature `candle`).

mod support;

use std::path::PathBuf;

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use labbook::prelude::*;
use labbook::store::read::{RunDir, StreamKind};
use support::store;

#[experiment(name = "candle-kinds")]
fn kinds() -> PathBuf {
    let dev = Device::Cpu;
    #[log(metric)]
    let loss = Tensor::new(0.25f32, &dev).unwrap();
    #[log(metric)]
    let acc = Tensor::new(&[0.75f64], &dev).unwrap();
    #[log(metric)]
    let count = Tensor::new(7u32, &dev).unwrap();
    #[log(metric)]
    let two = Tensor::new(&[1f32, 2.0], &dev).unwrap();
    #[log(histogram, name = "fc/weight")]
    Tensor::arange(0f32, 1000.0, &dev)
        .unwrap()
        .reshape((10, 100))
        .unwrap();
    // H×W floats: 0 → black, 1 → white, values outside [0, 1] clamped.
    #[log(image, name = "grey")]
    Tensor::new(&[[0f32, 1.0, 2.0], [0.5, -1.0, 0.0]], &dev).unwrap();
    // H×W×C bytes, as they are.
    #[log(image, name = "hwc")]
    Tensor::new(&[[[10u8, 20, 30], [40, 50, 60]]], &dev).unwrap();
    // C×H×W floats: a red and a green pixel.
    #[log(image, name = "chw")]
    Tensor::new(&[[[1f32, 0.0]], [[0.0, 1.0]], [[0.0, 0.0]]], &dev).unwrap();
    // An integer out of 0..=255 is not a pixel: no image, the run goes on.
    #[log(image, name = "too-bright")]
    Tensor::new(&[[300u32]], &dev).unwrap();
    run().dir().unwrap().to_owned()
}

/// The PNG of image `name` at step 0: width, height, channels, pixels.
fn png(dir: &std::path::Path, name: &str) -> (u32, u32, usize, Vec<u8>) {
    let bytes = std::fs::read(dir.join(format!("artifacts/images/{name}/0.png"))).unwrap();
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut buf).unwrap();
    buf.truncate(frame.buffer_size());
    let channels = frame.color_type.samples();
    (frame.width, frame.height, channels, buf)
}

#[test]
fn tensors_are_stored_as_each_kind() {
    store();
    let dir = kinds();
    let run = RunDir::at(&dir);
    let value = |name: &str| {
        let points = run.metric(name).unwrap();
        assert_eq!(points.len(), 1, "{name}");
        points[0].value
    };
    assert_eq!(value("loss"), 0.25);
    assert_eq!(value("acc"), 0.75);
    assert_eq!(value("count"), 7.0);
    assert!(value("two").is_nan(), "two elements are not one metric");

    let histograms = run
        .stream(StreamKind::Histogram, "fc/weight")
        .histograms()
        .unwrap()
        .points;
    let (step, summary, _) = &histograms[0];
    assert_eq!(
        (*step, summary.num, summary.min, summary.max, summary.sum),
        (0, 1000.0, 0.0, 999.0, 499_500.0)
    );

    assert_eq!(png(&dir, "grey"), (3, 2, 1, vec![0, 255, 255, 128, 0, 0]));
    assert_eq!(png(&dir, "hwc"), (2, 1, 3, vec![10, 20, 30, 40, 50, 60]));
    assert_eq!(png(&dir, "chw"), (2, 1, 3, vec![255, 0, 0, 0, 255, 0]));
    assert!(!dir.join("artifacts/images/too-bright").exists());
}

/// A small model's variables, freshly (randomly) initialised.
fn model(varmap: &VarMap) -> candle_nn::Linear {
    let vb = VarBuilder::from_varmap(varmap, DType::F32, &Device::Cpu);
    candle_nn::linear(4, 3, vb.pp("fc")).unwrap()
}

fn weights(layer: &candle_nn::Linear) -> Vec<u32> {
    let mut values = layer
        .weight()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    values.extend(layer.bias().unwrap().to_vec1::<f32>().unwrap());
    values.into_iter().map(f32::to_bits).collect()
}

/// Saves its model each epoch; resumed, loads the last one into a new `VarMap` first.
#[experiment(name = "candle-checkpoint", resume = resume)]
fn checkpointed(resume: Option<u64>) -> (Option<u64>, Vec<u32>, PathBuf) {
    let mut varmap = VarMap::new();
    let layer = model(&varmap);
    let restored = run().restore(&mut varmap).unwrap();
    if resume.is_none() {
        for epoch in 0..2u64 {
            #[log(checkpoint, step = epoch)]
            &varmap;
        }
    }
    (restored, weights(&layer), run().dir().unwrap().to_owned())
}

#[test]
fn a_varmap_checkpoint_restores_bit_exact() {
    store();
    let (restored, saved, dir) = checkpointed(None);
    assert_eq!(restored, None);
    let file = dir.join("checkpoints/varmap/last.safetensors");
    let tensors = candle_core::safetensors::load(&file, &Device::Cpu).unwrap();
    let mut names: Vec<_> = tensors.keys().cloned().collect();
    names.sort();
    assert_eq!(names, ["fc.bias", "fc.weight"]);

    let id: u64 = dir.file_name().unwrap().to_str().unwrap().parse().unwrap();
    let (restored, loaded, _) = checkpointed(Some(id));
    assert_eq!(restored, Some(1), "the last epoch's checkpoint");
    assert_eq!(loaded, saved, "every weight restored bit for bit");
}
