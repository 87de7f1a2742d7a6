//! Where a run's files go on the server, found once per upload process: the artifact proxy
//! or the object store itself (see [`super::artifacts`], which uploads to it).

use std::sync::Arc;

use super::s3::Bucket;

/// Where the files of one run go.
#[derive(Debug)]
pub(super) enum Destination {
    /// `<experiment>/<run>/artifacts` on the artifact proxy.
    Proxied(String),
    /// The run's folder in the object store.
    Direct(Bucket),
}

/// The destination once found: `Some(None)` when the files stay in the local run.
#[derive(Debug, Default)]
pub(super) struct Artifacts(pub(super) Option<Option<Arc<Destination>>>);
