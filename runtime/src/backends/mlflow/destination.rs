//! Where a run's files go on the server, found once per upload process: the artifact proxy
//! or the object store itself (see [`super::artifacts`], which uploads to it).

use std::sync::Arc;

use super::s3::Bucket;
use super::state::SyncState;

/// Where the files of one run go.
#[derive(Debug)]
pub(super) enum Destination {
    /// `<experiment>/<run>/artifacts` on the artifact proxy.
    Proxied(String),
    /// The run's folder in the object store.
    Direct(Bucket),
}

impl Destination {
    /// Where the files go for a server that does not proxy them and names `uri` as the run's
    /// artifact URI, or why they stay in the local run.
    pub(super) fn for_artifact_uri(uri: &str) -> Result<Destination, String> {
        if uri.starts_with("s3://") {
            Bucket::for_uri(uri).map(Destination::Direct)
        } else {
            Err(format!(
                "the MLflow server keeps artifacts at {uri}, which labbook cannot write to (start the server with --serve-artifacts, or with an s3:// artifact root)"
            ))
        }
    }
}

/// Why the run's files stay in the local run, as far as the upload's state knows: `None`
/// when they have somewhere to go, or when that is not known yet.
pub(super) fn why_files_stay(state: &SyncState) -> Option<String> {
    if state.artifact_root.is_some() {
        return None;
    }
    Destination::for_artifact_uri(state.artifact_uri.as_deref()?).err()
}

/// The destination once found: `Some(None)` when the files stay in the local run.
#[derive(Debug, Default)]
pub(super) struct Artifacts(pub(super) Option<Option<Arc<Destination>>>);
