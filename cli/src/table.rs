//! Plain-text tables (columns padded with spaces, numbers aligned right) and the number,
//! time and duration formats every table uses.

use std::borrow::Cow;
use std::io::{self, Write};

use crate::parallel;

/// A table: a header row, then rows of cells.
#[derive(Debug, Default)]
pub(crate) struct Table {
    headers: Vec<String>,
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

/// The widest a cell is shown; longer values end in `…`.
const MAX_CELL: usize = 48;

impl Table {
    pub fn new<S: Into<String>>(headers: impl IntoIterator<Item = S>) -> Table {
        let headers: Vec<String> = headers.into_iter().map(Into::into).collect();
        Table {
            right: vec![false; headers.len()],
            headers,
            rows: Vec::new(),
        }
    }

    /// Aligns column `index` to the right (numbers).
    pub fn align_right(&mut self, index: usize) {
        self.right[index] = true;
    }

    pub fn push(&mut self, row: Vec<String>) {
        debug_assert_eq!(row.len(), self.headers.len());
        self.rows.push(row);
    }

    /// Writes the table: each column as wide as its widest cell, numbers aligned right. A big
    /// table (a listing of 100,000 runs) is measured and written a part of its rows at a time,
    /// on every core.
    pub fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        let parts: Vec<&[Vec<String>]> = self.rows.chunks(PART).collect();
        let mut columns: Vec<Column> = self
            .headers
            .iter()
            .map(|h| Column {
                width: width(&clip(h)),
                numbers: Numbers::Nothing,
            })
            .collect();
        let count = columns.len();
        for measured in parallel::filter_map(parts.clone(), |part| Some(measure(part, count))) {
            for (column, part) in columns.iter_mut().zip(measured) {
                column.width = column.width.max(part.width);
                column.numbers = column.numbers.and(part.numbers);
            }
        }
        // Columns of numbers are aligned right, like the columns asked for.
        let right: Vec<bool> = (0..count)
            .map(|i| self.right[i] || columns[i].numbers == Numbers::All)
            .collect();
        let widths: Vec<usize> = columns.iter().map(|c| c.width).collect();
        out.write_all(&render(
            std::slice::from_ref(&self.headers),
            &widths,
            &right,
        ))?;
        for lines in parallel::filter_map(parts, |part| Some(render(part, &widths, &right))) {
            out.write_all(&lines)?;
        }
        Ok(())
    }
}

/// How many rows a part of a big table has.
const PART: usize = 256;

/// What a column needs to be written: its width, and whether it holds numbers.
#[derive(Clone, Copy, Debug)]
struct Column {
    width: usize,
    numbers: Numbers,
}

/// Whether the cells of a column that say something (not empty, not `-`) are numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Numbers {
    /// No cell says anything.
    Nothing,
    All,
    NotAll,
}

impl Numbers {
    /// What two sets of cells are together.
    fn and(self, other: Numbers) -> Numbers {
        match (self, other) {
            (Numbers::NotAll, _) | (_, Numbers::NotAll) => Numbers::NotAll,
            (Numbers::All, _) | (_, Numbers::All) => Numbers::All,
            _ => Numbers::Nothing,
        }
    }

    /// What one cell is (a `*` after a number marks the best of a row).
    fn of(cell: &str) -> Numbers {
        let cell = cell.trim_end_matches([' ', '*']);
        if cell.is_empty() || cell == "-" {
            Numbers::Nothing
        } else if cell.parse::<f64>().is_ok() {
            Numbers::All
        } else {
            Numbers::NotAll
        }
    }
}

/// The columns of `rows` (`count` of them), as far as these rows go.
fn measure(rows: &[Vec<String>], count: usize) -> Vec<Column> {
    let mut columns = vec![
        Column {
            width: 0,
            numbers: Numbers::Nothing,
        };
        count
    ];
    for row in rows {
        for (column, cell) in columns.iter_mut().zip(row) {
            let cell = clip(cell);
            column.width = column.width.max(width(&cell));
            if column.numbers != Numbers::NotAll {
                column.numbers = column.numbers.and(Numbers::of(&cell));
            }
        }
    }
    columns
}

/// The lines of `rows`, padded to `widths`, aligned right where `right` says.
fn render(rows: &[Vec<String>], widths: &[usize], right: &[bool]) -> Vec<u8> {
    let mut text = String::new();
    for row in rows {
        let start = text.len();
        for (index, cell) in row.iter().enumerate() {
            // Cells are copied only when they must be clipped: a listing may have millions.
            let cell = clip(cell);
            if index > 0 {
                text.push_str("  ");
            }
            let pad = std::iter::repeat_n(' ', widths[index] - width(&cell));
            if right[index] {
                text.extend(pad);
                text.push_str(&cell);
            } else {
                text.push_str(&cell);
                text.extend(pad);
            }
        }
        let kept = text[start..].trim_end().len();
        text.truncate(start + kept);
        text.push('\n');
    }
    text.into_bytes()
}

