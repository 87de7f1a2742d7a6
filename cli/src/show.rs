//! `labbook show RUN`: info, config, params, every stream with its count and range,
//! artifacts and checkpoints.

use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::Value;

use super::store::{self, Run};
use super::table::{self, Table};
use super::warn;
use labbook::checkpoint::{self, Sidecar};
use labbook::store::read::{self, Store};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// `experiment/id`, `experiment` (its latest run) or a run directory.
    run: String,
}

/// At most this many artifact files are listed one by one.
const MAX_FILES: usize = 20;

pub(crate) fn run(store: &Store, args: &Args, out: &mut dyn Write) -> Result<()> {
    let run = Run::load(&store::resolve(store, &args.run)?)?;
    info(&run, out)?;
    if let Some(config) = run.dir.config()? {
        section(out, "config", &read::flatten(&config))?;
    }
    if let Some(params) = run.dir.params()? {
        section(out, "params", &read::flatten(&params))?;
    }
    metrics(&run, out)?;
    system(&run, out)?;
    texts(&run, out)?;
    histograms(&run, out)?;
    artifacts(&run, out)?;
    checkpoints(&run, out)?;
    Ok(())
}

fn info(run: &Run, out: &mut dyn Write) -> Result<()> {
    let info = &run.info;
    let mut lines: Vec<(&str, String)> = vec![
        ("run", run.label().to_owned()),
        ("status", run.state.as_str().to_owned()),
    ];
    if let Some(error) = &info.error {
        lines.push(("error", error.clone()));
    }
    if let Some(stop) = &info.stopped_early {
        lines.push((
            "stopped",
            format!("early at step {}: {}", stop.step, stop.reason),
        ));
    }
    if !info.overrides.is_empty() {
        let set: Vec<String> = info
            .overrides
            .iter()
            .map(|(key, o)| format!("{key}={} ({})", o.value, o.source))
            .collect();
        lines.push(("overrides", set.join(", ")));
    }
    let tags: Vec<String> = labbook::RunTags::of(info).joined().collect();
    if !tags.is_empty() {
        lines.push(("tags", tags.join(", ")));
    }
    if let Some(group) = &info.group {
        lines.push(("group", group.clone()));
    }
    if let Some(notes) = &info.notes {
        // Later lines of the notes line up under the first.
        lines.push((
            "notes",
            notes.lines().collect::<Vec<_>>().join("\n           "),
        ));
    }
    lines.push(("started", table::second(info.start_unix)));
    if let Some(end) = info.end_unix {
        lines.push(("ended", table::second(end)));
    }
    if let Some(duration) = run.duration(None) {
        lines.push(("duration", table::duration(duration)));
    }
    lines.push((
        "function",
        format!("{} ({})", info.function, info.source_file),
    ));
    lines.push(("command", info.command.join(" ")));
    if let Some(dir) = &info.working_dir {
        lines.push(("directory", dir.clone()));
    }
    let user = info
        .user
        .as_deref()
        .map_or(String::new(), |u| format!("user {u}, "));
    lines.push(("host", format!("{} ({user}pid {})", info.host, info.pid)));
    if let Some(git) = &info.git {
        let dirty = if git.dirty {
            " (uncommitted changes)"
        } else {
            ""
        };
        lines.push(("git", format!("{}{dirty}", git.commit)));
    }
    lines.extend(super::reproduce::facts(info));
    if info.world_size > 1 {
        lines.push((
            "ranks",
            format!("{} (launcher {})", info.world_size, info.launcher),
        ));
    }
    let features = if info.features.is_empty() {
        "no features".to_owned()
    } else {
        format!("features {}", info.features.join(", "))
    };
    lines.push(("labbook", format!("{}, {features}", info.labbook_version)));
    lines.push(("backends", info.backends.join(", ")));
    if info.resumes > 0 {
        let from = info
            .resumed_from_step
            .map_or(String::new(), |s| format!(", last from step {s}"));
        lines.push(("resumed", format!("{} times{from}", info.resumes)));
    }
    lines.push(("path", run.dir.path().display().to_string()));
    for (key, value) in lines {
        writeln!(out, "{key:<10} {value}")?;
    }
    let problems = run.problems();
    if !problems.is_empty() {
        writeln!(out, "\nproblems (not stored or not sent)")?;
        for line in problems {
            writeln!(out, "  {line}")?;
        }
    }
    super::reproduce::restore(info, run.dir.path(), out)?;
    Ok(())
}

