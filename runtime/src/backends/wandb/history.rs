//! How labbook records become W&B history rows and values.
//!
//! W&B keeps one history table per run whose `_step` must only grow, while every labbook
//! stream counts its own steps (a loss every batch, an accuracy every epoch). So `_step` is
//! the row number, and each row also carries the labbook step under [`STEP_KEY`], which a
//! `MetricRecord` (`define_metric`) makes every metric's x-axis. Records with the same step
//! that follow each other share a row. A row is written when the next step begins or the run
//! ends, so a killed process loses at most its last row here (the local store has it).

use crate::histogram::Summary;
use crate::image::Image;

use super::files::Media;
use super::proto::Item;

/// The history key that holds each row's labbook step.
pub const STEP_KEY: &str = "labbook/step";

/// The records of one labbook step, merged until the step changes or a name repeats. Its
/// items are kept from row to row, so a steady loop writes rows without allocating.
#[derive(Debug, Default)]
pub struct Row {
    pub step: u64,
    /// The wall time of the latest record.
    pub time: f64,
    /// The first `len` items are this row's.
    len: usize,
    items: Vec<Item>,
}

impl Row {
    /// Whether a record can join this row rather than start the next one.
    pub fn takes(&self, key: &str, step: u64) -> bool {
        self.len == 0 || (self.step == step && self.items().iter().all(|i| i.key != key))
    }

    /// Adds a record to the row; returns its `value_json` to write into.
    pub fn push(&mut self, key: &str, step: u64, time: f64) -> &mut String {
        self.time = if self.len == 0 {
            time
        } else {
            self.time.max(time)
        };
        self.step = step;
        self.extra(key)
    }

    /// Adds an item that is not a record (`_step`, …).
    pub fn extra(&mut self, key: &str) -> &mut String {
        if self.len == self.items.len() {
            self.items.push(Item::default());
        }
        let item = &mut self.items[self.len];
        self.len += 1;
        item.key.clear();
        item.key.push_str(key);
        item.value_json.clear();
        &mut item.value_json
    }

    pub fn items(&self) -> &[Item] {
        &self.items[..self.len]
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Drops the row's items (a row that could not be written).
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// The row's items, to encode; hand them back with [`Row::reuse`].
    pub fn take(&mut self) -> Vec<Item> {
        self.items.truncate(self.len);
        self.len = 0;
        std::mem::take(&mut self.items)
    }

    pub fn reuse(&mut self, items: Vec<Item>) {
        self.items = items;
    }
}

/// A number as wandb writes it in `value_json`: NaN and infinities as the bare tokens
/// `NaN`, `Infinity` and `-Infinity` that Python's `json` reads.
pub fn number(value: f64) -> String {
    let mut out = String::new();
    write_number(&mut out, value);
    out
}

/// [`number`], appended to `out`.
pub fn write_number(out: &mut String, value: f64) {
    if value.is_nan() {
        out.push_str("NaN");
    } else if value.is_infinite() {
        out.push_str(if value > 0.0 { "Infinity" } else { "-Infinity" });
    } else {
        out.push_str(ryu::Buffer::new().format_finite(value));
    }
}

/// `wandb.Histogram` as logged: bucket counts and their `len + 1` edges.
pub fn histogram(summary: &Summary) -> String {
    let (values, bins) = if summary.buckets.is_empty() {
        (vec![0.0], vec![summary.min, summary.max])
    } else {
        let mut bins = Vec::with_capacity(summary.bucket_limits.len() + 1);
        bins.push(summary.min);
        bins.extend_from_slice(&summary.bucket_limits);
        (summary.buckets.clone(), bins)
    };
    let list = |v: &[f64]| v.iter().map(|x| number(*x)).collect::<Vec<_>>().join(",");
    format!(
        r#"{{"_type":"histogram","values":[{}],"bins":[{}]}}"#,
        list(&values),
        list(&bins)
    )
}

/// `wandb.Image` as logged: a reference to the PNG under the run's `files/`.
pub fn image(media: &Media, image: &Image) -> String {
    serde_json::json!({
        "_type": "image-file",
        "format": "png",
        "path": media.path,
        "sha256": media.sha256,
        "size": media.size,
        "width": image.width(),
        "height": image.height(),
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_nan_and_infinities() {
        assert_eq!(number(0.5), "0.5");
        assert_eq!(number(f64::NAN), "NaN");
        assert_eq!(number(f64::NEG_INFINITY), "-Infinity");
        let back: f64 = serde_json::from_str(&number(1.0 / 3.0)).unwrap();
        assert_eq!(back, 1.0 / 3.0);
    }

    #[test]
    fn histograms_have_one_more_edge_than_counts() {
        let json: serde_json::Value =
            serde_json::from_str(&histogram(&Summary::of([1.0, 2.0, 2.0, 4.0]))).unwrap();
        let (values, bins) = (
            json["values"].as_array().unwrap(),
            json["bins"].as_array().unwrap(),
        );
        assert_eq!(bins.len(), values.len() + 1);
        assert_eq!(
            (bins[0].as_f64(), bins.last().unwrap().as_f64()),
            (Some(1.0), Some(4.0))
        );
        assert_eq!(values.iter().map(|v| v.as_f64().unwrap()).sum::<f64>(), 4.0);
    }

    #[test]
    fn a_row_splits_on_a_new_step_or_a_repeated_name_and_reuses_its_items() {
        let mut row = Row::default();
        assert!(row.takes("loss", 3));
        row.push("loss", 3, 1.0).push('1');
        assert!(row.takes("acc", 3));
        assert!(!row.takes("acc", 4));
        assert!(!row.takes("loss", 3));
        row.extra("_step").push('0');
        let items = row.take();
        assert_eq!((items.len(), row.is_empty()), (2, true));
        row.reuse(items);
        row.push("acc", 4, 2.0).push('2');
        assert_eq!(row.items().len(), 1);
        assert_eq!(
            (
                row.items()[0].key.as_str(),
                row.items()[0].value_json.as_str()
            ),
            ("acc", "2")
        );
    }
}
