//! The line format of metric and text streams, and its reader.
//!
//! A point is `{"step":10,"value":0.25,"time":1732371234.5}`. JSON has no NaN or infinity,
//! so those values are written as the strings `"NaN"`, `"Infinity"` and `"-Infinity"` (the
//! spelling of JavaScript, pandas and MLflow). Lines are written whole; a reader skips a
//! torn last line (a killed process) with a warning and rejects a broken line elsewhere.

use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::ser::{CompactFormatter, Formatter};

use crate::error::{Error, Result};
use crate::histogram::Summary;

/// Appends one metric point as a line.
pub fn push_scalar(line: &mut Vec<u8>, step: u64, value: f64, time: f64) {
    ScalarLines::default().push(line, step, value, time);
}

/// The longest line [`ScalarLines::push`] writes: `{"step":` and 20 digits, `,"value":` and
/// a float, `,"time":` and a float, `}` and a newline (a float takes at most 24 bytes).
const SCALAR_LINE_MAX: usize = 8 + 20 + 9 + 24 + 8 + 24 + 2;

/// Writes metric points as lines, as [`push_scalar`] does, keeping the text of the last time
/// it wrote: points logged in a burst share their time (an `f64` of seconds since 1970 has a
/// step of about 0.24 µs), and formatting it is half the work of a line.
#[derive(Debug, Default)]
pub struct ScalarLines {
    /// The bits of the last time written, and its text (`len == 0`: none yet).
    time_bits: u64,
    time: [u8; 24],
    time_len: usize,
}

impl ScalarLines {
    /// Appends one metric point as a line.
    pub fn push(&mut self, line: &mut Vec<u8>, step: u64, value: f64, time: f64) {
        if self.time_len == 0 || self.time_bits != time.to_bits() {
            self.time_len = float_text(time, &mut self.time);
            self.time_bits = time.to_bits();
        }
        line.reserve(SCALAR_LINE_MAX);
        line.extend_from_slice(b"{\"step\":");
        line.extend_from_slice(itoa::Buffer::new().format(step).as_bytes());
        line.extend_from_slice(b",\"value\":");
        push_float(line, value);
        line.extend_from_slice(b",\"time\":");
        line.extend_from_slice(&self.time[..self.time_len]);
        line.extend_from_slice(b"}\n");
    }
}

/// Writes `value` as [`push_float`] does into `out`; returns its length.
fn float_text(value: f64, out: &mut [u8; 24]) -> usize {
    let mut rest = &mut out[..];
    push_float(&mut rest, value);
    24 - rest.len()
}

/// Appends one text (or any JSON value) as a line.
pub fn push_json(line: &mut Vec<u8>, step: u64, value: &impl serde::Serialize, time: f64) {
    line.extend_from_slice(b"{\"step\":");
    line.extend_from_slice(itoa::Buffer::new().format(step).as_bytes());
    line.extend_from_slice(b",\"value\":");
    serde_json::to_writer(&mut *line, value).expect("writing JSON to memory cannot fail");
    line.extend_from_slice(b",\"time\":");
    push_float(line, time);
    line.extend_from_slice(b"}\n");
}

/// Writes `value` as the shortest text that reads back as the same `f64`, with serde_json's
/// own float formatter (the fastest at hand), or as the word for a non-finite value.
fn push_float(line: &mut impl std::io::Write, value: f64) {
    let written = if value.is_finite() {
        CompactFormatter.write_f64(line, value)
    } else if value.is_nan() {
        line.write_all(b"\"NaN\"")
    } else if value > 0.0 {
        line.write_all(b"\"Infinity\"")
    } else {
        line.write_all(b"\"-Infinity\"")
    };
    written.expect("a float fits in memory and in 24 bytes")
}

/// One metric point read back.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    /// The step it was logged at.
    pub step: u64,
    /// The value, NaN and infinities included.
    pub value: f64,
    /// Wall-clock time of the log call, in seconds since the Unix epoch.
    pub time: f64,
}

