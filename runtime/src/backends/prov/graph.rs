//! The PROV document of a run, built when it ends from what the backend saw and what the
//! run directory holds.

use serde_json::Value;
use std::collections::BTreeMap;

use super::document::{self, attributes, local, long, name, time, time_text, Document};
use super::Prov;
use crate::backend::RunEnd;
use crate::store::meta::RunTags;
use crate::store::read::RunDir;

impl Prov {
    pub(super) fn document(&self, end: &RunEnd) -> Value {
        let default = format!("urn:labbook:{}/{}/", local(&self.experiment), self.id);
        let labbook = format!("{}#", env!("CARGO_PKG_REPOSITORY"));
        let mut doc = Document::new(&[
            ("default", &default),
            ("labbook", &labbook),
            ("provml", "https://w3id.org/prov-ml#"),
            ("yprov", "https://github.com/HPCI-Lab/yProv4ML"),
            ("dcterms", "http://purl.org/dc/terms/"),
        ]);
        let run = local(&format!("{}_{}", self.experiment, self.id));
        self.run_activity(&mut doc, &run, end);
        self.agents_and_code(&mut doc, &run);
        self.hyper_parameters(&mut doc, &run);
        let ranks = self.ranks(&mut doc, &run, end);
        self.streams(&mut doc, &run, &ranks);
        self.checkpoints(&mut doc, &run, end);
        self.artifacts(&mut doc, &run);
        doc.into_json()
    }

    fn run_activity(&self, doc: &mut Document, run: &str, end: &RunEnd) {
        let info = &self.info;
        let mut attrs = attributes([
            ("prov:type", name("labbook:Run")),
            (
                "prov:label",
                format!("{}/{}", self.experiment, self.id).into(),
            ),
            ("prov:startTime", time_text(info.start_unix).into()),
            ("prov:endTime", time_text(end.time).into()),
            ("prov:startedAtTime", time(info.start_unix)),
            ("prov:endedAtTime", time(end.time)),
            ("labbook:status", end.status.as_str().into()),
            ("labbook:command", info.command.join(" ").into()),
            ("labbook:launcher", info.launcher.as_str().into()),
            ("labbook:world_size", long(info.world_size)),
            (
                "labbook:labbook_version",
                info.labbook_version.as_str().into(),
            ),
            ("yprov:experiment_name", self.experiment.as_str().into()),
            ("yprov:run_id", long(self.id)),
            (
                "yprov:experiment_dir",
                self.dir.display().to_string().into(),
            ),
            ("yprov:global_rank", long(0)),
            ("yprov:runtime_type", info.launcher.as_str().into()),
            ("yprov:operating_system", std::env::consts::OS.into()),
            ("yprov:machine", std::env::consts::ARCH.into()),
            ("yprov:PID", info.pid.to_string().into()),
        ]);
        if let Some(error) = &end.error {
            attrs.insert("labbook:error".into(), error.as_str().into());
        }
        if let Some(exe) = &info.executable {
            attrs.insert("labbook:executable".into(), exe.as_str().into());
        }
        if info.resumes > 0 {
            attrs.insert("labbook:resumes".into(), long(info.resumes));
        }
        // The run's tags (`key=value`, or `key`), group and notes.
        let tags: Vec<Value> = RunTags::of(info).joined().map(Value::from).collect();
        if !tags.is_empty() {
            attrs.insert("labbook:tag".into(), Value::Array(tags));
        }
        if let Some(group) = &info.group {
            attrs.insert("labbook:group".into(), group.as_str().into());
        }
        if let Some(notes) = &info.notes {
            attrs.insert("dcterms:description".into(), notes.as_str().into());
        }
        doc.element("activity", run, attrs);
    }

