//! Which checkpoint a resumed run continues from when several sites save checkpoints.
//!
//! The rule, per rank: a resumed run continues from the newest checkpoint that is a *resume
//! point* and whose files all verify. A checkpoint is a resume point unless another
//! checkpoint site further down the function was due to save in the same pass: its
//! countdown was at zero and it had run since the site's previous checkpoint (the sidecar
//! records these as `due_after`). `model` saved and `optimizer` about to save is half a
//! pass, so resuming waits for the `optimizer` checkpoint, or goes back to the pass
//! before; a site that saves less often, or only under an `if`, holds nothing back. At a
//! resume point every site's *current* checkpoint (the last one it saved before that
//! moment) is what `restore` loads, so the model and the optimizer always come from the same
//! moment, and the streams and counters are rolled back to that moment too.

use std::collections::BTreeMap;

use super::files::Saved;

/// A resume point and, for each site that had saved by then, its current checkpoint.
#[derive(Debug)]
pub(crate) struct Point<'a> {
    pub at: &'a Saved,
    pub current: BTreeMap<String, &'a Saved>,
}

/// The checkpoints of one rank (oldest first), grouped by site.
pub(crate) struct History<'a> {
    saved: &'a [Saved],
    /// Site name → positions in `saved`, oldest first.
    sites: BTreeMap<&'a str, Vec<usize>>,
}

