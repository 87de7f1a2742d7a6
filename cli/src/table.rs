//! Plain-text tables (columns padded with spaces, numbers aligned right) and the number,
//! time and duration formats every table uses.

use std::io::{self, Write};

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

    pub fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        let cells = |row: &[String]| -> Vec<String> { row.iter().map(|c| clip(c)).collect() };
        let header = cells(&self.headers);
        let rows: Vec<Vec<String>> = self.rows.iter().map(|r| cells(r)).collect();
        let mut widths: Vec<usize> = header.iter().map(|h| width(h)).collect();
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(width(cell));
            }
        }
        // Columns of numbers are aligned right, like the columns asked for.
        let right: Vec<bool> = (0..header.len())
            .map(|i| self.right[i] || is_numeric(rows.iter().map(|r| r[i].as_str())))
            .collect();
        for row in std::iter::once(&header).chain(&rows) {
            let mut line = String::new();
            for (index, cell) in row.iter().enumerate() {
                if index > 0 {
                    line.push_str("  ");
                }
                let pad = " ".repeat(widths[index] - width(cell));
                if right[index] {
                    line.push_str(&pad);
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    line.push_str(&pad);
                }
            }
            writeln!(out, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

/// Whether every cell of a column that says something is a number.
fn is_numeric<'a>(mut cells: impl Iterator<Item = &'a str>) -> bool {
    let mut any = false;
    let all = cells.all(|cell| {
        let cell = cell.trim_end_matches([' ', '*']);
        if cell.is_empty() || cell == "-" {
            return true;
        }
        any = true;
        cell.parse::<f64>().is_ok()
    });
    any && all
}

fn width(text: &str) -> usize {
    text.chars().count()
}

fn clip(text: &str) -> String {
    let text = text.replace(['\n', '\t'], " ");
    if width(&text) <= MAX_CELL {
        return text;
    }
    let mut clipped: String = text.chars().take(MAX_CELL - 1).collect();
    clipped.push('…');
    clipped
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
