//! Which checkpoint of a run `labbook register` registers: the best by the metric its site
//! keeps (`best.meta.json`), the newest, or the one saved at a step. Read from rank 0's
//! sidecars in `checkpoints/`; the file must be there, with the size its sidecar recorded.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use crate::checkpoint::{self, Score, Sidecar};

/// Which checkpoint of a run: `best`, `last` or `step-N`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Choice {
    /// The best by the metric its site keeps the best of (`best = "m", mode = max|min`).
    Best,
    /// The newest.
    Last,
    /// The one saved at this step.
    Step(u64),
}

impl FromStr for Choice {
    type Err = String;

    fn from_str(text: &str) -> Result<Choice, String> {
        match text {
            "best" => Ok(Choice::Best),
            "last" => Ok(Choice::Last),
            _ => text
                .strip_prefix("step-")
                .and_then(|step| step.parse().ok())
                .map(Choice::Step)
                .ok_or_else(|| {
                    format!("`{text}` is not a checkpoint: use best, last or step-N (N a step)")
                }),
        }
    }
}

impl fmt::Display for Choice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Choice::Best => f.write_str("best"),
            Choice::Last => f.write_str("last"),
            Choice::Step(step) => write!(f, "step-{step}"),
        }
    }
}

/// The checkpoint chosen.
#[derive(Clone, Debug, PartialEq)]
pub struct Chosen {
    /// The file, relative to the run directory: `checkpoints/model/step-0000000300.json`.
    pub file: String,
    /// Its checkpoint site (`model`).
    pub site: String,
    /// The step it was saved at.
    pub step: u64,
    /// Its size in bytes.
    pub size: u64,
    /// The metric its site keeps the best of, and its value at this checkpoint.
    pub score: Option<Score>,
}

/// One site's checkpoints: its step sidecars, oldest first, and the best one's.
#[derive(Default)]
struct Site {
    steps: Vec<Sidecar>,
    best: Option<Sidecar>,
}

/// The checkpoint `choice` of the run in `dir`, of `site` when given (needed when several
/// sites have one); the error says what the run has.
pub(crate) fn choose(dir: &Path, choice: Choice, site: Option<&str>) -> Result<Chosen, String> {
    let mut sites: BTreeMap<String, Site> = BTreeMap::new();
    for (stem, sidecar) in checkpoint::sidecars(dir) {
        if sidecar.rank != 0 || !dir.join(&sidecar.file).is_file() {
            continue;
        }
        let entry = sites.entry(sidecar.name.clone()).or_default();
        if stem.rsplit('/').next() == Some("best") {
            entry.best = Some(sidecar);
        } else {
            entry.steps.push(sidecar);
        }
    }
    for found in sites.values_mut() {
        found.steps.sort_by_key(|s| (s.sequence, s.step));
    }
    if sites.is_empty() {
        return Err("the run has no checkpoint (a `#[log(checkpoint)]` site saves them)".into());
    }
    if let Some(wanted) = site {
        if !sites.contains_key(wanted) {
            return Err(format!(
                "the run has no checkpoint site `{wanted}`; it has {}",
                names(&sites)
            ));
        }
        sites.retain(|name, _| name == wanted);
    }
    let matches: Vec<(&String, &Sidecar)> = sites
        .iter()
        .filter_map(|(name, found)| {
            let sidecar = match choice {
                Choice::Best => found.best.as_ref(),
                Choice::Last => found.steps.last(),
                Choice::Step(step) => found.steps.iter().rev().find(|s| s.step == step),
            };
            Some((name, sidecar?))
        })
        .collect();
    match matches.as_slice() {
        [] => Err(format!(
            "the run has no {} checkpoint; it has {}",
            choice,
            listing(&sites)
        )),
        [(name, sidecar)] => chosen(dir, name, sidecar),
        _ => Err(format!(
            "several checkpoint sites have a {} checkpoint ({}); choose one with --site",
            choice,
            names(&sites)
        )),
    }
}

fn chosen(dir: &Path, site: &str, sidecar: &Sidecar) -> Result<Chosen, String> {
    let size = std::fs::metadata(dir.join(&sidecar.file))
        .map_err(|e| format!("cannot read {}: {e}", sidecar.file))?
        .len();
    if sidecar.size != 0 && size != sidecar.size {
        return Err(format!(
            "{} has {size} bytes where its sidecar recorded {}: it was cut short or changed after it was saved",
            sidecar.file, sidecar.size
        ));
    }
    Ok(Chosen {
        file: sidecar.file.clone(),
        site: site.to_owned(),
        step: sidecar.step,
        size,
        score: sidecar.best.clone(),
    })
}

fn site_name(name: &str) -> String {
    if name.is_empty() {
        format!("`{}`", checkpoint::FOLDER)
    } else {
        format!("`{name}`")
    }
}

fn names(sites: &BTreeMap<String, Site>) -> String {
    sites
        .keys()
        .map(|name| site_name(name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What each site has: `` `model`: steps 100, 200, 300 (best: step 200) ``.
fn listing(sites: &BTreeMap<String, Site>) -> String {
    sites
        .iter()
        .map(|(name, found)| {
            let steps: Vec<String> = found.steps.iter().map(|s| s.step.to_string()).collect();
            let mut text = format!("{}: steps {}", site_name(name), steps.join(", "));
            match &found.best {
                Some(best) => text += &format!(" (best: step {})", best.step),
                None => text += " (no best: the site keeps none by a metric)",
            }
            text
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_read_as_written() {
        assert_eq!("best".parse(), Ok(Choice::Best));
        assert_eq!("last".parse(), Ok(Choice::Last));
        assert_eq!("step-0000000300".parse(), Ok(Choice::Step(300)));
        assert_eq!(Choice::Step(7).to_string(), "step-7");
        assert_eq!(
            "newest".parse::<Choice>(),
            Err("`newest` is not a checkpoint: use best, last or step-N (N a step)".into())
        );
        assert!("step-x".parse::<Choice>().is_err());
    }
}