    fn agents_and_code(&self, doc: &mut Document, run: &str) {
        let info = &self.info;
        let mut code = attributes([
            (
                "prov:type",
                Value::Array(vec![name("prov:Plan"), name("labbook:SourceCode")]),
            ),
            ("prov:label", info.function.as_str().into()),
            ("labbook:function", info.function.as_str().into()),
            ("labbook:source_file", info.source_file.as_str().into()),
        ]);
        if let Some(git) = &info.git {
            code.insert("labbook:git_commit".into(), git.commit.as_str().into());
            code.insert(
                "labbook:git_dirty".into(),
                document::literal(&git.dirty.into()),
            );
        }
        doc.element("entity", "code", code);
        doc.relation(
            "used",
            &[("prov:activity", run), ("prov:entity", "code")],
            Default::default(),
        );
        let host = host_agent(doc, &info.host);
        doc.relation(
            "wasAssociatedWith",
            &[("prov:activity", run), ("prov:agent", &host)],
            Default::default(),
        );
        if let Some(user) = info.user.clone() {
            let id = format!("user/{}", local(&user));
            doc.element(
                "agent",
                &id,
                attributes([
                    ("prov:type", name("prov:Person")),
                    ("prov:label", user.as_str().into()),
                ]),
            );
            doc.relation(
                "wasAssociatedWith",
                &[
                    ("prov:activity", run),
                    ("prov:agent", &id),
                    ("prov:plan", "code"),
                ],
                Default::default(),
            );
        }
    }

    fn hyper_parameters(&self, doc: &mut Document, run: &str) {
        let parameter = |doc: &mut Document, id: &str, label: &str, value: &Value| {
            doc.element(
                "entity",
                id,
                attributes([
                    ("prov:type", name("provml:HyperParameter")),
                    ("prov:label", label.into()),
                    ("prov:value", document::literal(value)),
                ]),
            );
            doc.relation(
                "used",
                &[("prov:activity", run), ("prov:entity", id)],
                Default::default(),
            );
        };
        if let Some(config) = self.config.as_ref().filter(|c| !c.is_null()) {
            let mut attrs = attributes([
                (
                    "prov:type",
                    Value::Array(vec![name("prov:Collection"), name("labbook:Config")]),
                ),
                ("prov:label", "config".into()),
                ("dcterms:identifier", "metadata/config.json".into()),
            ]);
            if !config.is_object() {
                attrs.insert("prov:value".into(), document::literal(config));
            }
            doc.element("entity", "config", attrs);
            doc.relation(
                "used",
                &[("prov:activity", run), ("prov:entity", "config")],
                Default::default(),
            );
            for (key, value) in config.as_object().into_iter().flatten() {
                let id = format!("config/{}", local(key));
                parameter(doc, &id, key, value);
                doc.relation(
                    "hadMember",
                    &[("prov:collection", "config"), ("prov:entity", &id)],
                    Default::default(),
                );
            }
        }
        for (param, value) in &self.params {
            let id = format!("param/{}", local(param));
            parameter(doc, &id, param, value);
        }
    }

    /// Declares one activity per rank when there are several; returns their ids by rank.
    fn ranks(&self, doc: &mut Document, run: &str, end: &RunEnd) -> BTreeMap<u32, String> {
        let mut ids = BTreeMap::new();
        if self.info.world_size <= 1 {
            return ids;
        }
        for rank in 0..self.info.world_size {
            let reported = if rank == 0 {
                let mut me = self.info.clone();
                me.end(end.status, end.error.clone(), end.time);
                Some(me.rank_info())
            } else {
                RunDir::at(&self.dir).rank_info(rank).ok().flatten()
            };
            let id = format!("rank/{rank}");
            let mut attrs = attributes([
                ("prov:type", name("labbook:Rank")),
                ("labbook:rank", long(rank)),
            ]);
            if let Some(r) = &reported {
                attrs.insert("prov:startTime".into(), time_text(r.start_unix).into());
                if let Some(t) = r.end_unix {
                    attrs.insert("prov:endTime".into(), time_text(t).into());
                }
                attrs.insert("labbook:status".into(), r.status.as_str().into());
                attrs.insert("labbook:pid".into(), long(r.pid));
            }
            doc.element("activity", &id, attrs);
            doc.relation(
                "wasInformedBy",
                &[("prov:informed", &id), ("prov:informant", run)],
                Default::default(),
            );
            if let Some(r) = &reported {
                let host = host_agent(doc, &r.host);
                doc.relation(
                    "wasAssociatedWith",
                    &[("prov:activity", &id), ("prov:agent", &host)],
                    Default::default(),
                );
            }
            ids.insert(rank, id);
        }
        ids
    }
}

fn host_agent(doc: &mut Document, host: &str) -> String {
    let id = format!("host/{}", local(host));
    doc.element(
        "agent",
        &id,
        attributes([
            ("prov:type", name("labbook:Host")),
            ("prov:label", host.into()),
        ]),
    );
    id
}
