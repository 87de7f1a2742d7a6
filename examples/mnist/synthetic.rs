//! A stand-in for MNIST when the real files cannot be had: the digits of a 5×7 bitmap
//! font, stretched, slanted, shifted and dimmed at random, with speckle noise. A model
//! learns it, so every part of the example can run offline; it is no benchmark.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::data::{Dataset, Source, Split};
use crate::font;
use crate::idx::{PIXELS, SIDE};

/// Enough test samples to tell 99% from 98%.
const TEST_LEN: usize = 2_000;
/// Sub-samples per pixel side, for anti-aliased strokes.
const SUPERSAMPLE: usize = 3;

/// `train_len` training samples and 2 000 test samples.
pub fn dataset(train_len: usize, seed: u64) -> Dataset {
    Dataset {
        train: split(train_len, seed),
        test: split(TEST_LEN, seed ^ 0x7e57_5eed),
        source: Source::Synthetic,
    }
}

fn split(len: usize, seed: u64) -> Split {
    let mut rng = StdRng::seed_from_u64(seed);
    let labels: Vec<u8> = (0..len).map(|_| rng.gen_range(0..10)).collect();
    let mut images = vec![0; len * PIXELS];
    for (&label, image) in labels.iter().zip(images.chunks_exact_mut(PIXELS)) {
        draw(label, &mut rng, image);
    }
    Split { images, labels }
}

/// Draws `digit` into a 28×28 `image`.
fn draw(digit: u8, rng: &mut StdRng, image: &mut [u8]) {
    let (scale_x, scale_y) = (rng.gen_range(2.4..3.6), rng.gen_range(2.4..3.2));
    let slant: f32 = rng.gen_range(-0.3..0.3);
    let (width, height) = (font::WIDTH as f32 * scale_x, font::HEIGHT as f32 * scale_y);
    let left = rng.gen_range(3.0..(SIDE as f32 - 3.0 - width).max(3.1));
    let top = rng.gen_range(3.0..(SIDE as f32 - 3.0 - height).max(3.1));
    let brightness: f32 = rng.gen_range(0.7..1.0);
    let step = 1.0 / SUPERSAMPLE as f32;
    for (i, pixel) in image.iter_mut().enumerate() {
        let (x, y) = ((i % SIDE) as f32, (i / SIDE) as f32);
        let mut covered = 0;
        for sy in 0..SUPERSAMPLE {
            for sx in 0..SUPERSAMPLE {
                let py = y + (sy as f32 + 0.5) * step;
                let px = x + (sx as f32 + 0.5) * step - slant * (py - top - height / 2.0);
                let gx = ((px - left) / scale_x).floor() as i64;
                let gy = ((py - top) / scale_y).floor() as i64;
                covered += usize::from(font::ink(digit, gx, gy));
            }
        }
        let mut value = brightness * covered as f32 / (SUPERSAMPLE * SUPERSAMPLE) as f32;
        if rng.gen_bool(0.04) {
            value = (value + rng.gen_range(0.2..0.6)).min(1.0);
        }
        *pixel = (value * 255.0).round() as u8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_have_ink_and_labels_are_balanced() {
        let split = split(1000, 1);
        assert_eq!(split.images.len(), 1000 * PIXELS);
        for digit in 0..10 {
            let count = split.labels.iter().filter(|&&l| l == digit).count();
            assert!((60..140).contains(&count), "{digit}: {count}");
        }
        let ink = |i: usize| split.image(i).iter().filter(|&&p| p > 128).count();
        assert!((0..1000).all(|i| ink(i) > 20), "every image shows a digit");
    }

    #[test]
    fn the_same_seed_gives_the_same_data() {
        assert_eq!(split(10, 3).images, split(10, 3).images);
        assert_ne!(split(10, 3).images, split(10, 4).images);
    }
}
