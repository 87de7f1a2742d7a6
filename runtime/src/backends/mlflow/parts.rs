//! What a store that takes a file in parts offers: the object store itself
//! ([`super::s3`]) or MLflow's artifact proxy ([`super::artifacts`]); [`super::multipart`]
//! drives an upload through it.

use super::state::PartUpload;
use super::MlflowError;

/// A store that takes a file in parts.
pub(super) trait Parts: Sync {
    /// Begins an upload of `count` parts: its id and, where the store hands them out, the
    /// URL of each part.
    fn create(&self, count: u32) -> Result<(String, Vec<String>), MlflowError>;
    /// Sends part `number` (from 1); the ETag the store answered.
    fn put(&self, upload: &PartUpload, number: u32, bytes: Vec<u8>) -> Result<String, MlflowError>;
    /// Puts the confirmed parts together into the file.
    fn complete(&self, upload: &PartUpload) -> Result<(), MlflowError>;
    /// Drops an upload that will not be finished.
    fn abort(&self, upload: &PartUpload) -> Result<(), MlflowError>;
}
