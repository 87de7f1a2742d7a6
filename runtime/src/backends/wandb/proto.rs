//! The part of W&B's `wandb_internal.Record` protobuf (`wandb/proto/wandb_internal.proto`)
//! that an offline run needs, derived by hand with the upstream field numbers. The project's
//! verifier decodes every record with wandb's own generated class and rejects unknown
//! fields, so a wrong number here fails the tests.

use prost::{Message, Oneof};

#[derive(Clone, PartialEq, Message)]
pub struct Record {
    /// Counts 1, 2, 3, … in file order.
    #[prost(int64, tag = "1")]
    pub num: i64,
    #[prost(oneof = "Kind", tags = "2, 3, 5, 12, 13, 6, 17, 18, 21, 26, 7")]
    pub kind: Option<Kind>,
}

#[derive(Clone, PartialEq, Oneof)]
pub enum Kind {
    #[prost(message, tag = "2")]
    History(HistoryRecord),
    #[prost(message, tag = "3")]
    Summary(SummaryRecord),
    #[prost(message, tag = "5")]
    Config(ConfigRecord),
    #[prost(message, tag = "6")]
    Files(FilesRecord),
    #[prost(message, tag = "7")]
    Stats(StatsRecord),
    #[prost(message, tag = "12")]
    Metric(MetricRecord),
    #[prost(message, tag = "13")]
    OutputRaw(OutputRawRecord),
    #[prost(message, tag = "17")]
    Run(RunRecord),
    #[prost(message, tag = "18")]
    Exit(RunExitRecord),
    #[prost(message, tag = "21")]
    Header(HeaderRecord),
    #[prost(message, tag = "26")]
    Environment(EnvironmentRecord),
}

/// `HistoryItem`, `SummaryItem` and `ConfigItem` share this layout: key=1, value_json=16.
#[derive(Clone, PartialEq, Message)]
pub struct Item {
    #[prost(string, tag = "1")]
    pub key: String,
    #[prost(string, tag = "16")]
    pub value_json: String,
}

#[derive(Clone, PartialEq, Message)]
pub struct HistoryRecord {
    #[prost(message, repeated, tag = "1")]
    pub item: Vec<Item>,
    #[prost(message, optional, tag = "2")]
    pub step: Option<HistoryStep>,
}

#[derive(Clone, PartialEq, Message)]
pub struct HistoryStep {
    #[prost(int64, tag = "1")]
    pub num: i64,
}

#[derive(Clone, PartialEq, Message)]
pub struct SummaryRecord {
    #[prost(message, repeated, tag = "1")]
    pub update: Vec<Item>,
}

#[derive(Clone, PartialEq, Message)]
pub struct ConfigRecord {
    #[prost(message, repeated, tag = "1")]
    pub update: Vec<Item>,
}

#[derive(Clone, PartialEq, Message)]
pub struct FilesRecord {
    #[prost(message, repeated, tag = "1")]
    pub files: Vec<FilesItem>,
}

#[derive(Clone, PartialEq, Message)]
pub struct FilesItem {
    /// Relative to the run's `files/` folder.
    #[prost(string, tag = "1")]
    pub path: String,
    /// NOW=0, END=1, LIVE=2.
    #[prost(int32, tag = "2")]
    pub policy: i32,
    /// OTHER=0, WANDB=1, MEDIA=2, ARTIFACT=3.
    #[prost(int32, tag = "3")]
    pub r#type: i32,
}

pub const FILE_MEDIA: i32 = 2;

/// `define_metric`: which key is a metric's x-axis.
#[derive(Clone, PartialEq, Message)]
pub struct MetricRecord {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "4")]
    pub step_metric: String,
    #[prost(message, optional, tag = "6")]
    pub options: Option<MetricOptions>,
}

#[derive(Clone, PartialEq, Message)]
pub struct MetricOptions {
    #[prost(bool, tag = "1")]
    pub step_sync: bool,
    #[prost(bool, tag = "3")]
    pub defined: bool,
}

/// A console line; STDERR=0, STDOUT=1.
#[derive(Clone, PartialEq, Message)]
pub struct OutputRawRecord {
    #[prost(int32, tag = "1")]
    pub output_type: i32,
    #[prost(message, optional, tag = "2")]
    pub timestamp: Option<Timestamp>,
    #[prost(string, tag = "3")]
    pub line: String,
}

