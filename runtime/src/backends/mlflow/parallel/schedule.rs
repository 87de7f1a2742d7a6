//! Which metrics batches may be in flight together, and how many.
//!
//! Several `log-batch` requests for the same run and metric at once are safe on MLflow's SQL
//! stores once the server holds a point of that metric: each request inserts its own points
//! and then updates the metric's latest-value row under a row lock, so the requests queue
//! only for that small update, and the history is ordered by step whatever order the
//! requests land in. The one race is the first point of a metric: two requests that both
//! find no latest-value row both insert one, and the second fails on the unique key (MLflow
//! then redoes it, after an extra query of every point in the request). So a metric new to
//! the server is opened by one request, and the batches after it wait for the next
//! [`waves`] wave.
//!
//! How many requests are in flight adapts to the server: see
//! [`Concurrency`](crate::backends::mlflow::concurrency::Concurrency).

use std::collections::BTreeSet;

use super::super::engine::Batch;

/// Splits a window of batches, in the order they were filled, into waves sent one after
/// another: within a wave, a stream whose first points the server does not hold yet (its
/// progress before the batch is zero points) is in one batch only.
pub(super) fn waves(batches: Vec<Batch>) -> Vec<Vec<Batch>> {
    let mut waves: Vec<Vec<Batch>> = Vec::new();
    let mut opened: BTreeSet<String> = BTreeSet::new();
    for batch in batches {
        let waits = batch
            .streams
            .keys()
            .any(|relative| opened.contains(relative));
        match waves.last_mut() {
            Some(wave) if !waits => wave.push(batch),
            _ => {
                opened.clear();
                waves.push(vec![batch]);
            }
        }
        let wave = waves.last().expect("a wave was just filled");
        for (relative, (_, before, _)) in &wave.last().expect("just pushed").streams {
            if before.points == 0 {
                opened.insert(relative.clone());
            }
        }
    }
    waves
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backends::mlflow::state::Progress;

    /// A batch holding `points` points of each stream, after `before` points of it.
    fn batch(streams: &[(&str, u64)], points: u64) -> Batch {
        let mut batch = Batch::default();
        for (name, before) in streams {
            let at = |points| Progress {
                points,
                ..Progress::default()
            };
            batch.streams.insert(
                format!("metrics/{name}.jsonl"),
                (name.to_string(), at(*before), at(before + points)),
            );
        }
        batch
    }

    fn shape(waves: &[Vec<Batch>]) -> Vec<Vec<Vec<String>>> {
        waves
            .iter()
            .map(|wave| {
                wave.iter()
                    .map(|b| b.streams.values().map(|(k, _, _)| k.clone()).collect())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn a_metric_new_to_the_server_is_opened_by_one_request_before_others_join_it() {
        // One metric from its start: the first batch alone, then the rest together.
        let fresh = vec![
            batch(&[("loss", 0)], 1000),
            batch(&[("loss", 1000)], 1000),
            batch(&[("loss", 2000)], 1000),
            batch(&[("loss", 3000)], 1000),
        ];
        assert_eq!(
            shape(&waves(fresh)),
            vec![
                vec![vec!["loss"]],
                vec![vec!["loss"], vec!["loss"], vec!["loss"]]
            ]
        );
        // The server holds points of it already: all four in flight at once.
        let held = (0..4).map(|i| batch(&[("loss", 5000 + i * 1000)], 1000));
        assert_eq!(shape(&waves(held.collect())).len(), 1);
    }

    #[test]
    fn new_metrics_in_different_requests_go_together() {
        // Two metrics opened by two different requests, then a third batch that continues
        // `acc` (opened in this wave) and must wait, taking `lr` (held) with it.
        let window = vec![
            batch(&[("loss", 0)], 1000),
            batch(&[("acc", 0), ("lr", 7)], 500),
            batch(&[("acc", 500), ("lr", 507)], 500),
            batch(&[("lr", 1007)], 1000),
        ];
        assert_eq!(
            shape(&waves(window)),
            vec![
                vec![vec!["loss"], vec!["acc", "lr"]],
                vec![vec!["acc", "lr"], vec!["lr"]]
            ]
        );
        assert!(waves(Vec::new()).is_empty());
    }
}
