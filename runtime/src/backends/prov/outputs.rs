//! The run's outputs as entities: stream files of every rank, image series, checkpoints
//! and artifacts, each with its file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::document::{attributes, double, local, long, name, time, time_text, Document};
use super::{Prov, Stream, IMAGES};
use crate::backend::RunEnd;
use crate::store::layout;
use crate::store::read::{RunDir, RunFile, StreamKind};

/// One stream entity: its id, name, type and file or folder.
struct Output<'a> {
    id: String,
    label: &'a str,
    type_name: &'a str,
    path: &'a Path,
}

impl Prov {
    /// Every stream file and image series in the run directory.
    pub(super) fn streams(&self, doc: &mut Document, run: &str, ranks: &BTreeMap<u32, String>) {
        let kinds = [
            (StreamKind::Metric, "metric", "provml:Metric"),
            (StreamKind::Text, "text", "labbook:Text"),
            (StreamKind::Histogram, "histogram", "labbook:Histogram"),
        ];
        let run_dir = RunDir::at(&self.dir);
        for (kind_of, kind, type_name) in kinds {
            let folder = kind_of.folder();
            for file in run_dir.streams(kind_of) {
                let (stream, rank, path) = (file.name(), file.rank(), file.path());
                let seen = (rank == self.info.rank)
                    .then(|| self.streams.get(&(folder, stream.to_owned())).copied())
                    .flatten();
                let prefix = if rank == 0 {
                    String::new()
                } else {
                    format!("rank/{rank}/")
                };
                let output = Output {
                    id: format!("{prefix}{kind}/{}", local(stream)),
                    label: stream,
                    type_name,
                    path,
                };
                let by = ranks
                    .get(&rank)
                    .filter(|_| rank != 0)
                    .map_or(run, |s| s.as_str());
                self.stream_entity(doc, &output, seen, by);
            }
        }
        let images = self.dir.join(layout::ARTIFACTS).join(IMAGES);
        let prefix = format!("{}/{IMAGES}/", layout::ARTIFACTS);
        let mut series: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
        for file in run_dir.files(images.strip_prefix(&self.dir).unwrap_or(&images)) {
            let Some((name, _)) = file
                .relative()
                .strip_prefix(&prefix)
                .and_then(|r| r.rsplit_once('/'))
            else {
                continue;
            };
            series
                .entry(name.to_owned())
                .or_default()
                .push(file.path().to_owned());
        }
        for (stream, files) in series {
            let seen = self.streams.get(&(IMAGES, stream.clone())).copied();
            let folder = images.join(&stream);
            let output = Output {
                id: format!("image/{}", local(&stream)),
                label: &stream,
                type_name: "labbook:Image",
                path: &folder,
            };
            self.stream_entity(doc, &output, seen, run);
            doc.element(
                "entity",
                &output.id,
                attributes([("labbook:files", long(files.len() as u64))]),
            );
        }
    }

    fn stream_entity(
        &self,
        doc: &mut Document,
        output: &Output<'_>,
        seen: Option<Stream>,
        by: &str,
    ) {
        let mut attrs = attributes([
            ("prov:type", name(output.type_name)),
            ("prov:label", output.label.into()),
            (
                "dcterms:identifier",
                layout::relative(&self.dir, output.path).into(),
            ),
            ("yprov:file_size", long(size(output.path))),
        ]);
        if let Some(s) = &seen {
            attrs.insert("labbook:points".into(), long(s.points));
            attrs.insert("labbook:first_step".into(), long(s.first_step));
            attrs.insert("labbook:last_step".into(), long(s.last_step));
            attrs.insert("prov:generatedAtTime".into(), time(s.last_time));
            if let Some(v) = s.last_value {
                attrs.insert("labbook:last_value".into(), double(v));
            }
        }
        doc.element("entity", &output.id, attrs);
        generated(doc, &output.id, by, seen.map(|s| s.last_time));
    }