fn width(text: &str) -> usize {
    text.chars().count()
}

fn clip(text: &str) -> Cow<'_, str> {
    if text.len() <= MAX_CELL && !text.bytes().any(|b| b == b'\n' || b == b'\t') {
        return Cow::Borrowed(text);
    }
    let text = text.replace(['\n', '\t'], " ");
    if width(&text) <= MAX_CELL {
        return Cow::Owned(text);
    }
    let mut clipped: String = text.chars().take(MAX_CELL - 1).collect();
    clipped.push('…');
    Cow::Owned(clipped)
}

/// A number in at most five significant digits: `0.12346`, `1234.5`, `1000`, `1.5e-07`.
pub(crate) fn number(value: f64) -> String {
    if value.is_nan() {
        return "NaN".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.into();
    }
    let magnitude = value.abs();
    if value.fract() == 0.0 && magnitude < 1e15 {
        return format!("{value:.0}");
    }
    if (1e-4..1e6).contains(&magnitude) {
        let decimals = (4 - magnitude.log10().floor() as i32).max(0) as usize;
        let text = format!("{value:.decimals$}");
        let text = text.trim_end_matches('0').trim_end_matches('.');
        return if text == "-0" {
            "0".into()
        } else {
            text.into()
        };
    }
    let text = format!("{value:.4e}");
    let (mantissa, exponent) = text.split_once('e').expect("`e` format");
    let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
    let exponent: i32 = exponent.parse().expect("an exponent");
    format!("{mantissa}e{exponent:+03}")
}

/// A length of time: `12.5s`, `4m 05s`, `2h 03m`, `3d 04h`.
pub(crate) fn duration(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return "-".into();
    }
    if seconds < 60.0 {
        return format!("{seconds:.1}s");
    }
    let s = seconds.round() as u64;
    match s {
        0..3600 => format!("{}m {:02}s", s / 60, s % 60),
        3600..86400 => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {:02}h", s / 86400, s % 86400 / 3600),
    }
}

/// A moment as `2024-11-23 14:07` (UTC).
pub(crate) fn minute(unix: f64) -> String {
    let text = rfc3339(unix);
    text[..16].replace('T', " ")
}

/// A moment as `2024-11-23 14:07:12 UTC`.
pub(crate) fn second(unix: f64) -> String {
    let text = rfc3339(unix);
    format!("{} UTC", text[..19].replace('T', " "))
}

fn rfc3339(unix: f64) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs_f64(unix.max(0.0));
    humantime::format_rfc3339_seconds(time).to_string()
}

/// A file size: `812 B`, `12.4 KB`, `3.1 GB`.
pub(crate) fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_five_significant_digits() {
        let shown: Vec<String> = [
            0.123456789,
            1234.5678,
            1000.0,
            -0.5,
            1.5e-7,
            2.5e9 + 0.5,
            f64::NAN,
            f64::NEG_INFINITY,
            0.1,
        ]
        .into_iter()
        .map(number)
        .collect();
        assert_eq!(
            shown,
            ["0.12346", "1234.6", "1000", "-0.5", "1.5e-07", "2.5e+09", "NaN", "-inf", "0.1"]
        );
    }

    #[test]
    fn durations_and_times() {
        assert_eq!(duration(12.34), "12.3s");
        assert_eq!(duration(245.0), "4m 05s");
        assert_eq!(duration(7380.0), "2h 03m");
        assert_eq!(duration(3.0 * 86400.0 + 4.0 * 3600.0), "3d 04h");
        assert_eq!(minute(1_700_000_000.0), "2023-11-14 22:13");
        assert_eq!(second(1_700_000_000.0), "2023-11-14 22:13:20 UTC");
        assert_eq!(size(12_400), "12.4 KB");
    }

    #[test]
    fn columns_are_padded_and_numbers_aligned_right() {
        let mut table = Table::new(["RUN", "LOSS"]);
        table.align_right(1);
        table.push(vec!["a/1".into(), "0.5".into()]);
        table.push(vec!["a/10".into(), "12.25".into()]);
        let mut out = Vec::new();
        table.write(&mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "RUN    LOSS\na/1     0.5\na/10  12.25\n"
        );
    }
}
