//! The IDX format of the MNIST files: a big-endian header (a magic number whose last byte
//! is the number of dimensions, then one `u32` per dimension) followed by the raw bytes.
//! Files may be gzip-compressed; every error names the file.

use std::fs;
use std::io::Read;
use std::path::Path;

use anyhow::{bail, Context, Result};
use flate2::read::GzDecoder;

pub const SIDE: usize = 28;
pub const PIXELS: usize = SIDE * SIDE;
const IMAGES_MAGIC: u32 = 0x0000_0803;
const LABELS_MAGIC: u32 = 0x0000_0801;

/// Reads a file, decompressing it when it starts with the gzip magic bytes.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    let bytes = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(bytes);
    }
    let mut out = Vec::new();
    GzDecoder::new(&bytes[..])
        .read_to_end(&mut out)
        .with_context(|| format!("{} is not a valid gzip file", path.display()))?;
    Ok(out)
}

/// Parses a pair of image and label files into (pixels, labels): `n × 28 × 28` bytes and
/// `n` labels in 0–9.
pub fn parse_pair(
    images: &[u8],
    images_path: &Path,
    labels: &[u8],
    labels_path: &Path,
) -> Result<(Vec<u8>, Vec<u8>)> {
    let (dims, pixels) = body(images, IMAGES_MAGIC, "image", images_path)?;
    if dims[1..] != [SIDE, SIDE] {
        bail!(
            "{} holds {}x{} images, but MNIST images are 28x28",
            images_path.display(),
            dims[1],
            dims[2]
        );
    }
    let (_, labels) = body(labels, LABELS_MAGIC, "label", labels_path)?;
    if let Some(i) = labels.iter().position(|&l| l > 9) {
        bail!(
            "{} holds label {} at index {i}, but MNIST labels are 0 to 9",
            labels_path.display(),
            labels[i]
        );
    }
    if dims[0] != labels.len() {
        bail!(
            "{} holds {} images but {} holds {} labels",
            images_path.display(),
            dims[0],
            labels_path.display(),
            labels.len()
        );
    }
    Ok((pixels.to_vec(), labels.to_vec()))
}

/// Checks the header and the length, and returns the dimensions and the data.
fn body<'a>(
    bytes: &'a [u8],
    magic: u32,
    what: &str,
    path: &Path,
) -> Result<(Vec<usize>, &'a [u8])> {
    let name = path.display();
    let Some(found) = be_u32(bytes, 0) else {
        bail!("{name} is truncated: it is too short to hold an IDX header");
    };
    if found != magic {
        bail!("{name} is not an MNIST {what} file: its magic number is {found:#010x}, expected {magic:#010x}");
    }
    let rank = (magic & 0xff) as usize;
    let dims: Option<Vec<usize>> = (0..rank)
        .map(|d| be_u32(bytes, 4 + 4 * d).map(|v| v as usize))
        .collect();
    let Some(dims) = dims else {
        bail!("{name} is truncated: it ends inside its IDX header");
    };
    let data = &bytes[4 + 4 * rank..];
    let expected = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    match expected {
        Some(len) if len == data.len() => Ok((dims, data)),
        Some(len) if len > data.len() => bail!(
            "{name} is truncated: its header announces {} {what}s ({len} bytes) but only {} bytes follow",
            dims[0],
            data.len()
        ),
        Some(len) => bail!(
            "{name} is longer than its header says: {} bytes follow where {len} were announced",
            data.len()
        ),
        None => bail!("{name} has an IDX header with impossible dimensions {dims:?}"),
    }
}

fn be_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let word = bytes.get(at..at + 4)?;
    Some(u32::from_be_bytes([word[0], word[1], word[2], word[3]]))
}

/// Encodes images and their labels as the bytes of an image file and a label file.
#[cfg(test)]
pub fn encode(pixels: &[u8], labels: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut images = IMAGES_MAGIC.to_be_bytes().to_vec();
    for dim in [labels.len(), SIDE, SIDE] {
        images.extend((dim as u32).to_be_bytes());
    }
    images.extend(pixels);
    let mut label_file = LABELS_MAGIC.to_be_bytes().to_vec();
    label_file.extend((labels.len() as u32).to_be_bytes());
    label_file.extend(labels);
    (images, label_file)
}

#[cfg(test)]
#[path = "idx_tests.rs"]
mod tests;
