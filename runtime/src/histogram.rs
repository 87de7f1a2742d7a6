//! `#[log(histogram)]`: the distribution of many values, summarised as TensorBoard keeps it
//! (min, max, count, sum, sum of squares, and bucket counts with right edges), so every
//! backend and the CLI read the same summary.
//!
//! Sums of huge values overflow (the squares of values above about 1e154 do): such a sum is
//! infinite, and is written as metrics write one, `"Infinity"` (`"NaN"`, `"-Infinity"`),
//! never as `null`. The reader takes those words back, and `null` (written by older
//! versions) as NaN.

use serde::{Deserialize, Serialize};

/// Buckets per summary (as W&B's default).
pub const BUCKETS: usize = 64;

/// A histogram of one step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The smallest finite value.
    #[serde(with = "float")]
    pub min: f64,
    /// The largest finite value.
    #[serde(with = "float")]
    pub max: f64,
    /// How many values, NaN and infinities included.
    #[serde(with = "float")]
    pub num: f64,
    /// The sum of the finite values; infinite when it overflows.
    #[serde(with = "float")]
    pub sum: f64,
    /// The sum of the squares of the finite values; infinite when it overflows.
    #[serde(with = "float")]
    pub sum_squares: f64,
    /// The right edge of each bucket; bucket `i` holds values in `(limits[i-1], limits[i]]`,
    /// the first from `min`.
    #[serde(with = "floats")]
    pub bucket_limits: Vec<f64>,
    /// How many values each bucket holds.
    #[serde(with = "floats")]
    pub buckets: Vec<f64>,
    /// Values left out of the buckets because they are NaN or infinite.
    #[serde(default, skip_serializing_if = "is_zero", with = "float")]
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
        let buckets = BUCKETS as f64;
        // A range wider than f64 holds (-1e308 to 1e308) is measured in buckets, so that
        // neither the width nor an offset from `min` overflows.
        let wide = (max - min).is_infinite();
        let width = if wide {
            max / buckets - min / buckets
        } else {
            (max - min) / buckets
        };
        summary.bucket_limits = (1..=BUCKETS)
            .map(|i| {
                let i = i as f64;
                if i == buckets {
                    max
                } else if wide {
                    // `min + width * i` would overflow past the middle.
                    min * ((buckets - i) / buckets) + max * (i / buckets)
                } else {
                    min + width * i
                }
            })
            .collect();
        summary.buckets = vec![0.0; BUCKETS];
        for v in finite() {
            // How many bucket widths `v` is above `min`.
            let position = if wide {
                (v / buckets - min / buckets) / width * buckets
            } else {
                (v - min) / width
            };
            let index = (position.ceil() as usize).clamp(1, BUCKETS) - 1;
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
    /// The values summarised: range, moments and buckets.
    fn summary(&self) -> Summary;
}

/// The numbers a histogram is made of.
#[diagnostic::on_unimplemented(
    message = "a `histogram` of `{Self}` values cannot be made",
    label = "not a collection of numbers",
    note = "a `histogram` takes floats or integers: a slice, `Vec` or array of them, or a dfdx tensor (feature `dfdx`)"
)]
pub trait Number: Copy {
    /// The number as a float.
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

/// A float in JSON: a number, or `"NaN"`, `"Infinity"`, `"-Infinity"` (as metric points are
/// written); `null` reads as NaN.
mod float {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
        match word(*value) {
            Some(word) => serializer.serialize_str(word),
            None => serializer.serialize_f64(*value),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
        Float::deserialize(deserializer)?
            .get()
            .map_err(serde::de::Error::custom)
    }

    /// The word for a value JSON has no number for.
    pub(super) fn word(value: f64) -> Option<&'static str> {
        if value.is_nan() {
            Some("NaN")
        } else if value == f64::INFINITY {
            Some("Infinity")
        } else if value == f64::NEG_INFINITY {
            Some("-Infinity")
        } else {
            None
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    pub(super) enum Float {
        Number(f64),
        Word(String),
        Null(()),
    }

    impl Float {
        pub(super) fn get(self) -> Result<f64, String> {
            match self {
                Float::Number(n) => Ok(n),
                Float::Null(()) => Ok(f64::NAN),
                Float::Word(w) => match w.as_str() {
                    "NaN" => Ok(f64::NAN),
                    "Infinity" => Ok(f64::INFINITY),
                    "-Infinity" => Ok(f64::NEG_INFINITY),
                    other => Err(format!("{other:?} is not a number")),
                },
            }
        }
    }
}

/// A list of floats, each as [`float`] writes it.
mod floats {
    use serde::ser::SerializeSeq;
    use serde::{Deserialize, Deserializer, Serializer};

    use super::float::{word, Float};

    pub fn serialize<S: Serializer>(values: &[f64], serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(values.len()))?;
        for value in values {
            match word(*value) {
                Some(word) => seq.serialize_element(word)?,
                None => seq.serialize_element(value)?,
            }
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<f64>, D::Error> {
        Vec::<Float>::deserialize(deserializer)?
            .into_iter()
            .map(|f| f.get().map_err(serde::de::Error::custom))
            .collect()
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

    #[test]
    fn huge_and_non_finite_sums_survive_json() {
        let s = Summary::of([1e200, -1e200, 3.0, f64::NAN, f64::INFINITY]);
        assert_eq!(s.sum_squares, f64::INFINITY);
        let text = serde_json::to_string(&s).unwrap();
        assert!(text.contains(r#""sum_squares":"Infinity""#), "{text}");
        let back: Summary = serde_json::from_str(&text).unwrap();
        assert_eq!(back, s);
        let nan = Summary {
            sum: f64::NAN,
            ..s.clone()
        };
        let back: Summary = serde_json::from_str(&serde_json::to_string(&nan).unwrap()).unwrap();
        assert!(back.sum.is_nan());
    }

    #[test]
    fn a_range_wider_than_f64_still_has_finite_buckets() {
        let s = Summary::of([-f64::MAX, 0.0, f64::MAX]);
        assert!(s.bucket_limits.iter().all(|l| l.is_finite()), "{s:?}");
        assert_eq!(s.buckets.iter().sum::<f64>(), 3.0);
        assert_eq!(
            (s.buckets[0], s.buckets[31], s.buckets[63]),
            (1.0, 1.0, 1.0)
        );
    }

    #[test]
    fn null_from_older_versions_reads_as_nan() {
        let text = r#"{"min":1,"max":2,"num":2,"sum":3,"sum_squares":null,"bucket_limits":[2],"buckets":[2]}"#;
        let s: Summary = serde_json::from_str(text).unwrap();
        assert!(s.sum_squares.is_nan());
    }
}