#[derive(Clone, PartialEq, Message)]
pub struct RunRecord {
    #[prost(string, tag = "1")]
    pub run_id: String,
    #[prost(string, tag = "2")]
    pub entity: String,
    #[prost(string, tag = "3")]
    pub project: String,
    #[prost(message, optional, tag = "4")]
    pub config: Option<ConfigRecord>,
    #[prost(string, tag = "6")]
    pub run_group: String,
    #[prost(string, tag = "7")]
    pub job_type: String,
    #[prost(string, tag = "8")]
    pub display_name: String,
    #[prost(string, tag = "9")]
    pub notes: String,
    #[prost(string, repeated, tag = "10")]
    pub tags: Vec<String>,
    #[prost(string, tag = "13")]
    pub host: String,
    #[prost(int64, tag = "14")]
    pub starting_step: i64,
    #[prost(message, optional, tag = "17")]
    pub start_time: Option<Timestamp>,
    #[prost(bool, tag = "18")]
    pub resumed: bool,
    #[prost(message, optional, tag = "21")]
    pub git: Option<GitRepoRecord>,
}

#[derive(Clone, PartialEq, Message)]
pub struct GitRepoRecord {
    #[prost(string, tag = "1")]
    pub remote_url: String,
    #[prost(string, tag = "2")]
    pub commit: String,
}

#[derive(Clone, PartialEq, Message)]
pub struct RunExitRecord {
    #[prost(int32, tag = "1")]
    pub exit_code: i32,
    /// Seconds.
    #[prost(int32, tag = "2")]
    pub runtime: i32,
}

#[derive(Clone, PartialEq, Message)]
pub struct HeaderRecord {
    #[prost(message, optional, tag = "1")]
    pub version_info: Option<VersionInfo>,
}

#[derive(Clone, PartialEq, Message)]
pub struct VersionInfo {
    #[prost(string, tag = "1")]
    pub producer: String,
    #[prost(string, tag = "2")]
    pub min_consumer: String,
}

/// What wandb 0.31 records about the machine and the program (older releases wrote
/// `files/wandb-metadata.json` instead).
#[derive(Clone, PartialEq, Message)]
pub struct EnvironmentRecord {
    #[prost(string, tag = "1")]
    pub os: String,
    #[prost(message, optional, tag = "3")]
    pub started_at: Option<Timestamp>,
    #[prost(string, repeated, tag = "5")]
    pub args: Vec<String>,
    #[prost(string, tag = "6")]
    pub program: String,
    #[prost(message, optional, tag = "9")]
    pub git: Option<GitRepoRecord>,
    #[prost(string, tag = "11")]
    pub root: String,
    #[prost(string, tag = "12")]
    pub host: String,
    #[prost(string, tag = "13")]
    pub username: String,
    #[prost(string, tag = "14")]
    pub executable: String,
    #[prost(uint32, tag = "17")]
    pub cpu_count_logical: u32,
}

/// Samples of the machine, shown under "System" in W&B's UI; `stats_type` 0 is SYSTEM.
/// Its items share [`Item`]'s layout (key=1, value_json=16).
#[derive(Clone, PartialEq, Message)]
pub struct StatsRecord {
    #[prost(int32, tag = "1")]
    pub stats_type: i32,
    #[prost(message, optional, tag = "2")]
    pub timestamp: Option<Timestamp>,
    #[prost(message, repeated, tag = "3")]
    pub item: Vec<Item>,
}

/// `google.protobuf.Timestamp`.
#[derive(Clone, PartialEq, Message)]
pub struct Timestamp {
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

impl Timestamp {
    pub fn from_unix(seconds: f64) -> Timestamp {
        let whole = seconds.floor();
        Timestamp {
            seconds: whole as i64,
            nanos: ((seconds - whole) * 1e9) as i32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_history_record_encodes_as_formats_md_says() {
        let item = |key: &str, value: &str| Item {
            key: key.into(),
            value_json: value.into(),
        };
        let record = Record {
            num: 3,
            kind: Some(Kind::History(HistoryRecord {
                item: vec![item("loss", "0.5"), item("_step", "1")],
                step: Some(HistoryStep { num: 1 }),
            })),
        };
        let hex: String = record
            .encode_to_vec()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            hex,
            "0803121f0a0c0a046c6f7373820103302e350a0b0a055f737465708201013112020801"
        );
    }
}
