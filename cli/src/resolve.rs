//! The store as `labbook sync` takes it: the runs it names, by their directories. A thin view
//! of [`labbook::store::read::Store`] through the command's own lookups.

use std::path::PathBuf;

use anyhow::Result;

use labbook::store::read;

/// The run store.
#[derive(Debug)]
pub(crate) struct Store(pub read::Store);

/// A run directory.
#[derive(Debug)]
pub(crate) struct RunDir {
    pub path: PathBuf,
}

impl Store {
    /// Every run in the store (or in `experiment`), by experiment and then id.
    pub fn runs(&self, experiment: Option<&str>) -> Result<Vec<RunDir>> {
        let runs = super::store::runs(&self.0, experiment)?;
        Ok(runs.iter().map(found).collect())
    }

    /// The run a `RUN` argument names.
    pub fn resolve(&self, arg: &str) -> Result<RunDir> {
        super::store::resolve(&self.0, arg).map(|run| found(&run))
    }
}

fn found(run: &read::RunDir) -> RunDir {
    RunDir {
        path: run.path().to_owned(),
    }
}
