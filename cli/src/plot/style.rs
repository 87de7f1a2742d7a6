//! How plots look (font, colours, axes, legend placement) and the line data they are drawn
//! from (smoothing, thinning, breaks at non-finite values).

use std::ops::Range;

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::Panel;

/// DejaVu Sans, cut down to Latin, Greek and Cyrillic (license: `font/LICENSE`), so text
/// is drawn the same everywhere without system fonts.
const FONT: &[u8] = include_bytes!("../font/DejaVuSans-subset.ttf");
const FAMILY: &str = "sans-serif";

pub(crate) const BACKGROUND: RGBColor = RGBColor(255, 255, 255);
pub(crate) const FRAME: RGBColor = RGBColor(150, 150, 150);
const GRID: RGBColor = RGBColor(228, 228, 228);
const TEXT: RGBColor = RGBColor(40, 40, 40);

/// Matplotlib's and TensorBoard's ten colours, in their order.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

pub(crate) fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_err() {
            super::warn("the embedded font could not be loaded; text may be missing");
        }
    });
}

/// The colour of the run at `index` among the runs plotted.
pub(crate) fn color(index: usize) -> RGBColor {
    PALETTE[index % PALETTE.len()]
}

pub(crate) fn text(size: u32) -> TextStyle<'static> {
    (FAMILY, size).into_font().color(&TEXT)
}

pub(crate) fn title() -> TextStyle<'static> {
    text(22)
}

pub(crate) type Chart<'a, 'b, DB> =
    ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Axes with descriptions, a light grid, and short tick labels.
pub(crate) fn mesh<DB: DrawingBackend>(
    chart: &mut Chart<'_, '_, DB>,
    x: &str,
    y: &str,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    chart
        .configure_mesh()
        .x_desc(x)
        .y_desc(y)
        .axis_desc_style(text(16))
        .label_style(text(14))
        .x_labels(8)
        .y_labels(7)
        .x_label_formatter(&|v| tick(*v))
        .y_label_formatter(&|v| tick(*v))
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .axis_style(FRAME)
        .draw()
}

/// The legend, framed, in `corner`.
pub(crate) fn legend<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, '_, DB>,
    corner: SeriesLabelPosition,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    chart
        .configure_series_labels()
        .position(corner)
        .margin(12)
        .legend_area_size(28)
        .background_style(BACKGROUND.mix(0.9))
        .border_style(FRAME)
        .label_font(text(15))
        .draw()
}

/// A tick label: `0.25`, `1500`, `20k`, `1.5M`.
pub(crate) fn tick(value: f64) -> String {
    let magnitude = value.abs();
    if (1e4..1e9).contains(&magnitude) && value.fract() == 0.0 {
        let (scaled, unit) = if magnitude >= 1e6 {
            (value / 1e6, "M")
        } else {
            (value / 1e3, "k")
        };
        return format!("{}{unit}", crate::table::number(scaled));
    }
    crate::table::number(value)
}

