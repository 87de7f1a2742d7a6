//! What both MNIST examples (`mnist` and `mnist_ddp`) share around training: the flags, the
//! data set they name, and the report of a finished run.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use labbook::prelude::*;

use crate::data::{self, Dataset};
use crate::synthetic;

/// How to train, and on what.
#[derive(Debug, Args, Serialize, Deserialize)]
pub struct Training {
    /// Passes over the training set.
    #[arg(long, default_value_t = 5, value_parser = positive)]
    pub epochs: usize,
    /// Samples per optimiser step.
    #[arg(long, default_value_t = 64, value_parser = positive)]
    pub batch_size: usize,
    /// Adam's learning rate at the start, annealed to zero along a cosine.
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Seeds the weights, the shuffling and the stand-in data.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Where the IDX files are, raw or .gz [default: $LABBOOK_DATA/mnist, else data/mnist].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Train on the first N training samples only.
    #[arg(long, value_name = "N", value_parser = positive)]
    pub limit_train: Option<usize>,
    /// Fail when MNIST can be neither read nor downloaded, instead of using the stand-in.
    #[arg(long)]
    pub require_data: bool,
    /// Download from this base URL instead of the public mirrors.
    #[arg(long, value_name = "URL", env = "MNIST_MIRROR")]
    #[serde(skip)]
    pub mirror: Option<String>,
}

fn positive(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

impl Training {
    /// Refuses what the flags' parsers refuse, for values set through `--set` or
    /// `LABBOOK_SET`, which only the config's types check (`mnist` loads its config so).
    #[allow(dead_code)]
    pub fn check(&self) -> Result<()> {
        for (key, value) in [
            ("epochs", Some(self.epochs)),
            ("batch_size", Some(self.batch_size)),
            ("limit_train", self.limit_train),
        ] {
            anyhow::ensure!(
                value != Some(0),
                "config key `{key}` must be at least 1, not 0"
            );
        }
        Ok(())
    }

    /// Reads MNIST from `--data-dir` (recorded in the config), downloading what is missing,
    /// or falls back to the stand-in; keeps `--limit-train` samples.
    pub fn load(&mut self) -> Result<Dataset> {
        let dir = self.data_dir.get_or_insert_with(default_data_dir).clone();
        let data = data::load(&data::Request {
            dir: &dir,
            mirror: self.mirror.as_deref(),
            require_data: self.require_data,
            train_len: self.train_len(),
            seed: self.seed,
        })?;
        Ok(self.limited(data))
    }

    /// The generated stand-in `load` falls back to, without trying the files first
    /// (`mnist_ddp`'s ranks but 0 take it when rank 0 had to).
    #[allow(dead_code)]
    pub fn stand_in(&self) -> Dataset {
        self.limited(synthetic::dataset(self.train_len(), self.seed))
    }

    fn train_len(&self) -> usize {
        self.limit_train.unwrap_or(60_000)
    }

    fn limited(&self, mut data: Dataset) -> Dataset {
        if let Some(n) = self.limit_train {
            data.train.truncate(n);
        }
        data
    }
}

/// `$LABBOOK_DATA/mnist`, or `data/mnist`.
fn default_data_dir() -> PathBuf {
    std::env::var_os("LABBOOK_DATA")
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from("data"), PathBuf::from)
        .join("mnist")
}

/// Keeps denormal floats from slowing the CPU down; with `warn`, says when this is a (slow)
/// debug build.
pub fn prepare_cpu(warn: bool) {
    if warn && cfg!(debug_assertions) {
        eprintln!(
            "note: a debug build trains hundreds of times slower; add `--release` to `cargo run`."
        );
    }
    dfdx::flush_denormals_to_zero();
}

/// What a finished run reports back to `main`.
#[derive(Debug)]
pub struct Report {
    /// The final test accuracy, in [0, 1].
    pub accuracy: f32,
    pub run_dir: Option<PathBuf>,
}

impl Report {
    /// The lines a user (and the tests) read at the end.
    pub fn print(&self) {
        println!("final test accuracy {:.2}%", 100.0 * self.accuracy);
        if let Some(dir) = &self.run_dir {
            println!("run directory: {}", dir.display());
        }
    }
}
