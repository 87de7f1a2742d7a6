//! A histogram stream as a heat map over steps: a column per step, its buckets shaded by how
//! many values fall in them (darker: more), with the mean drawn over it.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::style;
use labbook::histogram::Summary;

/// The light end and dark end of the shading (ColorBrewer's "Blues").
const RAMP: [(u8, u8, u8); 5] = [
    (222, 235, 247),
    (158, 202, 225),
    (66, 146, 198),
    (8, 81, 156),
    (8, 48, 107),
];
const MEAN: RGBColor = RGBColor(255, 127, 14);

pub(crate) fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    metric: &str,
    run: &str,
    steps: &[(f64, Summary)],
    x_label: &str,
    scale: f64,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let xs: Vec<f64> = steps.iter().map(|s| s.0 / scale).collect();
    let bounds = steps
        .iter()
        .filter(|s| s.1.num > s.1.non_finite)
        .flat_map(|s| [(0.0, s.1.min), (0.0, s.1.max)]);
    let (_, y_range) = style::ranges(bounds);
    let (x0, x1) = match xs.len() {
        0 => (0.0, 1.0),
        n => (column(&xs, 0).0, column(&xs, n - 1).1),
    };
    let mut chart = ChartBuilder::on(area)
        .caption(format!("{metric} — {run}"), style::title())
        .margin(18)
        .x_label_area_size(52)
        .y_label_area_size(78)
        .build_cartesian_2d(x0..x1, y_range.clone())?;
    style::mesh(&mut chart, x_label, metric)?;
    let mut cells = Vec::new();
    let mut centres = Vec::new();
    for (index, (_, summary)) in steps.iter().enumerate() {
        let (left, right) = column(&xs, index);
        for (low, high, share) in buckets(summary, y_range.end - y_range.start) {
            cells.push(Rectangle::new(
                [(left, low), (right, high)],
                shade(share).filled(),
            ));
            centres.push(((left + right) / 2.0, (low + high) / 2.0));
        }
    }
    let corner = style::emptiest_corner((&(x0..x1), &y_range), centres.into_iter());
    chart
        .draw_series(cells)?
        .label("share of the values (darker: more)")
        .legend(|(x, y)| Rectangle::new([(x, y - 6), (x + 22, y + 6)], shade(0.6).filled()));
    let means = steps.iter().zip(&xs).filter_map(|((_, s), &x)| {
        let finite = s.num - s.non_finite;
        (finite > 0.0).then(|| (x, s.sum / finite))
    });
    chart
        .draw_series(LineSeries::new(means, MEAN.stroke_width(2)))?
        .label("mean")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], MEAN.stroke_width(3)));
    style::legend(&mut chart, corner)?;
    Ok(())
}

/// The x extent of column `index`: halfway to its neighbours.
fn column(xs: &[f64], index: usize) -> (f64, f64) {
    let x = xs.get(index).copied().unwrap_or(0.0);
    let gap = |a: usize, b: usize| xs.get(b).zip(xs.get(a)).map(|(b, a)| (b - a) / 2.0);
    let before = index.checked_sub(1).and_then(|i| gap(i, index));
    let after = gap(index, index + 1);
    let (before, after) = match (before, after) {
        (Some(b), Some(a)) => (b, a),
        (Some(b), None) => (b, b),
        (None, Some(a)) => (a, a),
        (None, None) => (0.5, 0.5),
    };
    (x - before, x + after)
}

/// `(low, high, share)` for each non-empty bucket, the share scaled so that the densest
/// bucket of the step is 1. A step whose values are all equal is a thin band.
fn buckets(summary: &Summary, y_span: f64) -> Vec<(f64, f64, f64)> {
    let mut edges = Vec::with_capacity(summary.buckets.len());
    let mut low = summary.min;
    for (&high, &count) in summary.bucket_limits.iter().zip(&summary.buckets) {
        edges.push((low, high, count));
        low = high;
    }
    let density = |(low, high, count): (f64, f64, f64)| {
        if high > low {
            count / (high - low)
        } else {
            count
        }
    };
    let densest = edges.iter().copied().map(density).fold(0.0, f64::max);
    if densest <= 0.0 {
        return Vec::new();
    }
    edges
        .into_iter()
        .filter(|e| e.2 > 0.0)
        .map(|e| {
            let (low, high) = if e.1 > e.0 {
                (e.0, e.1)
            } else {
                (e.0 - y_span * 0.005, e.1 + y_span * 0.005)
            };
            (low, high, density(e) / densest)
        })
        .collect()
}

/// The colour of a share in [0, 1], along `RAMP`.
fn shade(share: f64) -> RGBColor {
    let at = share.clamp(0.0, 1.0) * (RAMP.len() - 1) as f64;
    let index = (at.floor() as usize).min(RAMP.len() - 2);
    let t = at - index as f64;
    let mix = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * t).round() as u8;
    let (a, b) = (RAMP[index], RAMP[index + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}
