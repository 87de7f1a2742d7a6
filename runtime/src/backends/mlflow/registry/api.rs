//! The model registry's REST calls (`registered-models/*`, `model-versions/*`), and the two
//! run calls registering needs: a run's artifact URI and the listing of one of its folders.

use std::collections::BTreeMap;

use serde_json::{json, Value as Json};

use super::super::client::Client;
use super::super::MlflowError;

/// Results asked for per page of a search; the server pages on with a token.
const PAGE: &str = "1000";

/// A version of a registered model, as the server describes it.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ModelVersion {
    /// The registered model's name.
    pub name: String,
    /// The version number, as MLflow writes it (`"3"`).
    pub version: String,
    /// The stage (`None`, `Staging`, `Production`, `Archived`; stages are deprecated in
    /// MLflow 3 in favour of aliases).
    pub stage: String,
    /// The model's aliases that point at this version (`champion`).
    pub aliases: Vec<String>,
    /// The MLflow run it came from, when known.
    pub run_id: String,
    /// Where its files are: the checkpoint's artifact URI.
    pub source: String,
    /// When it was created, in milliseconds since the Unix epoch.
    pub created_ms: i64,
    /// Its tags: `labbook.run`, `labbook.checkpoint.step`, `metric.<name>`.
    pub tags: BTreeMap<String, String>,
}

/// A registered model and its versions, newest first.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RegisteredModel {
    /// Its name.
    pub name: String,
    /// When it was created, in milliseconds since the Unix epoch.
    pub created_ms: i64,
    /// Its versions, newest first.
    pub versions: Vec<ModelVersion>,
}