/// A point in the line format of a stream, `{"step":10,"value":0.25,"time":1732371234.5}`
/// (non-finite values as words), for a file that keeps points apart from their stream.
impl serde::Serialize for Point {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut line = serializer.serialize_struct("Point", 3)?;
        line.serialize_field("step", &self.step)?;
        line.serialize_field("value", &Spelled(self.value))?;
        line.serialize_field("time", &Spelled(self.time))?;
        line.end()
    }
}

/// A point written as [`Point`]'s `Serialize` writes it, or as a line of a stream.
impl<'de> Deserialize<'de> for Point {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Point, D::Error> {
        scalar(Line::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

/// A float as the lines spell it: a number, or `"NaN"`, `"Infinity"`, `"-Infinity"`.
struct Spelled(f64);

impl serde::Serialize for Spelled {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        match self.0 {
            value if value.is_finite() => serializer.serialize_f64(value),
            value if value.is_nan() => serializer.serialize_str("NaN"),
            value if value > 0.0 => serializer.serialize_str("Infinity"),
            _ => serializer.serialize_str("-Infinity"),
        }
    }
}

/// A stream read back, with a warning when its last line was torn.
#[derive(Debug)]
pub struct Stream<T> {
    /// Every whole line, in file order.
    pub points: Vec<T>,
    /// Why the last line was left out (torn by a crash), when it was.
    pub warning: Option<String>,
}

#[derive(Deserialize)]
struct Line<V> {
    step: u64,
    value: V,
    time: Float,
}

/// A float that may be spelled as `"NaN"`, `"Infinity"` or `"-Infinity"`.
enum Float {
    Number(f64),
    Word(String),
}

/// A number or a string, read as it comes: no buffering, as an untagged enum would.
impl<'de> Deserialize<'de> for Float {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Float, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Float;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a number, or \"NaN\", \"Infinity\" or \"-Infinity\"")
            }

            fn visit_f64<E>(self, value: f64) -> std::result::Result<Float, E> {
                Ok(Float::Number(value))
            }

            fn visit_u64<E>(self, value: u64) -> std::result::Result<Float, E> {
                Ok(Float::Number(value as f64))
            }

            fn visit_i64<E>(self, value: i64) -> std::result::Result<Float, E> {
                Ok(Float::Number(value as f64))
            }