    /// Checkpoints this process wrote, those on disk from before a resume, and the one it
    /// resumed from.
    pub(super) fn checkpoints(&self, doc: &mut Document, run: &str, end: &RunEnd) {
        let id_of = |path: &Path| -> Option<String> {
            let file = path.file_name()?.to_str()?;
            let stem = file.strip_prefix("step-")?.split('.').next()?;
            Some(format!("checkpoint/step-{stem}"))
        };
        let entity = |doc: &mut Document, id: &str, path: &Path, step: Option<u64>| {
            let mut attrs = attributes([
                ("prov:type", name("provml:Model")),
                (
                    "dcterms:identifier",
                    layout::relative(&self.dir, path).into(),
                ),
                ("prov:role", "output".into()),
            ]);
            if path.exists() {
                attrs.insert("yprov:file_size".into(), long(size(path)));
            }
            if let Some(step) = step {
                attrs.insert("labbook:step".into(), long(step));
            }
            doc.element("entity", id, attrs);
        };
        for (path, site, step, when) in &self.checkpoints {
            let Some(id) = id_of(path) else { continue };
            entity(doc, &id, path, Some(*step));
            let more = attributes([
                ("prov:label", site.as_str().into()),
                ("prov:generatedAtTime", time(*when)),
            ]);
            doc.element("entity", &id, more);
            generated(doc, &id, run, Some(*when));
            if !path.exists() {
                let at = attributes([("prov:time", time_text(end.time).into())]);
                doc.relation(
                    "wasInvalidatedBy",
                    &[("prov:entity", &id), ("prov:activity", run)],
                    at,
                );
            }
        }
        let sidecar = format!(".{}", crate::checkpoint::SIDECAR);
        let on_disk = RunDir::at(&self.dir).files(crate::checkpoint::FOLDER);
        for path in on_disk.iter().map(RunFile::path) {
            let file = path
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            if file.ends_with(&sidecar) || file.contains(".tmp.") {
                continue;
            }
            let Some(id) = id_of(path) else { continue };
            if !doc.has("entity", &id) {
                entity(doc, &id, path, None);
                generated(doc, &id, run, None);
            }
        }
        if let Some(step) = self.info.resumed_from_step {
            let id = format!("checkpoint/step-{step:010}");
            if doc.has("entity", &id) {
                doc.relation(
                    "used",
                    &[("prov:activity", run), ("prov:entity", &id)],
                    Default::default(),
                );
            }
        }
    }

    pub(super) fn artifacts(&self, doc: &mut Document, run: &str) {
        for (path, site, when) in &self.artifacts {
            let rel = layout::relative(&self.dir, path);
            let id = format!("artifact/{}", local(rel.trim_start_matches("artifacts/")));
            let mut attrs = attributes([
                ("prov:type", name("labbook:Artifact")),
                ("prov:label", site.as_str().into()),
                ("dcterms:identifier", rel.into()),
                ("yprov:file_size", long(size(path))),
                ("prov:role", "output".into()),
            ]);
            attrs.insert("prov:generatedAtTime".into(), time(*when));
            doc.element("entity", &id, attrs);
            generated(doc, &id, run, Some(*when));
        }
    }
}

/// The bytes of a file, or of every file in a folder (links not followed).
pub(super) fn size(path: &Path) -> u64 {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => RunDir::at(path).size(),
        Ok(meta) if meta.is_file() => meta.len(),
        _ => 0,
    }
}

/// `wasGeneratedBy`, at `when` if known.
fn generated(doc: &mut Document, entity: &str, activity: &str, when: Option<f64>) {
    let at = when.map(|t| ("prov:time".to_owned(), time_text(t).into()));
    doc.relation(
        "wasGeneratedBy",
        &[("prov:entity", entity), ("prov:activity", activity)],
        at.into_iter().collect(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_relative_with_forward_slashes() {
        let dir = Path::new("/runs/x/1");
        assert_eq!(
            layout::relative(dir, &dir.join("metrics").join("a b.jsonl")),
            "metrics/a b.jsonl"
        );
    }
}
