//! Downloads the MNIST `.gz` files from the mirrors torchvision and TensorFlow use, checks
//! each against its known MD5 and caches it in the data directory.

use std::error::Error;
use std::fs;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use md5::{Digest, Md5};
use reqwest::blocking::Client;

/// Tried in this order; `--mirror URL` (or `MNIST_MIRROR`) replaces the list.
pub const MIRRORS: [&str; 3] = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
];

/// Fetches `name.gz` for each `(name, md5)` into `dir`. Stops at the first file that no
/// mirror can provide; the error says why for each mirror.
pub fn fetch(dir: &Path, files: &[&(&str, &str)], mirrors: &[&str]) -> Result<()> {
    let client = Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(300))
        .build()
        .context("cannot start an HTTP client")?;
    for (name, md5) in files {
        let file = format!("{name}.gz");
        let mut reasons = Vec::new();
        let bytes = mirrors.iter().find_map(|mirror| {
            get(&client, &url(mirror, &file), md5)
                .map_err(|e| reasons.push(format!("{}: {e:#}", host(mirror))))
                .ok()
        });
        let Some(bytes) = bytes else {
            bail!("{}", reasons.join("; "));
        };
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let path = dir.join(&file);
        let part = dir.join(format!("{file}.part{}", std::process::id()));
        fs::write(&part, &bytes)
            .and_then(|()| fs::rename(&part, &path))
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!(
            "downloaded {} ({:.1} MB, MD5 checked)",
            path.display(),
            bytes.len() as f64 / 1e6
        );
    }
    Ok(())
}

fn get(client: &Client, url: &str, md5: &str) -> Result<Vec<u8>> {
    let response = client.get(url).send().map_err(root_cause)?;
    if !response.status().is_success() {
        bail!("HTTP {}", response.status());
    }
    let bytes = response.bytes().map_err(root_cause)?.to_vec();
    let digest: String = Md5::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if digest != md5 {
        bail!("checksum mismatch (MD5 {digest}, expected {md5})");
    }
    Ok(bytes)
}

fn url(mirror: &str, file: &str) -> String {
    format!("{}/{file}", mirror.trim_end_matches('/'))
}

/// The host of a mirror URL, without any credentials, for messages.
fn host(mirror: &str) -> &str {
    let rest = mirror.split_once("://").map_or(mirror, |(_, rest)| rest);
    let authority = rest.split('/').next().unwrap_or(rest);
    authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host)
}

/// The innermost cause of a transport error: "Connection refused (os error 111)" says
/// more than "error sending request for url (...)".
fn root_cause(error: reqwest::Error) -> anyhow::Error {
    let mut cause: &dyn Error = &error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    anyhow::anyhow!("{cause}")
}

#[cfg(test)]
#[path = "download_tests.rs"]
mod tests;
