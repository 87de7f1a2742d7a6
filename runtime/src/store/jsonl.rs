//! The line format of metric and text streams, and its reader.
//!
//! A point is `{"step":10,"value":0.25,"time":1732371234.5}`. JSON has no NaN or infinity,
//! so those values are written as the strings `"NaN"`, `"Infinity"` and `"-Infinity"` (the
//! spelling of JavaScript, pandas and MLflow). Lines are written whole; a reader skips a
//! torn last line (a killed process) with a warning and rejects a broken line elsewhere.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};

/// Appends one metric point as a line.
pub fn push_scalar(line: &mut Vec<u8>, step: u64, value: f64, time: f64) {
    line.extend_from_slice(b"{\"step\":");
    line.extend_from_slice(itoa::Buffer::new().format(step).as_bytes());
    line.extend_from_slice(b",\"value\":");
    push_float(line, value);
    line.extend_from_slice(b",\"time\":");
    push_float(line, time);
    line.extend_from_slice(b"}\n");
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

fn push_float(line: &mut Vec<u8>, value: f64) {
    if value.is_finite() {
        line.extend_from_slice(ryu::Buffer::new().format_finite(value).as_bytes());
    } else if value.is_nan() {
        line.extend_from_slice(b"\"NaN\"");
    } else if value > 0.0 {
        line.extend_from_slice(b"\"Infinity\"");
    } else {
        line.extend_from_slice(b"\"-Infinity\"");
    }
}

/// One metric point read back.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    pub step: u64,
    pub value: f64,
    pub time: f64,
}

/// A stream read back, with a warning when its last line was torn.
#[derive(Debug)]
pub struct Stream<T> {
    pub points: Vec<T>,
    pub warning: Option<String>,
}

#[derive(Deserialize)]
struct Line<V> {
    step: u64,
    value: V,
    time: Float,
}

/// A float that may be spelled as `"NaN"`, `"Infinity"` or `"-Infinity"`.
#[derive(Deserialize)]
#[serde(untagged)]
enum Float {
    Number(f64),
    Word(String),
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
    read(path, |line: Line<Float>| {
        Ok(Point {
            step: line.step,
            value: line.value.get()?,
            time: line.time.get()?,
        })
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
                warning = Some(torn(path, index + 1, &reason));
            }
            Err(reason) => {
                return Err(Error::Corrupt {
                    path: PathBuf::from(path),
                    line: index + 1,
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
        assert_eq!(values[2..], [f64::INFINITY, f64::NEG_INFINITY, 1e-300]);
        assert_eq!(
            String::from_utf8(bytes).unwrap().lines().nth(1),
            Some(r#"{"step":1,"value":"NaN","time":1.5}"#)
        );
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
