//! The direct layout: a server started with `--no-serve-artifacts --default-artifact-root
//! s3://bucket/prefix` gives each run an `s3://` artifact URI, and the client writes the files
//! there itself. labbook does it as MLflow's Python client does, from the same variables:
//! `MLFLOW_S3_ENDPOINT_URL` (an S3-compatible store; AWS when unset), `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_DEFAULT_REGION` (default `us-east-1`)
//! and `MLFLOW_S3_IGNORE_TLS`. Small files go in one request, large ones in parts
//! ([`super::multipart`]) through the `object_store` crate's S3 client.

use std::fmt;

use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path as ObjectPath;
use object_store::{ClientOptions, ObjectStoreExt, PutPayload};
use tokio::runtime::Runtime;

use super::parts::Parts;
use super::state::PartUpload;
use super::MlflowError;

/// What to set when the variables are missing.
pub(super) const MISSING: &str = "set MLFLOW_S3_ENDPOINT_URL and AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (and AWS_DEFAULT_REGION) as for MLflow's client";

/// A run's artifact folder in an S3 bucket, and a client for it.
pub(super) struct Bucket {
    store: AmazonS3,
    /// The key of the run's artifact folder (`direct/1/<run>/artifacts`).
    prefix: String,
    /// `s3://bucket/prefix`, for messages.
    uri: String,
    /// Where requests go, for messages (never with credentials).
    endpoint: String,
    runtime: Runtime,
}

impl fmt::Debug for Bucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bucket({} at {})", self.uri, self.endpoint)
    }
}

/// One file of a run in the bucket: what a multipart upload goes to.
pub(super) struct Object<'a> {
    bucket: &'a Bucket,
    path: ObjectPath,
}

impl Bucket {
    /// The bucket of the artifact URI `s3://bucket/prefix`, with the client variables of the
    /// environment; why it cannot be written to otherwise.
    pub fn for_uri(uri: &str) -> Result<Bucket, String> {
        let rest = uri
            .strip_prefix("s3://")
            .ok_or_else(|| format!("{uri} is not an s3:// URI"))?;
        let (name, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let (Some(key), Some(secret)) = (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY"))
        else {
            return Err(format!(
                "the MLflow server keeps artifacts at {uri} for its clients to write: {MISSING}"
            ));
        };
        let region = env("AWS_DEFAULT_REGION")
            .or_else(|| env("AWS_REGION"))
            .unwrap_or_else(|| "us-east-1".to_owned());
        let insecure = env("MLFLOW_S3_IGNORE_TLS")
            .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "1"));
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(name)
            .with_region(&region)
            .with_access_key_id(key)
            .with_secret_access_key(secret)
            .with_client_options(
                ClientOptions::new()
                    .with_allow_invalid_certificates(insecure)
                    .with_timeout(std::time::Duration::from_secs(300)),
            );
        if let Some(token) = env("AWS_SESSION_TOKEN") {
            builder = builder.with_token(token);
        }
        let endpoint = match env("MLFLOW_S3_ENDPOINT_URL") {
            Some(endpoint) => {
                builder = builder
                    .with_endpoint(endpoint.trim_end_matches('/'))
                    .with_allow_http(endpoint.starts_with("http://"));
                endpoint
            }
            None => format!("https://s3.{region}.amazonaws.com"),
        };
        let store = builder
            .build()
            .map_err(|e| format!("cannot write artifacts to {uri}: {e}; {MISSING}"))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("labbook-s3")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the S3 client for {uri}: {e}"))?;
        Ok(Bucket {
            store,
            prefix: prefix.trim_matches('/').to_owned(),
            uri: uri.to_owned(),
            endpoint,
            runtime,
        })
    }

