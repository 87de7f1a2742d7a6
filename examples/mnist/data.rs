//! The data set: the four MNIST IDX files from a directory, downloaded when missing, or a
//! generated stand-in when they cannot be had.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use crate::{download, idx, synthetic};

/// The four files as torchvision names them, with the MD5 of their `.gz` form.
pub const FILES: [(&str, &str); 4] = [
    (
        "train-images-idx3-ubyte",
        "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    ),
    (
        "train-labels-idx1-ubyte",
        "d53e105ee54ea40749a09fcbcd1e9432",
    ),
    ("t10k-images-idx3-ubyte", "9fb629c4189551a2d022fa330f9573f3"),
    ("t10k-labels-idx1-ubyte", "ec29112dd5afa0611ce80d1b7f02629c"),
];

/// Images (`len × 28 × 28` bytes, row-major) and their labels.
#[derive(Debug)]
pub struct Split {
    pub images: Vec<u8>,
    pub labels: Vec<u8>,
}

impl Split {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn image(&self, index: usize) -> &[u8] {
        &self.images[index * idx::PIXELS..(index + 1) * idx::PIXELS]
    }

    /// The images at `indices`, scaled to [0, 1] and normalised by the pixel mean and
    /// standard deviation of MNIST's training set: `len × 784` values.
    pub fn normalised(&self, indices: &[usize]) -> Vec<f32> {
        const MEAN: f32 = 0.1307;
        const STD: f32 = 0.3081;
        let mut data = Vec::with_capacity(indices.len() * idx::PIXELS);
        for &i in indices {
            data.extend(
                self.image(i)
                    .iter()
                    .map(|&p| (f32::from(p) / 255.0 - MEAN) / STD),
            );
        }
        data
    }

    /// Keeps the first `n` samples.
    pub fn truncate(&mut self, n: usize) {
        self.labels.truncate(n);
        self.images.truncate(n * idx::PIXELS);
    }
}

/// Where the samples come from; recorded as the run's `data` param.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Mnist,
    Synthetic,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Mnist => "mnist",
            Source::Synthetic => "synthetic",
        }
    }
}

#[derive(Debug)]
pub struct Dataset {
    pub train: Split,
    pub test: Split,
    pub source: Source,
}

/// What `load` needs to know.
#[derive(Debug)]
pub struct Request<'a> {
    pub dir: &'a Path,
    /// Download from this base URL instead of the public mirrors.
    pub mirror: Option<&'a str>,
    /// Fail instead of falling back to the generated stand-in.
    pub require_data: bool,
    /// How many training samples the stand-in needs, and its seed.
    pub train_len: usize,
    pub seed: u64,
}

const BANNER: &str = "\
==========================================================================
  SYNTHETIC DATA: digits drawn from a bitmap font with noise, NOT MNIST.
  Accuracy figures of this run say nothing about MNIST. Put the four IDX
  files in --data-dir, or pass --require-data to refuse this fallback.
==========================================================================";

/// Reads MNIST from `request.dir`, downloading the files that are missing first.
pub fn load(request: &Request<'_>) -> Result<Dataset> {
    let dir = request.dir;
    let missing: Vec<_> = FILES
        .iter()
        .filter(|(name, _)| locate(dir, name).is_none())
        .collect();
    if !missing.is_empty() {
        let mirrors: Vec<&str> = match request.mirror {
            Some(mirror) => vec![mirror],
            None => download::MIRRORS.to_vec(),
        };
        if let Err(reason) = download::fetch(dir, &missing, &mirrors) {
            let sentence = format!(
                "MNIST is not in {} and could not be downloaded ({reason:#})",
                dir.display()
            );
            if request.require_data {
                bail!("{sentence}");
            }
            eprintln!("{sentence}; training on a generated stand-in data set instead.");
            eprintln!("{BANNER}");
            return Ok(synthetic::dataset(request.train_len, request.seed));
        }
    }
    let split = |images: &str, labels: &str| -> Result<Split> {
        let images_path = locate(dir, images).unwrap_or_else(|| dir.join(images));
        let labels_path = locate(dir, labels).unwrap_or_else(|| dir.join(labels));
        let (images, labels) = idx::parse_pair(
            &idx::read(&images_path)?,
            &images_path,
            &idx::read(&labels_path)?,
            &labels_path,
        )?;
        Ok(Split { images, labels })
    };
    Ok(Dataset {
        train: split(FILES[0].0, FILES[1].0)?,
        test: split(FILES[2].0, FILES[3].0)?,
        source: Source::Mnist,
    })
}

/// `dir/name`, or else `dir/name.gz`, whichever exists.
fn locate(dir: &Path, name: &str) -> Option<PathBuf> {
    [dir.join(name), dir.join(format!("{name}.gz"))]
        .into_iter()
        .find(|path| path.is_file())
}
