//! `#[log(histogram)]`: the distribution of many values, summarised as TensorBoard keeps it
//! (min, max, count, sum, sum of squares, and bucket counts with right edges), so every
//! backend and the CLI read the same summary.

use serde::{Deserialize, Serialize};

/// Buckets per summary (as W&B's default).
pub const BUCKETS: usize = 64;

/// A histogram of one step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub min: f64,
    pub max: f64,
    /// How many values, NaN and infinities included.
    pub num: f64,
    pub sum: f64,
    pub sum_squares: f64,
    /// The right edge of each bucket; bucket `i` holds values in `(limits[i-1], limits[i]]`,
    /// the first from `min`.
    pub bucket_limits: Vec<f64>,
    pub buckets: Vec<f64>,
    /// Values left out of the buckets because they are NaN or infinite.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub non_finite: f64,
}

fn is_zero(n: &f64) -> bool {
    *n == 0.0
}

impl Summary {
    /// Summarises `values` into [`BUCKETS`] equal-width buckets between their min and max.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Summary {
        let values: Vec<f64> = values.into_iter().collect();
        let finite = || values.iter().copied().filter(|v| v.is_finite());
        let (min, max) = finite().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
        let count = finite().count();
        let non_finite = (values.len() - count) as f64;
        let mut summary = Summary {
            min: if count == 0 { 0.0 } else { min },
            max: if count == 0 { 0.0 } else { max },
            num: values.len() as f64,
            sum: finite().sum(),
            sum_squares: finite().map(|v| v * v).sum(),
            bucket_limits: Vec::new(),
            buckets: Vec::new(),
            non_finite,
        };
        if count == 0 {
            return summary;
        }
        if min == max {
            summary.bucket_limits = vec![max];
            summary.buckets = vec![count as f64];
            return summary;
        }
        let width = (max - min) / BUCKETS as f64;
        summary.bucket_limits = (1..=BUCKETS)
            .map(|i| {
                if i == BUCKETS {
                    max
                } else {
                    min + width * i as f64
                }
            })
            .collect();
        summary.buckets = vec![0.0; BUCKETS];
        for v in finite() {
            let index = (((v - min) / width).ceil() as usize).clamp(1, BUCKETS) - 1;
            summary.buckets[index] += 1.0;
        }
        summary
    }
}

/// Values a `#[log(histogram)]` site records: slices, vectors and arrays of numbers, and
/// dfdx tensors of any shape (with the `dfdx` feature).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be logged as a `histogram`",
    label = "not a collection of numbers",
    note = "a `histogram` takes a slice, `Vec` or array of floats or integers, or a dfdx tensor (feature `dfdx`)"
)]
pub trait Histogram {
    fn summary(&self) -> Summary;
}

/// The numbers a histogram is made of.
#[diagnostic::on_unimplemented(
    message = "a `histogram` of `{Self}` values cannot be made",
    label = "not a collection of numbers",
    note = "a `histogram` takes floats or integers: a slice, `Vec` or array of them, or a dfdx tensor (feature `dfdx`)"
)]
pub trait Number: Copy {
    fn to_f64(self) -> f64;
}

macro_rules! number {
    ($($ty:ty),*) => {$(
        impl Number for $ty {
            fn to_f64(self) -> f64 {
                self as f64
            }
        }
    )*};
}

number!(f32, f64, i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

impl<T: Number> Histogram for [T] {
    fn summary(&self) -> Summary {
        Summary::of(self.iter().map(|v| v.to_f64()))
    }
}

impl<T: Number> Histogram for Vec<T> {
    fn summary(&self) -> Summary {
        self.as_slice().summary()
    }
}

impl<T: Number, const N: usize> Histogram for [T; N] {
    fn summary(&self) -> Summary {
        self.as_slice().summary()
    }
}

impl<T: Histogram + ?Sized> Histogram for &T {
    fn summary(&self) -> Summary {
        (**self).summary()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_and_edges_cover_the_range() {
        let values: Vec<f64> = (0..1000).map(|i| i as f64 / 10.0).collect();
        let s = Summary::of(values.iter().copied());
        assert_eq!((s.min, s.max, s.num), (0.0, 99.9, 1000.0));
        assert_eq!(s.buckets.iter().sum::<f64>(), 1000.0);
        assert_eq!(s.bucket_limits.len(), BUCKETS);
        assert_eq!(*s.bucket_limits.last().unwrap(), 99.9);
        assert_eq!(s.sum, values.iter().sum::<f64>());
    }

    #[test]
    fn constant_empty_and_non_finite_inputs() {
        let s = Summary::of([2.0, 2.0, 2.0]);
        assert_eq!(
            (s.bucket_limits.clone(), s.buckets.clone()),
            (vec![2.0], vec![3.0])
        );
        let s = Summary::of([]);
        assert_eq!((s.num, s.buckets.len()), (0.0, 0));
        let s = Summary::of([1.0, f64::NAN, 3.0, f64::INFINITY]);
        assert_eq!(
            (s.num, s.non_finite, s.buckets.iter().sum::<f64>()),
            (4.0, 2.0, 2.0)
        );
    }
}