impl ModelVersion {
    fn from_json(body: &Json) -> ModelVersion {
        ModelVersion {
            name: text(&body["name"]),
            version: text(&body["version"]),
            stage: text(&body["current_stage"]),
            aliases: body["aliases"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|a| a.as_str())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            run_id: text(&body["run_id"]),
            source: text(&body["source"]),
            created_ms: integer(&body["creation_timestamp"]).unwrap_or(0),
            tags: body["tags"]
                .as_array()
                .map(|tags| {
                    tags.iter()
                        .map(|t| (text(&t["key"]), text(&t["value"])))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

/// The artifact URI of MLflow run `run_id` (`mlflow-artifacts:/1/<id>/artifacts`,
/// `s3://bucket/1/<id>/artifacts`).
pub(super) fn artifact_uri(client: &Client, run_id: &str) -> Result<String, MlflowError> {
    let body = client.get("runs/get", &[("run_id", run_id)])?;
    Ok(text(&body["run"]["info"]["artifact_uri"]))
}

/// The size of the artifact `relative` of run `run_id` as the server lists it, or `None`
/// when its folder does not hold it.
pub(super) fn artifact_size(
    client: &Client,
    run_id: &str,
    relative: &str,
) -> Result<Option<u64>, MlflowError> {
    let folder = relative.rsplit_once('/').map_or("", |(folder, _)| folder);
    let body = client.get("artifacts/list", &[("run_id", run_id), ("path", folder)])?;
    Ok(body["files"].as_array().and_then(|files| {
        files
            .iter()
            .find(|f| f["path"] == relative && f["is_dir"] != true)
            .map(|f| integer(&f["file_size"]).map_or(0, |n| n.max(0) as u64))
    }))
}

/// Creates the registered model `name`; one that exists already is left as it is.
pub(super) fn create_model(client: &Client, name: &str) -> Result<(), MlflowError> {
    match client.post("registered-models/create", &json!({ "name": name })) {
        Ok(_) => Ok(()),
        Err(MlflowError::Server { code, .. }) if code == "RESOURCE_ALREADY_EXISTS" => Ok(()),
        Err(e) => Err(e),
    }
}

/// Creates a version of model `name` from `source`, made by run `run_id`, with `tags`.
pub(super) fn create_version(
    client: &Client,
    name: &str,
    source: &str,
    run_id: &str,
    tags: &[(String, String)],
) -> Result<ModelVersion, MlflowError> {
    let tags: Vec<Json> = tags
        .iter()
        .map(|(key, value)| json!({ "key": key, "value": value }))
        .collect();
    let body = client.post(
        "model-versions/create",
        &json!({ "name": name, "source": source, "run_id": run_id, "tags": tags }),
    )?;
    Ok(ModelVersion::from_json(&body["model_version"]))
}

/// Every version whose run is `run_id`, of any model.
pub(super) fn versions_of_run(
    client: &Client,
    run_id: &str,
) -> Result<Vec<ModelVersion>, MlflowError> {
    if !run_id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Ok(Vec::new());
    }
    search_versions(client, &format!("run_id = '{run_id}'"))
}

/// The registered models (`name` alone when given) and their versions, newest first.
pub(super) fn models(
    client: &Client,
    name: Option<&str>,
) -> Result<Vec<RegisteredModel>, MlflowError> {
    let found: Vec<Json> = match name {
        Some(name) => match client.get("registered-models/get", &[("name", name)]) {
            Ok(body) => vec![body["registered_model"].clone()],
            Err(MlflowError::Server { code, .. }) if code == "RESOURCE_DOES_NOT_EXIST" => {
                Vec::new()
            }
            Err(e) => return Err(e),
        },
        None => pages(client, "registered-models/search", &[], "registered_models")?,
    };
    let mut models = Vec::new();
    for model in found {
        let name = text(&model["name"]);
        let mut aliases: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for alias in model["aliases"].as_array().into_iter().flatten() {
            aliases
                .entry(text(&alias["version"]))
                .or_default()
                .push(text(&alias["alias"]));
        }
        let mut versions = match quoted(&name) {
            Some(quoted) => search_versions(client, &format!("name = {quoted}"))?,
            None => search_versions(client, "")?,
        };
        versions.retain(|v| v.name == name);
        for version in &mut versions {
            version.aliases = aliases.remove(&version.version).unwrap_or_default();
        }
        versions.sort_by_key(|v| std::cmp::Reverse(v.version.parse::<u64>().unwrap_or(0)));
        models.push(RegisteredModel {
            name,
            created_ms: integer(&model["creation_timestamp"]).unwrap_or(0),
            versions,
        });
    }
    models.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(models)
}

fn search_versions(client: &Client, filter: &str) -> Result<Vec<ModelVersion>, MlflowError> {
    let query: Vec<(&str, &str)> = if filter.is_empty() {
        Vec::new()
    } else {
        vec![("filter", filter)]
    };
    Ok(
        pages(client, "model-versions/search", &query, "model_versions")?
            .iter()
            .map(ModelVersion::from_json)
            .collect(),
    )
}

/// Every item of a paged search, following `next_page_token`.
fn pages(
    client: &Client,
    endpoint: &str,
    query: &[(&str, &str)],
    field: &str,
) -> Result<Vec<Json>, MlflowError> {
    let mut items = Vec::new();
    let mut token = String::new();
    loop {
        let mut page: Vec<(&str, &str)> = query.to_vec();
        page.push(("max_results", PAGE));
        if !token.is_empty() {
            page.push(("page_token", &token));
        }
        let body = client.get(endpoint, &page)?;
        items.extend(body[field].as_array().into_iter().flatten().cloned());
        match body["next_page_token"].as_str() {
            Some(next) if !next.is_empty() => token = next.to_owned(),
            _ => return Ok(items),
        }
    }
}

/// `name` as a string in a search filter, or `None` when it holds both kinds of quote.
fn quoted(name: &str) -> Option<String> {
    if !name.contains('\'') {
        Some(format!("'{name}'"))
    } else if !name.contains('"') {
        Some(format!("\"{name}\""))
    } else {
        None
    }
}

fn text(value: &Json) -> String {
    value.as_str().map(str::to_owned).unwrap_or_default()
}

/// A number the server writes as a number or as a string.
fn integer(value: &Json) -> Option<i64> {
    value
        .as_i64()
        .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
}