fn section(
    out: &mut dyn Write,
    title: &str,
    values: &std::collections::BTreeMap<String, Value>,
) -> Result<()> {
    if values.is_empty() {
        return Ok(());
    }
    let width = values.keys().map(|k| k.chars().count()).max().unwrap_or(0);
    writeln!(out, "\n{title}")?;
    for (key, value) in values {
        writeln!(out, "  {key:<width$}  {}", store::text(value))?;
    }
    Ok(())
}

/// Writes `table` indented under a title.
fn titled(out: &mut dyn Write, title: &str, table: &Table) -> Result<()> {
    let mut text = Vec::new();
    table.write(&mut text)?;
    writeln!(out, "\n{title}")?;
    for line in String::from_utf8_lossy(&text).lines() {
        writeln!(out, "  {line}")?;
    }
    Ok(())
}

fn metrics(run: &Run, out: &mut dyn Write) -> Result<()> {
    scalars(run, run.dir.metrics(), "metric", "metrics", out)
}

/// The sampler's CPU, memory, disk and network streams, apart from the program's metrics.
fn system(run: &Run, out: &mut dyn Write) -> Result<()> {
    let title = "system (steps in seconds)";
    scalars(run, run.dir.system(), "system metric", title, out)
}

fn scalars(
    run: &Run,
    streams: Vec<read::StreamFile>,
    kind: &str,
    title: &str,
    out: &mut dyn Write,
) -> Result<()> {
    if streams.is_empty() {
        return Ok(());
    }
    let mut table = Table::new(["NAME", "COUNT", "STEPS", "LAST", "MIN", "MAX"]);
    for column in 1..6 {
        table.align_right(column);
    }
    for stream in streams {
        let name = stream.key();
        let read = stream
            .scalars()
            .with_context(|| format!("cannot read {kind} `{name}` of {}", run.label()))?;
        if let Some(warning) = read.warning {
            warn(warning);
        }
        let points = read.points;
        let finite = || points.iter().map(|p| p.value).filter(|v| !v.is_nan());
        let shown = |v: Option<f64>| v.map_or("-".into(), table::number);
        let steps = match (points.first(), points.last()) {
            (Some(first), Some(last)) => format!("{}–{}", first.step, last.step),
            _ => "-".into(),
        };
        table.push(vec![
            name,
            points.len().to_string(),
            steps,
            shown(points.last().map(|p| p.value)),
            shown(finite().reduce(f64::min)),
            shown(finite().reduce(f64::max)),
        ]);
    }
    titled(out, title, &table)
}

fn texts(run: &Run, out: &mut dyn Write) -> Result<()> {
    let streams = run.dir.texts();
    if streams.is_empty() {
        return Ok(());
    }
    let mut table = Table::new(["NAME", "COUNT", "LAST STEP", "LAST"]);
    table.align_right(1);
    table.align_right(2);
    for stream in streams {
        let name = stream.key();
        let read = stream
            .texts()
            .with_context(|| format!("cannot read text `{name}` of {}", run.label()))?;
        if let Some(warning) = read.warning {
            warn(warning);
        }
        let last = read.points.last();
        table.push(vec![
            name,
            read.points.len().to_string(),
            last.map_or("-".into(), |(step, _)| step.to_string()),
            last.map_or(String::new(), |(_, text)| text.clone()),
        ]);
    }
    titled(out, "text", &table)
}

