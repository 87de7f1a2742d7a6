//! A run as a listing of many runs shows it (`labbook ls`): its info, its config and the last
//! point of each metric, read with as little work as it takes. A finished run is two small
//! files (`info.json`, and `summary.json`, which holds the last points and the config), each
//! opened by its name in the run's folder held open.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::folder::Folder;
use super::run::{parse_json, RunDir, State};
use crate::error::{Error, Result};
use crate::store::jsonl::Point;
use crate::store::layout;
use crate::store::meta::Info;

/// What [`RunDir::overview`] reads of a run.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Overview {
    /// `metadata/info.json`.
    pub info: Info,
    /// Where the run is ([`RunDir::state_of`] its info).
    pub state: State,
    /// The `#[config]` argument, as [`RunDir::config`] reads it; `None` for a run without
    /// one, or one whose config could not be read (a warning says why).
    pub config: Option<Value>,
    /// The last point of each metric stream the listing wants, as
    /// [`RunDir::last_points`] reads them.
    pub points: BTreeMap<String, Point>,
    /// What was left out, one sentence each: a torn last line, a stream or a config that
    /// could not be read.
    pub warnings: Vec<String>,
}

impl RunDir {
    /// The run's info and state, and, if `admit` accepts them, its config and the last point
    /// of every metric stream whose key `wanted` accepts: what a listing of many runs shows
    /// of each. `Ok(None)` for a run `admit` leaves out, which is read no further.
    ///
    /// The same as [`RunDir::info`], [`RunDir::config`] and [`RunDir::last_points`] one after
    /// the other, for less: a finished run is read from its info and its summary alone (the
    /// summary recorded the config), each opened by its name in the run's folder.
    ///
    /// ```
    /// use labbook::prelude::*;
    /// use labbook::store::read::{State, Store};
    ///
    /// #[derive(Serialize)]
    /// struct Hp { lr: f64 }
    ///
    /// #[experiment(name = "glance")]
    /// fn train(#[config] hp: &Hp) {
    ///     for step in 0..20 {
    ///         #[log(metric, every = 5)]
    ///         let loss = hp.lr / (step as f64 + 1.0);
    ///     }
    /// }
    ///
    /// # let dir = tempfile::tempdir().unwrap();
    /// # std::env::set_var("LABBOOK_DIR", dir.path());
    /// # std::env::set_var("LABBOOK_CONSOLE", "off");
    /// # std::env::set_var("LABBOOK_SYSTEM", "off");
    /// train(&Hp { lr: 0.5 });
    /// let run = Store::from_env()?.run("glance", 1)?;
    /// let seen = run.overview(|_, state| state == State::Complete, |_| true)?.unwrap();
    /// assert_eq!(seen.config, run.config()?);
    /// assert_eq!(seen.points["loss"].step, 15);
    /// assert!(run.overview(|_, state| state == State::Failed, |_| true)?.is_none());
    /// # Ok::<(), labbook::Error>(())
    /// ```
    pub fn overview(
        &self,
        admit: impl FnOnce(&Info, State) -> bool,
        wanted: impl Fn(&str) -> bool,
    ) -> Result<Option<Overview>> {
        // A run a walk found is read by its name in the experiment's folder it holds open.
        let opened;
        let (folder, here) = match self.found_in() {
            Some(found) => (&*found.folder, Path::new(&found.name)),
            None => {
                opened = Folder::open(self.path()).map_err(|source| Error::NotARun {
                    path: self.path().to_owned(),
                    source,
                })?;
                (&opened, Path::new(""))
            }
        };
        let info = self.parse_info(folder.read(layout::info_file(here)))?;
        let state = self.state_of(&info);
        if !admit(&info, state) {
            return Ok(None);
        }
        let summary = |rank| folder.read(layout::summary_file(here, rank)).ok();
        let (last, recorded) = self.last_points_from(&info, summary, wanted);
        let mut warnings = last.warnings;
        let config = recorded.unwrap_or_else(|| {
            let name = here.join(layout::METADATA).join(layout::CONFIG_FILE);
            let path = folder.path().join(&name);
            parse_json(&path, folder.read(&name))
                .map_err(|e| warnings.push(format!("{}: {e}", self.label())))
                .ok()
                .flatten()
        });
        Ok(Some(Overview {
            info,
            state,
            config,
            points: last.points,
            warnings,
        }))
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use serde_json::json;

    use super::*;
    use crate::store::jsonl::push_scalar;
    use crate::store::summary::Summary;

    const END: f64 = 1_700_000_100.5;

    /// A finished run with a config and a `loss` stream whose last point is step 7.
    fn finished(root: &Path) -> RunDir {
        let dir = root.join("fit/1");
        fs::create_dir_all(dir.join("metadata")).unwrap();
        fs::create_dir_all(dir.join("metrics")).unwrap();
        let info = json!({
            "experiment": "fit", "id": 1, "status": "COMPLETE",
            "start_time": "2023-11-14T22:13:20.000Z", "start_unix": 1.7e9, "end_unix": END,
            "function": "train", "source_file": "train.rs", "command": ["train"],
            "executable": null, "working_dir": null, "host": "elsewhere", "user": null,
            "pid": 1, "rank": 0, "world_size": 1, "launcher": "none",
            "labbook_version": "0.1.0", "features": [], "backends": ["local"],
            "queue_blocked_s": 0.0,
        });
        fs::write(dir.join("metadata/info.json"), info.to_string()).unwrap();
        fs::write(dir.join("metadata/config.json"), r#"{"lr":0.5}"#).unwrap();
        let mut stream = Vec::new();
        for step in 0..8 {
            push_scalar(&mut stream, step, step as f64, 1.7e9 + step as f64);
        }
        fs::write(dir.join("metrics/loss.jsonl"), stream).unwrap();
        RunDir::at(dir)
    }

    fn seen(run: &RunDir) -> Overview {
        run.overview(|_, _| true, |_| true).unwrap().unwrap()
    }

    /// Its summary as the run writes it at its end, with `loss` planted as `value`.
    fn summarise(run: &RunDir, value: f64) {
        let mut metrics = run.summary_of_rank(0).unwrap();
        metrics.get_mut("loss").unwrap().value = value;
        let summary = Summary {
            rank: 0,
            end_unix: END,
            metrics,
        };
        summary.write(run.path()).unwrap();
    }

    #[test]
    fn an_overview_is_the_info_the_config_and_the_last_points() {
        let store = tempfile::tempdir().unwrap();
        let run = finished(store.path());
        let info = run.info().unwrap();

        // No summary: the streams and config.json.
        let plain = seen(&run);
        let as_json = |info: &Info| serde_json::to_value(info).unwrap();
        assert_eq!(as_json(&plain.info), as_json(&info));
        assert_eq!(plain.state, State::Complete);
        assert_eq!(plain.config, run.config().unwrap());
        assert_eq!(plain.points, run.last_points(&info, |_| true).points);
        assert_eq!(plain.points["loss"].step, 7);
        assert!(plain.warnings.is_empty(), "{:?}", plain.warnings);

        // The summary holds the last points and the config, config.json is not read.
        summarise(&run, 42.0);
        fs::remove_file(run.path().join("metadata/config.json")).unwrap();
        let summarised = seen(&run);
        assert_eq!(summarised.points["loss"].value, 42.0);
        assert_eq!(summarised.config, Some(json!({"lr": 0.5})));

        // A summary an older labbook wrote has no config: config.json is read.
        let path = run.path().join("metadata/summary.json");
        let mut old: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        old.as_object_mut().unwrap().remove("config");
        fs::write(&path, old.to_string()).unwrap();
        fs::write(run.path().join("metadata/config.json"), r#"{"lr":0.25}"#).unwrap();
        let older = seen(&run);
        assert_eq!(older.points["loss"].value, 42.0, "its points still count");
        assert_eq!(older.config, Some(json!({"lr": 0.25})));

        // A stale summary (written at another end) is not read at all.
        old["end_unix"] = json!(END - 60.0);
        old["config"] = json!({"lr": 9});
        fs::write(&path, old.to_string()).unwrap();
        let stale = seen(&run);
        assert_eq!(stale.points["loss"].value, 7.0);
        assert_eq!(stale.config, Some(json!({"lr": 0.25})));
    }

    #[test]
    fn a_run_left_out_is_read_no_further_and_a_bad_config_is_a_warning() {
        let store = tempfile::tempdir().unwrap();
        let run = finished(store.path());
        let asked = run.overview(
            |info, state| info.id == 2 && state == State::Complete,
            |_| panic!("a run left out has no metrics read"),
        );
        assert!(asked.unwrap().is_none());

        fs::write(run.path().join("metadata/config.json"), "{\"lr\": 0.").unwrap();
        let only_loss = run
            .overview(|_, _| true, |key| key == "loss")
            .unwrap()
            .unwrap();
        assert_eq!(only_loss.config, None);
        assert_eq!(only_loss.points.keys().collect::<Vec<_>>(), ["loss"]);
        assert_eq!(only_loss.warnings.len(), 1, "{:?}", only_loss.warnings);
        assert!(
            only_loss.warnings[0].contains("config.json"),
            "{:?}",
            only_loss.warnings
        );

        let missing = RunDir::at(store.path().join("fit/2")).overview(|_, _| true, |_| true);
        assert!(matches!(missing, Err(Error::NotARun { .. })), "{missing:?}");
    }

    #[test]
    fn a_run_the_walk_found_reads_as_the_same_run_named_by_its_path() {
        let store = tempfile::tempdir().unwrap();
        summarise(&finished(store.path()), 42.0);
        let opened = super::super::Store::open(store.path()).unwrap();
        let found = opened.runs().unwrap();
        let by_path = opened.run("fit", 1).unwrap();
        assert_eq!(
            found,
            std::slice::from_ref(&by_path),
            "the same run, whoever found it"
        );
        let (walked, named) = (seen(&found[0]), seen(&by_path));
        let as_json = |info: &Info| serde_json::to_value(info).unwrap();
        assert_eq!(as_json(&walked.info), as_json(&named.info));
        assert_eq!(walked.points, named.points);
        assert_eq!(walked.config, named.config);

        // Gone after the walk: the same error as for a path that holds no run.
        fs::remove_dir_all(by_path.path()).unwrap();
        let gone = found[0].overview(|_, _| true, |_| true);
        assert!(matches!(gone, Err(Error::NotARun { .. })), "{gone:?}");
    }
}