/// The x and y ranges that hold `points`, with a margin above and below.
pub(crate) fn ranges(points: impl Iterator<Item = (f64, f64)>) -> (Range<f64>, Range<f64>) {
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for (x, y) in points {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    if x0 > x1 {
        return (0.0..1.0, 0.0..1.0);
    }
    if x0 == x1 {
        (x0, x1) = (x0 - 1.0, x1 + 1.0);
    }
    let pad = if y1 > y0 {
        (y1 - y0) * 0.05
    } else {
        y0.abs().max(1.0) * 0.1
    };
    (x0..x1, y0 - pad..y1 + pad)
}

/// TensorBoard's smoothing: an exponential moving average, debiased so that the first
/// points are not pulled towards zero. Non-finite values pass through.
pub(crate) fn smooth(points: &[(f64, f64)], weight: f64) -> Vec<(f64, f64)> {
    let mut last = 0.0;
    let mut count = 0;
    points
        .iter()
        .map(|&(x, y)| {
            if !y.is_finite() {
                return (x, y);
            }
            last = last * weight + (1.0 - weight) * y;
            count += 1;
            (x, last / (1.0 - weight.powi(count)))
        })
        .collect()
}

/// At most about four points per pixel column: in each column the first, lowest, highest
/// and last points (and a break, if there is one), so spikes stay visible.
pub(crate) fn thin(points: &[(f64, f64)], width: usize) -> Vec<(f64, f64)> {
    let columns = width.max(100);
    if points.len() <= 4 * columns {
        return points.to_vec();
    }
    let per = points.len().div_ceil(columns);
    let mut thinned = Vec::with_capacity(5 * columns);
    for (start, chunk) in (0..points.len()).step_by(per).zip(points.chunks(per)) {
        let by_y = |a: &(usize, &(f64, f64)), b: &(usize, &(f64, f64))| a.1 .1.total_cmp(&b.1 .1);
        let finite = || chunk.iter().enumerate().filter(|(_, p)| p.1.is_finite());
        let mut keep = vec![0, chunk.len() - 1];
        keep.extend(finite().min_by(by_y).map(|(i, _)| i));
        keep.extend(finite().max_by(by_y).map(|(i, _)| i));
        keep.extend(chunk.iter().position(|p| !p.1.is_finite()));
        keep.sort_unstable();
        keep.dedup();
        thinned.extend(keep.into_iter().map(|i| points[start + i]));
    }
    thinned
}

/// The runs of finite points between non-finite ones.
pub(crate) fn segments(points: &[(f64, f64)]) -> Vec<Vec<(f64, f64)>> {
    points
        .split(|p| !p.0.is_finite() || !p.1.is_finite())
        .filter(|s| !s.is_empty())
        .map(<[_]>::to_vec)
        .collect()
}

/// The corner of the plot with the fewest points, for the legend.
pub(crate) fn emptiest_corner(
    (x, y): (&Range<f64>, &Range<f64>),
    points: impl Iterator<Item = (f64, f64)>,
) -> SeriesLabelPosition {
    let mut counts = [0usize; 4];
    for (px, py) in points {
        let nx = (px - x.start) / (x.end - x.start);
        let ny = (py - y.start) / (y.end - y.start);
        let right = nx > 0.55;
        let left = nx < 0.45;
        let top = ny > 0.6;
        let bottom = ny < 0.4;
        for (index, inside) in [right && top, right && bottom, left && top, left && bottom]
            .into_iter()
            .enumerate()
        {
            counts[index] += usize::from(inside);
        }
    }
    let corners = [
        SeriesLabelPosition::UpperRight,
        SeriesLabelPosition::LowerRight,
        SeriesLabelPosition::UpperLeft,
        SeriesLabelPosition::LowerLeft,
    ];
    let best = (0..4).min_by_key(|&i| counts[i]).unwrap_or(0);
    corners
        .into_iter()
        .nth(best)
        .unwrap_or(SeriesLabelPosition::UpperRight)
}

/// The unit of a time axis: its label and seconds per unit, from the longest run.
pub(crate) fn time_unit(panels: &[Panel]) -> (&'static str, f64) {
    let longest = panels
        .iter()
        .flat_map(|p| -> Box<dyn Iterator<Item = f64> + '_> {
            match p {
                Panel::Lines { series, .. } => {
                    Box::new(series.iter().flat_map(|s| s.1.points.iter().map(|p| p.0)))
                }
                Panel::Heatmap { steps, .. } => Box::new(steps.iter().map(|s| s.0)),
            }
        })
        .filter(|x| x.is_finite())
        .fold(0.0, f64::max);
    if longest < 120.0 {
        ("time (s)", 1.0)
    } else if longest < 7200.0 {
        ("time (min)", 60.0)
    } else {
        ("time (h)", 3600.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoothing_is_debiased_and_thinning_keeps_extremes() {
        let flat = smooth(&[(0.0, 2.0), (1.0, 2.0), (2.0, 2.0)], 0.9);
        assert!(flat.iter().all(|p| (p.1 - 2.0).abs() < 1e-12), "{flat:?}");
        let mut points: Vec<(f64, f64)> = (0..100_000).map(|i| (i as f64, 0.0)).collect();
        points[55_555].1 = 9.0;
        points[77_777].1 = f64::NAN;
        let thinned = thin(&points, 500);
        assert!(thinned.len() <= 5 * 500);
        assert!(thinned.contains(&(55_555.0, 9.0)));
        assert!(thinned.iter().any(|p| p.1.is_nan()));
        assert_eq!(segments(&thinned).len(), 2);
        assert_eq!(tick(20_000.0), "20k");
        assert_eq!(tick(0.25), "0.25");
    }
}