fn histograms(run: &Run, out: &mut dyn Write) -> Result<()> {
    let streams = run.dir.histograms();
    if streams.is_empty() {
        return Ok(());
    }
    let mut table = Table::new(["NAME", "COUNT", "STEPS", "LAST MIN", "LAST MAX"]);
    for column in 1..5 {
        table.align_right(column);
    }
    for stream in streams {
        let name = stream.key();
        let read = stream
            .histograms()
            .with_context(|| format!("cannot read histogram `{name}` of {}", run.label()))?;
        if let Some(warning) = read.warning {
            warn(warning);
        }
        let points = &read.points;
        let steps = match (points.first(), points.last()) {
            (Some(first), Some(last)) => format!("{}–{}", first.0, last.0),
            _ => "-".into(),
        };
        let last = points.last().map(|p| &p.1);
        table.push(vec![
            name,
            points.len().to_string(),
            steps,
            last.map_or("-".into(), |s| table::number(s.min)),
            last.map_or("-".into(), |s| table::number(s.max)),
        ]);
    }
    titled(out, "histograms", &table)
}

fn artifacts(run: &Run, out: &mut dyn Write) -> Result<()> {
    let files: Vec<(String, u64)> = run
        .dir
        .files("artifacts")
        .iter()
        .filter_map(|f| {
            let relative = f.relative().strip_prefix("artifacts/")?;
            Some((relative.to_owned(), f.size()))
        })
        .collect();
    if files.is_empty() {
        return Ok(());
    }
    // Images are many small files: one line per image name.
    let mut images: std::collections::BTreeMap<String, (usize, u64)> = Default::default();
    let mut others = Vec::new();
    for (relative, size) in files {
        match relative
            .strip_prefix("images/")
            .and_then(|r| r.rsplit_once('/'))
        {
            Some((name, file)) if file.ends_with(".png") => {
                let entry = images.entry(name.to_owned()).or_default();
                entry.0 += 1;
                entry.1 += size;
            }
            _ => others.push((relative, size)),
        }
    }
    let mut table = Table::new(["PATH", "SIZE"]);
    table.align_right(1);
    for (name, (count, size)) in images {
        table.push(vec![
            format!("images/{name}/ ({count} images)"),
            table::size(size),
        ]);
    }
    let more = others.len().saturating_sub(MAX_FILES);
    for (relative, size) in others.into_iter().take(MAX_FILES) {
        table.push(vec![relative, table::size(size)]);
    }
    if more > 0 {
        table.push(vec![format!("… and {more} more files"), String::new()]);
    }
    titled(out, "artifacts", &table)
}

fn checkpoints(run: &Run, out: &mut dyn Write) -> Result<()> {
    let mut sidecars: Vec<(String, Sidecar)> = checkpoint::sidecars(run.dir.path());
    if sidecars.is_empty() {
        return Ok(());
    }
    sidecars.sort_by(|a, b| {
        let key = |s: &(String, Sidecar)| (s.1.step, s.0.ends_with("last"), s.0.clone());
        key(a).cmp(&key(b))
    });
    let mut table = Table::new(["FILE", "STEP", "SIZE", "SAVED (UTC)"]);
    table.align_right(1);
    table.align_right(2);
    for (stem, sidecar) in sidecars {
        let extension = Path::new(&sidecar.file)
            .extension()
            .map_or(String::new(), |e| format!(".{}", e.to_string_lossy()));
        let file = format!("{}/{stem}{extension}", checkpoint::FOLDER);
        let size = fs::metadata(run.dir.path().join(&file))
            .map_or("missing".into(), |m| table::size(m.len()));
        table.push(vec![
            file,
            sidecar.step.to_string(),
            size,
            table::second(sidecar.time)
                .trim_end_matches(" UTC")
                .to_owned(),
        ]);
    }
    titled(out, "checkpoints", &table)
}