            fn visit_str<E>(self, value: &str) -> std::result::Result<Float, E> {
                Ok(Float::Word(value.to_owned()))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl Float {
    fn get(self) -> std::result::Result<f64, String> {
        match self {
            Float::Number(n) => Ok(n),
            Float::Word(w) => match w.as_str() {
                "NaN" => Ok(f64::NAN),
                "Infinity" => Ok(f64::INFINITY),
                "-Infinity" => Ok(f64::NEG_INFINITY),
                other => Err(format!("{other:?} is not a number")),
            },
        }
    }
}

/// Reads a metric stream (`metrics/<name>.jsonl`).
pub fn read_scalars(path: &Path) -> Result<Stream<Point>> {
    read(path, scalar)
}

/// One metric line (without its newline), as the readers parse it.
#[cfg(feature = "mlflow")]
pub(crate) fn parse_scalar(line: &[u8]) -> std::result::Result<Point, String> {
    scalar(serde_json::from_slice(line).map_err(|e| e.to_string())?)
}

fn scalar(line: Line<Float>) -> std::result::Result<Point, String> {
    Ok(Point {
        step: line.step,
        value: line.value.get()?,
        time: line.time.get()?,
    })
}

/// Reads the points in the last `bytes` bytes of a metric stream (at least its last whole
/// line) without reading the rest of the file: the latest values of a long stream, cheaply.
pub fn read_scalars_tail(path: &Path, bytes: u64) -> Result<Stream<Point>> {
    let mut file = fs::File::open(path).map_err(Error::io("cannot read", path))?;
    let len = file
        .metadata()
        .map_err(Error::io("cannot read", path))?
        .len();
    let mut want = bytes.max(256);
    loop {
        let start = len.saturating_sub(want);
        let mut tail = Vec::with_capacity((len - start) as usize);
        file.seek(SeekFrom::Start(start))
            .and_then(|_| file.by_ref().take(len - start).read_to_end(&mut tail))
            .map_err(Error::io("cannot read", path))?;
        // The first line of a chunk that starts mid-file may be cut: drop it.
        let skip = if start == 0 {
            0
        } else {
            match tail.iter().position(|&b| b == b'\n') {
                Some(newline) => newline + 1,
                None => 0,
            }
        };
        let whole_lines = tail[skip..].iter().filter(|&&b| b == b'\n').count();
        if start == 0 || (skip > 0 && whole_lines > 0) {
            let text = String::from_utf8_lossy(&tail[skip..]);
            let offset = start + skip as u64;
            return parse(path, &text, scalar, &|| lines_before(path, offset));
        }
        want = want.saturating_mul(4);
    }
}

/// How many lines the first `offset` bytes of a file hold (for messages only).
fn lines_before(path: &Path, offset: u64) -> usize {
    let mut prefix = Vec::new();
    match fs::File::open(path).and_then(|f| f.take(offset).read_to_end(&mut prefix)) {
        Ok(_) => prefix.iter().filter(|&&b| b == b'\n').count(),
        Err(_) => 0,
    }
}

/// Reads a histogram stream (`histograms/<name>.jsonl`) as `(step, summary, time)`.
pub fn read_histograms(path: &Path) -> Result<Stream<(u64, Summary, f64)>> {
    read(path, |line: Line<Summary>| {
        Ok((line.step, line.value, line.time.get()?))
    })
}

/// Reads a text stream (`text/<name>.jsonl`) as `(step, text)`.
pub fn read_texts(path: &Path) -> Result<Stream<(u64, String)>> {
    read(path, |line: Line<String>| Ok((line.step, line.value)))
}

fn read<V: serde::de::DeserializeOwned, T>(
    path: &Path,
    convert: impl Fn(Line<V>) -> std::result::Result<T, String>,
) -> Result<Stream<T>> {
    let text = fs::read_to_string(path).map_err(Error::io("cannot read", path))?;
    parse(path, &text, convert, &|| 0)
}

/// Parses the lines of `text`; `lines_before` counts the lines of the file before `text`
/// (asked only for a message).
fn parse<V: serde::de::DeserializeOwned, T>(
    path: &Path,
    text: &str,
    convert: impl Fn(Line<V>) -> std::result::Result<T, String>,
    lines_before: &dyn Fn() -> usize,
) -> Result<Stream<T>> {
    let mut points = Vec::new();
    let mut warning = None;
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    for (index, line) in lines.iter().enumerate() {
        let parsed = serde_json::from_str::<Line<V>>(line.trim_end())
            .map_err(|e| e.to_string())
            .and_then(&convert);
        match parsed {
            Ok(point) => points.push(point),
            Err(reason) if index + 1 == lines.len() && !line.ends_with('\n') => {
                warning = Some(torn(path, lines_before() + index + 1, &reason));
            }
            Err(reason) => {
                return Err(Error::Corrupt {
                    path: PathBuf::from(path),
                    line: lines_before() + index + 1,
                    reason,
                })
            }
        }
    }
    Ok(Stream { points, warning })
}

fn torn(path: &Path, line: usize, reason: &str) -> String {
    format!(
        "{}:{line}: skipped a torn last line (the writer was stopped mid-line): {reason}",
        path.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_round_trip_including_nan_and_infinities() {
        let mut bytes = Vec::new();
        for (step, value) in [
            (0, 0.5),
            (1, f64::NAN),
            (2, f64::INFINITY),
            (3, f64::NEG_INFINITY),
            (4, 1e-300),
            (5, 1e21),
            (6, -5e-324),
        ] {
            push_scalar(&mut bytes, step, value, 1.5);
        }
        let tmp = tempfile::NamedTempFile::new().unwrap();
        fs::write(tmp.path(), &bytes).unwrap();
        let stream = read_scalars(tmp.path()).unwrap();
        assert!(stream.warning.is_none());
        let values: Vec<_> = stream.points.iter().map(|p| p.value).collect();
        assert_eq!(values[0], 0.5);
        assert!(values[1].is_nan());
        assert_eq!(
            values[2..],
            [f64::INFINITY, f64::NEG_INFINITY, 1e-300, 1e21, -5e-324]
        );
        assert_eq!(
            String::from_utf8(bytes).unwrap().lines().nth(1),
            Some(r#"{"step":1,"value":"NaN","time":1.5}"#)
        );
    }

    #[test]
    fn a_reused_time_is_written_as_a_fresh_one() {
        let mut lines = ScalarLines::default();
        let (mut reused, mut fresh) = (Vec::new(), Vec::new());
        let times = [
            1.75e9,
            1.75e9,
            1.75e9 + 2.4e-7,
            f64::NAN,
            f64::NAN,
            0.0,
            -0.0,
            0.0,
        ];
        for (step, time) in times.into_iter().enumerate() {
            lines.push(&mut reused, step as u64, step as f64 * 0.1, time);
            fresh.extend_from_slice(b"{\"step\":");
            fresh.extend_from_slice(step.to_string().as_bytes());
            fresh.extend_from_slice(b",\"value\":");
            push_float(&mut fresh, step as f64 * 0.1);
            fresh.extend_from_slice(b",\"time\":");
            push_float(&mut fresh, time);
            fresh.extend_from_slice(b"}\n");
        }
        assert_eq!(String::from_utf8(reused), String::from_utf8(fresh));
    }

    #[test]
    fn a_torn_last_line_is_skipped_with_a_warning_and_a_broken_middle_line_is_an_error() {
        let tmp = tempfile::NamedTempFile::new().unwrap();
        fs::write(
            tmp.path(),
            "{\"step\":0,\"value\":1,\"time\":2}\n{\"step\":1,\"va",
        )
        .unwrap();
        let stream = read_scalars(tmp.path()).unwrap();
        assert_eq!(stream.points.len(), 1);
        assert!(stream
            .warning
            .unwrap()
            .contains(":2: skipped a torn last line"));

        fs::write(
            tmp.path(),
            "{\"step\":0,\"va\n{\"step\":0,\"value\":1,\"time\":2}\n",
        )
        .unwrap();
        let err = read_scalars(tmp.path()).unwrap_err().to_string();
        assert!(err.contains(":1:"), "{err}");
    }

    #[test]
    fn the_tail_reader_sees_the_last_points_and_numbers_lines_like_the_whole_file() {
        let tmp = tempfile::NamedTempFile::new().unwrap();
        let mut bytes = Vec::new();
        for step in 0..1000 {
            push_scalar(&mut bytes, step, step as f64 / 2.0, 1.5);
        }
        fs::write(tmp.path(), &bytes).unwrap();
        let tail = read_scalars_tail(tmp.path(), 300).unwrap();
        assert!(tail.warning.is_none() && !tail.points.is_empty());
        assert_eq!(tail.points.last().unwrap().step, 999);
        assert!(tail.points.len() < 20);

        bytes.extend_from_slice(b"{\"step\":1000,\"va");
        fs::write(tmp.path(), &bytes).unwrap();
        let tail = read_scalars_tail(tmp.path(), 1).unwrap();
        assert_eq!(tail.points.last().unwrap().step, 999);
        assert!(tail
            .warning
            .unwrap()
            .contains(":1001: skipped a torn last line"));

        bytes.truncate(bytes.len() - 16);
        bytes.extend_from_slice(b"oops\n{\"step\":1000,\"value\":1,\"time\":2}\n");
        fs::write(tmp.path(), &bytes).unwrap();
        let err = read_scalars_tail(tmp.path(), 100).unwrap_err().to_string();
        assert!(err.contains(":1001:"), "{err}");
    }

    #[test]
    fn texts_are_escaped() {
        let mut bytes = Vec::new();
        push_json(&mut bytes, 3, &"line \"one\"\ntwo", 0.0);
        let tmp = tempfile::NamedTempFile::new().unwrap();
        fs::write(tmp.path(), &bytes).unwrap();
        assert_eq!(
            read_texts(tmp.path()).unwrap().points,
            [(3, "line \"one\"\ntwo".to_string())]
        );
    }
}