impl<'a> History<'a> {
    pub fn new(saved: &'a [Saved]) -> History<'a> {
        let mut sites: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (position, s) in saved.iter().enumerate() {
            sites.entry(&s.sidecar.name).or_default().push(position);
        }
        History { saved, sites }
    }

    /// The names of the sites that have saved a checkpoint.
    pub fn sites(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.sites.keys().copied()
    }

    /// Every resume point, newest first, or why the one at a position cannot be used
    /// (a checkpoint it needs was removed).
    pub fn points(&self) -> impl Iterator<Item = (usize, Result<Point<'a>, String>)> + '_ {
        (0..self.saved.len())
            .rev()
            .filter(|&position| !self.half_a_pass(position))
            .map(|position| (position, self.point(position)))
    }

    /// Whether another checkpoint site further down the function was due to save right
    /// after the checkpoint at `position`.
    fn half_a_pass(&self, position: usize) -> bool {
        let at = &self.saved[position].sidecar;
        self.sites.iter().any(|(name, positions)| {
            let Some(&newest) = positions.last() else {
                return false;
            };
            let index = self.saved[newest].sidecar.index;
            let due = match &at.due_after {
                Some(due) => due.get(&index).is_some_and(|n| n == name),
                // Saved before sidecars said which sites were due: the countdown alone.
                None => at
                    .sites
                    .get(&index)
                    .is_some_and(|(n, c)| n == name && c.countdown == 0),
            };
            *name != at.name && index > at.index && due
        })
    }

    fn point(&self, position: usize) -> Result<Point<'a>, String> {
        let at = &self.saved[position];
        let mut current = BTreeMap::new();
        for (name, positions) in &self.sites {
            let before = positions.iter().rev().find(|&&p| p <= position);
            let index = self.saved[*positions.last().unwrap_or(&position)]
                .sidecar
                .index;
            let fired = at
                .sidecar
                .sites
                .get(&index)
                .filter(|(n, _)| n == name)
                .map(|(_, c)| c.fired);
            match (before, fired) {
                (_, Some(0)) => {}
                (Some(&p), Some(fired)) => {
                    let own = self.saved[p]
                        .sidecar
                        .sites
                        .get(&index)
                        .map(|(_, c)| c.fired);
                    if own != Some(fired) {
                        return Err(format!(
                            "the `{name}` checkpoint saved before step {} of `{}` was removed",
                            at.sidecar.step, at.sidecar.name
                        ));
                    }
                    current.insert((*name).to_owned(), &self.saved[p]);
                }
                (Some(&p), None) => {
                    current.insert((*name).to_owned(), &self.saved[p]);
                }
                (None, Some(_)) => {
                    return Err(format!(
                        "the `{name}` checkpoint saved before step {} of `{}` was removed",
                        at.sidecar.step, at.sidecar.name
                    ))
                }
                (None, None) => {}
            }
        }
        Ok(Point { at, current })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::Sidecar;
    use crate::gate::Counter;

    /// A checkpoint of `name` (site `index`) at `step`, with the counters of sites
    /// `model` (0) and `optimizer` (1) as `(countdown, fired)`.
    fn checkpoint(
        sequence: u64,
        name: &str,
        index: u32,
        step: u64,
        counters: [(u64, u64); 2],
    ) -> Saved {
        let sites = [("model", counters[0]), ("optimizer", counters[1])]
            .into_iter()
            .enumerate()
            .map(|(i, (n, (countdown, fired)))| {
                (i as u32, (n.to_owned(), Counter { countdown, fired }))
            })
            .collect();
        Saved {
            path: format!("{name}/{step}").into(),
            sidecar: Sidecar {
                run: "r/1".into(),
                step,
                file: String::new(),
                time: 0.0,
                sites,
                streams: BTreeMap::new(),
                name: name.into(),
                index,
                rank: 0,
                sequence,
                keep: 1,
                size: 0,
                crc32c: None,
                due_after: None,
                best: None,
            },
        }
    }

    /// Each resume point as (site, step, the step of every site's current checkpoint).
    type Points = Vec<(String, u64, Vec<(String, u64)>)>;

    fn steps(history: &History<'_>) -> Points {
        history
            .points()
            .filter_map(|(_, p)| p.ok())
            .map(|p| {
                let current = p
                    .current
                    .iter()
                    .map(|(n, s)| (n.clone(), s.sidecar.step))
                    .collect();
                (p.at.sidecar.name.clone(), p.at.sidecar.step, current)
            })
            .collect()
    }

    #[test]
    fn a_model_saved_without_its_optimizer_is_half_a_pass() {
        // Epochs 0 and 1 saved both; epoch 2 was killed between the two saves.
        let history_of = vec![
            checkpoint(1, "model", 0, 0, [(0, 1), (0, 0)]),
            checkpoint(2, "optimizer", 1, 0, [(0, 1), (0, 1)]),
            checkpoint(3, "model", 0, 1, [(0, 2), (0, 1)]),
            checkpoint(4, "optimizer", 1, 1, [(0, 2), (0, 2)]),
            checkpoint(5, "model", 0, 2, [(0, 3), (0, 2)]),
        ];
        let history = History::new(&history_of);
        let both = |step| vec![("model".to_owned(), step), ("optimizer".to_owned(), step)];
        assert_eq!(
            steps(&history),
            [
                ("optimizer".to_owned(), 1, both(1)),
                ("optimizer".to_owned(), 0, both(0)),
            ]
        );
    }

    #[test]
    fn a_site_that_saves_less_often_does_not_hold_the_others_back() {
        // The optimizer saves every 2nd epoch (countdown 1 after it saved).
        let history_of = vec![
            checkpoint(1, "model", 0, 0, [(0, 1), (0, 0)]),
            checkpoint(2, "optimizer", 1, 0, [(0, 1), (1, 1)]),
            checkpoint(3, "model", 0, 1, [(0, 2), (0, 1)]),
            checkpoint(4, "model", 0, 2, [(0, 3), (1, 1)]),
        ];
        let history = History::new(&history_of);
        let points = steps(&history);
        assert_eq!(
            points[0],
            (
                "model".to_owned(),
                2,
                vec![("model".to_owned(), 2), ("optimizer".to_owned(), 0)]
            )
        );
        assert_eq!(points.len(), 2, "model at 1 was half a pass: {points:?}");
    }

    #[test]
    fn a_site_saved_only_under_an_if_holds_nothing_back() {
        // `if epoch % 10 == 0 { optimizer }`: its countdown stays at zero, but after the
        // first pass it no longer runs between two model checkpoints.
        let due = |due: bool| -> Option<BTreeMap<u32, String>> {
            Some(
                due.then(|| (1, "optimizer".to_owned()))
                    .into_iter()
                    .collect(),
            )
        };
        let mut history_of = vec![
            checkpoint(1, "model", 0, 0, [(0, 1), (0, 0)]),
            checkpoint(2, "optimizer", 1, 0, [(0, 1), (0, 1)]),
            checkpoint(3, "model", 0, 1, [(0, 2), (0, 1)]),
            checkpoint(4, "model", 0, 2, [(0, 3), (0, 1)]),
        ];
        for (position, due_now) in [(0, true), (2, true), (3, false)] {
            history_of[position].sidecar.due_after = due(due_now);
        }
        let history = History::new(&history_of);
        assert_eq!(
            steps(&history)[0],
            (
                "model".to_owned(),
                2,
                vec![("model".to_owned(), 2), ("optimizer".to_owned(), 0)]
            )
        );
    }

    #[test]
    fn a_point_whose_other_checkpoint_was_removed_is_refused() {
        let history_of = vec![
            checkpoint(3, "model", 0, 1, [(0, 2), (0, 1)]),
            checkpoint(4, "optimizer", 1, 1, [(0, 2), (0, 2)]),
        ];
        let history = History::new(&history_of);
        let mut points = history.points();
        assert!(points.next().unwrap().1.is_ok());
        assert!(points.next().is_none(), "model at 1 is half a pass");
        // The model checkpoint of epoch 1 is gone: resume falls back to epoch 0.
        let gone = vec![
            checkpoint(1, "model", 0, 0, [(0, 1), (0, 0)]),
            checkpoint(2, "optimizer", 1, 0, [(0, 1), (0, 1)]),
            checkpoint(4, "optimizer", 1, 1, [(0, 2), (0, 2)]),
        ];
        let history = History::new(&gone);
        let mut points = history.points();
        let err = points.next().unwrap().1.unwrap_err();
        assert_eq!(points.next().unwrap().1.unwrap().at.sidecar.step, 0);
        assert!(err.contains("`model`"), "{err}");
    }
}