    /// The file `relative` (a path in the run directory) in the bucket.
    pub fn object(&self, relative: &str) -> Object<'_> {
        let key = format!("{}/{}", self.prefix, relative.trim_start_matches('/'));
        Object {
            bucket: self,
            path: ObjectPath::from(key.trim_start_matches('/')),
        }
    }

    fn error(&self, action: &str, path: &ObjectPath, error: object_store::Error) -> MlflowError {
        use object_store::Error as E;
        let status = match &error {
            E::NotFound { .. } => 404,
            E::PermissionDenied { .. } | E::Unauthenticated { .. } => 403,
            E::Precondition { .. } | E::AlreadyExists { .. } | E::InvalidPath { .. } => 400,
            _ => {
                return MlflowError::NoAnswer {
                    uri: self.endpoint.clone(),
                    reason: format!("{action} s3://{}/{path}: {error}", self.bucket_name()),
                }
            }
        };
        MlflowError::Server {
            uri: self.endpoint.clone(),
            endpoint: format!("S3 {action}"),
            status,
            code: String::new(),
            message: format!("{error}; {MISSING}"),
        }
    }

    fn bucket_name(&self) -> &str {
        let rest = self.uri.trim_start_matches("s3://");
        rest.split_once('/').map_or(rest, |(name, _)| name)
    }
}

impl Object<'_> {
    /// Writes `bytes` as the whole file, in one request.
    pub fn put(&self, bytes: Vec<u8>) -> Result<(), MlflowError> {
        let Object { bucket, path } = self;
        bucket
            .runtime
            .block_on(bucket.store.put(path, PutPayload::from(bytes)))
            .map(drop)
            .map_err(|e| bucket.error("PutObject", path, e))
    }
}

impl Parts for Object<'_> {
    fn create(&self, _count: u32) -> Result<(String, Vec<String>), MlflowError> {
        let Object { bucket, path } = self;
        let id = bucket
            .runtime
            .block_on(bucket.store.create_multipart(path))
            .map_err(|e| bucket.error("CreateMultipartUpload", path, e))?;
        Ok((id, Vec::new()))
    }

    fn put(&self, upload: &PartUpload, number: u32, bytes: Vec<u8>) -> Result<String, MlflowError> {
        let Object { bucket, path } = self;
        let index = usize::try_from(number - 1).expect("part numbers fit");
        let part = bucket
            .runtime
            .block_on(bucket.store.put_part(
                path,
                &upload.upload_id,
                index,
                PutPayload::from(bytes),
            ))
            .map_err(|e| bucket.error("UploadPart", path, e))?;
        Ok(part.content_id)
    }

    fn complete(&self, upload: &PartUpload) -> Result<(), MlflowError> {
        let Object { bucket, path } = self;
        let parts = upload
            .confirmed
            .values()
            .map(|etag| PartId {
                content_id: etag.clone(),
            })
            .collect();
        bucket
            .runtime
            .block_on(
                bucket
                    .store
                    .complete_multipart(path, &upload.upload_id, parts),
            )
            .map(drop)
            .map_err(|e| bucket.error("CompleteMultipartUpload", path, e))
    }

    fn abort(&self, upload: &PartUpload) -> Result<(), MlflowError> {
        let Object { bucket, path } = self;
        bucket
            .runtime
            .block_on(bucket.store.abort_multipart(path, &upload.upload_id))
            .map_err(|e| bucket.error("AbortMultipartUpload", path, e))
    }
}

fn env(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_s3_uri_names_the_bucket_and_the_run_folder() {
        std::env::set_var("AWS_ACCESS_KEY_ID", "k");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "s");
        std::env::set_var("MLFLOW_S3_ENDPOINT_URL", "http://127.0.0.1:9");
        let bucket = Bucket::for_uri("s3://labbook/direct/1/abc/artifacts").unwrap();
        assert_eq!(bucket.bucket_name(), "labbook");
        assert_eq!(
            bucket.object("checkpoints/model.bin").path.as_ref(),
            "direct/1/abc/artifacts/checkpoints/model.bin"
        );
        assert_eq!(
            format!("{bucket:?}"),
            "Bucket(s3://labbook/direct/1/abc/artifacts at http://127.0.0.1:9)"
        );
        std::env::remove_var("AWS_SECRET_ACCESS_KEY");
        let missing = Bucket::for_uri("s3://labbook/x").unwrap_err();
        assert!(
            missing
                .contains("set MLFLOW_S3_ENDPOINT_URL and AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"),
            "{missing}"
        );
        std::env::remove_var("AWS_ACCESS_KEY_ID");
        std::env::remove_var("MLFLOW_S3_ENDPOINT_URL");
    }
}
