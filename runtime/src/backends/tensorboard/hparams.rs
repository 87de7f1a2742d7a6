//! The run's config and params as TensorBoard's hparams plugin reads them: three summaries
//! with fixed tags whose metadata content is an `HParamsPluginData`
//! (`tensorboard/plugins/hparams/plugin_data.proto`, `api.proto`). One run directory with a
//! session start is one row of the HPARAMS tab.

use std::collections::BTreeMap;

use prost::{Message, Oneof};

use super::proto::{Kind, SummaryMetadata, SummaryValue, TensorProto, TensorShape, DT_FLOAT};
use crate::store::meta::{RunTags, Status};

#[derive(Clone, PartialEq, Message)]
struct HParamsPluginData {
    #[prost(int32, tag = "1")]
    version: i32,
    #[prost(oneof = "Data", tags = "2, 3, 4")]
    data: Option<Data>,
}

#[derive(Clone, PartialEq, Oneof)]
enum Data {
    #[prost(message, tag = "2")]
    Experiment(Experiment),
    #[prost(message, tag = "3")]
    SessionStartInfo(SessionStartInfo),
    #[prost(message, tag = "4")]
    SessionEndInfo(SessionEndInfo),
}

#[derive(Clone, PartialEq, Message)]
struct Experiment {
    #[prost(double, tag = "3")]
    time_created_secs: f64,
    #[prost(message, repeated, tag = "4")]
    hparam_infos: Vec<HParamInfo>,
    #[prost(message, repeated, tag = "5")]
    metric_infos: Vec<MetricInfo>,
}

#[derive(Clone, PartialEq, Message)]
struct HParamInfo {
    #[prost(string, tag = "1")]
    name: String,
    /// `DataType`: 1 string, 2 bool, 3 float64.
    #[prost(int32, tag = "4")]
    r#type: i32,
}

#[derive(Clone, PartialEq, Message)]
struct MetricInfo {
    #[prost(message, optional, tag = "1")]
    name: Option<MetricName>,
}

#[derive(Clone, PartialEq, Message)]
struct MetricName {
    #[prost(string, tag = "1")]
    group: String,
    #[prost(string, tag = "2")]
    tag: String,
}

#[derive(Clone, PartialEq, Message)]
struct SessionStartInfo {
    #[prost(btree_map = "string, message", tag = "1")]
    hparams: BTreeMap<String, ProtoValue>,
    #[prost(double, tag = "5")]
    start_time_secs: f64,
}

#[derive(Clone, PartialEq, Message)]
struct SessionEndInfo {
    /// `Status`: 1 success, 2 failure.
    #[prost(int32, tag = "1")]
    status: i32,
    #[prost(double, tag = "2")]
    end_time_secs: f64,
}

/// `google.protobuf.Value`, the kinds an hparam can take.
#[derive(Clone, PartialEq, Message)]
#[prost(skip_debug)]
pub struct ProtoValue {
    #[prost(oneof = "ValueKind", tags = "2, 3, 4")]
    kind: Option<ValueKind>,
}

#[derive(Clone, PartialEq, Oneof)]
enum ValueKind {
    #[prost(double, tag = "2")]
    Number(f64),
    #[prost(string, tag = "3")]
    String(String),
    #[prost(bool, tag = "4")]
    Bool(bool),
}

/// The hparams of one run: the config flattened to `a.b.c` keys, then its params.
#[derive(Debug, Default)]
pub struct Hparams {
    values: BTreeMap<String, ProtoValue>,
}

impl std::fmt::Debug for ProtoValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            Some(ValueKind::Number(n)) => write!(f, "{n}"),
            Some(ValueKind::String(s)) => write!(f, "{s:?}"),
            Some(ValueKind::Bool(b)) => write!(f, "{b}"),
            None => f.write_str("null"),
        }
    }
}

impl Hparams {
    /// Adds `value` under `name`; objects add one entry per leaf (`name.field`), `null`s none.
    pub fn add(&mut self, name: &str, value: &serde_json::Value) {
        use serde_json::Value as Json;
        let kind = match value {
            Json::Null => return,
            Json::Object(fields) => {
                for (key, field) in fields {
                    self.add(&join(name, key), field);
                }
                return;
            }
            Json::Bool(b) => ValueKind::Bool(*b),
            Json::Number(n) => ValueKind::Number(n.as_f64().unwrap_or(f64::NAN)),
            Json::String(s) => ValueKind::String(s.clone()),
            Json::Array(_) => ValueKind::String(value.to_string()),
        };
        let name = if name.is_empty() { "config" } else { name };
        self.values
            .insert(name.to_owned(), ProtoValue { kind: Some(kind) });
    }

