use std::io::Write;
use std::path::Path;

use flate2::write::GzEncoder;
use flate2::Compression;

use super::*;

const IMAGES: &str = "data/train-images-idx3-ubyte";
const LABELS: &str = "data/train-labels-idx1-ubyte";

fn sample(n: usize) -> (Vec<u8>, Vec<u8>) {
    let pixels: Vec<u8> = (0..n * PIXELS).map(|i| (i % 251) as u8).collect();
    let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
    encode(&pixels, &labels)
}

fn parse(images: &[u8], labels: &[u8]) -> Result<(Vec<u8>, Vec<u8>)> {
    parse_pair(images, Path::new(IMAGES), labels, Path::new(LABELS))
}

fn error(images: &[u8], labels: &[u8]) -> String {
    format!(
        "{:#}",
        parse(images, labels).expect_err("the files are malformed")
    )
}

#[test]
fn parses_well_formed_files() {
    let (images, labels) = sample(3);
    let (pixels, labels) = parse(&images, &labels).unwrap();
    assert_eq!(pixels.len(), 3 * PIXELS);
    assert_eq!(labels, [0, 1, 2]);
}

#[test]
fn reads_gzip_and_raw_files_alike() {
    let dir = tempfile::tempdir().unwrap();
    let (images, _) = sample(2);
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    gz.write_all(&images).unwrap();
    std::fs::write(dir.path().join("a.gz"), gz.finish().unwrap()).unwrap();
    std::fs::write(dir.path().join("a"), &images).unwrap();
    assert_eq!(read(&dir.path().join("a.gz")).unwrap(), images);
    assert_eq!(read(&dir.path().join("a")).unwrap(), images);
}

#[test]
fn wrong_magic_names_the_file() {
    let (images, labels) = sample(2);
    let message = error(&labels, &labels);
    assert!(message.contains(IMAGES), "{message}");
    assert!(message.contains("is not an MNIST image file"), "{message}");
    assert!(
        message.contains("0x00000801, expected 0x00000803"),
        "{message}"
    );
    let message = error(&images, &images);
    assert!(message.contains(LABELS), "{message}");
    assert!(message.contains("is not an MNIST label file"), "{message}");
}

#[test]
fn truncated_files_are_reported() {
    let (images, labels) = sample(2);
    let message = error(&images[..3], &labels);
    assert!(
        message.contains("truncated") && message.contains(IMAGES),
        "{message}"
    );
    let message = error(&images[..10], &labels);
    assert!(message.contains("ends inside its IDX header"), "{message}");
    let message = error(&images[..images.len() - 1], &labels);
    assert!(message.contains("announces 2 images"), "{message}");
    let message = error(&images, &labels[..labels.len() - 1]);
    assert!(
        message.contains("truncated") && message.contains(LABELS),
        "{message}"
    );
}

#[test]
fn extra_bytes_are_reported() {
    let (mut images, labels) = sample(2);
    images.push(0);
    assert!(error(&images, &labels).contains("longer than its header says"));
}

#[test]
fn count_mismatch_names_both_files() {
    let (images, _) = sample(3);
    let (_, labels) = sample(2);
    let message = error(&images, &labels);
    assert_eq!(
        message,
        format!("{IMAGES} holds 3 images but {LABELS} holds 2 labels")
    );
}

#[test]
fn labels_outside_0_to_9_are_refused() {
    let (images, mut labels) = sample(2);
    *labels.last_mut().unwrap() = 10;
    assert!(error(&images, &labels).contains("holds label 10 at index 1"));
}

#[test]
fn a_corrupt_gzip_file_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t10k-images-idx3-ubyte.gz");
    std::fs::write(&path, [0x1f, 0x8b, 8, 0, 1, 2, 3]).unwrap();
    let message = format!("{:#}", read(&path).unwrap_err());
    assert!(message.contains("t10k-images-idx3-ubyte.gz is not a valid gzip file"));
}