    /// Adds the run's tags as `tag.<key>` columns (a bare tag is `true`) and its group as
    /// `group`, unless the config has a `group` of its own.
    pub fn add_tags(&mut self, run: &RunTags) {
        for (key, value) in &run.tags {
            let kind = if value.is_empty() {
                ValueKind::Bool(true)
            } else {
                ValueKind::String(value.clone())
            };
            self.values
                .insert(format!("tag.{key}"), ProtoValue { kind: Some(kind) });
        }
        if let Some(group) = &run.group {
            self.values.entry("group".to_owned()).or_insert(ProtoValue {
                kind: Some(ValueKind::String(group.clone())),
            });
        }
    }

    /// Whether every value of `other` is already here.
    pub fn includes(&self, other: &Hparams) -> bool {
        other
            .values
            .iter()
            .all(|(k, v)| self.values.get(k) == Some(v))
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// `_hparams_/session_start_info`: this run's values.
    pub fn session_start(&self, start_time: f64) -> SummaryValue {
        summary(
            "_hparams_/session_start_info",
            Data::SessionStartInfo(SessionStartInfo {
                hparams: self.values.clone(),
                start_time_secs: start_time,
            }),
        )
    }

    /// `_hparams_/experiment`: the columns of the HPARAMS tab, these hparams and the final
    /// values of `metrics`.
    pub fn experiment<'a>(
        &self,
        start_time: f64,
        metrics: impl IntoIterator<Item = &'a str>,
    ) -> SummaryValue {
        let hparam_infos = self
            .values
            .iter()
            .map(|(name, value)| HParamInfo {
                name: name.clone(),
                r#type: match value.kind {
                    Some(ValueKind::String(_)) | None => 1,
                    Some(ValueKind::Bool(_)) => 2,
                    Some(ValueKind::Number(_)) => 3,
                },
            })
            .collect();
        let metric_infos = metrics
            .into_iter()
            .map(|tag| MetricInfo {
                name: Some(MetricName {
                    group: String::new(),
                    tag: tag.to_owned(),
                }),
            })
            .collect();
        summary(
            "_hparams_/experiment",
            Data::Experiment(Experiment {
                time_created_secs: start_time,
                hparam_infos,
                metric_infos,
            }),
        )
    }
}

/// `_hparams_/session_end_info`: how the run ended.
pub fn session_end(status: Status, end_time: f64) -> SummaryValue {
    let status = match status {
        Status::Complete => 1,
        Status::Failed => 2,
        Status::Running => 3,
    };
    summary(
        "_hparams_/session_end_info",
        Data::SessionEndInfo(SessionEndInfo {
            status,
            end_time_secs: end_time,
        }),
    )
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

/// A summary value as TensorBoard's own hparams writer makes it: the data in the metadata,
/// an empty float tensor as the value.
fn summary(tag: &str, data: Data) -> SummaryValue {
    let content = HParamsPluginData {
        version: 0,
        data: Some(data),
    }
    .encode_to_vec();
    SummaryValue {
        tag: tag.to_owned(),
        kind: Some(Kind::Tensor(TensorProto {
            dtype: DT_FLOAT,
            tensor_shape: Some(TensorShape::of(&[0])),
            string_val: Vec::new(),
        })),
        metadata: Some(SummaryMetadata::plugin("hparams", content, 0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_is_flattened_and_params_join_it() {
        let mut hparams = Hparams::default();
        hparams.add(
            "",
            &serde_json::json!({"lr": 0.1, "model": {"depth": 3, "act": "relu"}, "tags": [1, 2], "seed": null}),
        );
        hparams.add("warmup", &serde_json::json!(true));
        assert_eq!(
            format!("{:?}", hparams.values),
            r#"{"lr": 0.1, "model.act": "relu", "model.depth": 3, "tags": "[1,2]", "warmup": true}"#
        );
        let mut same = Hparams::default();
        same.add("model", &serde_json::json!({"depth": 3}));
        let mut changed = Hparams::default();
        changed.add("model.depth", &serde_json::json!(4));
        assert!(hparams.includes(&same) && !hparams.includes(&changed));
        let mut scalar = Hparams::default();
        scalar.add("", &serde_json::json!(0.5));
        assert_eq!(format!("{:?}", scalar.values), r#"{"config": 0.5}"#);
    }
}
