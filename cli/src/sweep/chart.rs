//! `labbook sweep show -o FILE`: a panel per parameter (the metric of each finished trial
//! against the parameter's value; a `log_uniform` one on a log scale, a list by its index),
//! and a panel of each trial's metric with the best so far, in trial order. Drawn with the
//! styles of `labbook plot`.

use std::path::Path;

use anyhow::{anyhow, bail, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::spec::{Parameter, Spec};
use super::state::{State, Status};
use crate::plot::style;

/// Where a parameter's value goes on the x axis.
type Position = Box<dyn Fn(&serde_json::Value) -> Option<f64>>;

/// One panel: its points, and a line through some of them.
struct Panel {
    title: String,
    x: String,
    points: Vec<(f64, f64)>,
    line: Vec<(f64, f64)>,
}

pub(crate) fn draw(spec: &Spec, state: &State, path: &Path) -> Result<()> {
    let finished: Vec<_> = state
        .trials
        .iter()
        .filter(|t| matches!(t.status, Status::Complete | Status::Stopped))
        .filter_map(|t| Some((t, t.value.filter(|v| v.is_finite())?)))
        .collect();
    if finished.is_empty() {
        bail!(
            "no trial has finished with a value of `{}` yet: nothing to plot",
            spec.metric
        );
    }
    let mut panels = Vec::new();
    for (name, parameter) in &spec.parameters {
        let (x, at): (String, Position) = match parameter.get_ref() {
            Parameter::LogUniform(_) => (
                format!("log10({name})"),
                Box::new(|v| v.as_f64().map(f64::log10)),
            ),
            Parameter::Uniform(_) | Parameter::Int(_) => (name.clone(), Box::new(|v| v.as_f64())),
            Parameter::Grid(values) | Parameter::Choice(values)
                if values.iter().all(|v| v.is_number()) =>
            {
                (name.clone(), Box::new(|v| v.as_f64()))
            }
            Parameter::Grid(values) | Parameter::Choice(values) => {
                let listed: Vec<String> = values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| format!("{i}={}", super::space::text(v)))
                    .collect();
                let values = values.clone();
                (
                    format!("{name} ({})", listed.join(", ")),
                    Box::new(move |v| values.iter().position(|x| x == v).map(|i| i as f64)),
                )
            }
        };
        let points = finished
            .iter()
            .filter_map(|(t, value)| Some((at(t.params.get(name)?)?, *value)))
            .collect();
        panels.push(Panel {
            title: format!("{} by {name}", spec.metric),
            x,
            points,
            line: Vec::new(),
        });
    }
    let mut best: Option<f64> = None;
    let mut line = Vec::new();
    for (trial, value) in &finished {
        if best.is_none_or(|b| spec.goal.better(*value, b)) {
            best = Some(*value);
        }
        line.push((trial.trial as f64, best.unwrap_or(*value)));
    }
    panels.push(Panel {
        title: format!("{}: each trial and the best so far", spec.metric),
        x: "trial".into(),
        points: finished.iter().map(|(t, v)| (t.trial as f64, *v)).collect(),
        line,
    });
    let columns = if panels.len() == 1 { 1 } else { 2 };
    let rows = panels.len().div_ceil(columns);
    let size = (700 * columns as u32, 450 * rows as u32);
    style::register_font();
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("png") => {
            let mut pixels = vec![0u8; size.0 as usize * size.1 as usize * 3];
            let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
            panels_on(root, &panels, &spec.metric, (rows, columns))?;
            crate::plot::write_png(path, size, &pixels)
        }
        Some("svg") => panels_on(
            SVGBackend::new(path, size).into_drawing_area(),
            &panels,
            &spec.metric,
            (rows, columns),
        ),
        _ => bail!(
            "cannot tell which image format {} should be: name it .png or .svg",
            path.display()
        ),
    }
}

fn panels_on<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    panels: &[Panel],
    metric: &str,
    grid: (usize, usize),
) -> Result<()> {
    let failed = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("cannot draw the plot: {e}");
    root.fill(&style::BACKGROUND).map_err(failed)?;
    for (panel, area) in panels.iter().zip(root.split_evenly(grid)) {
        let (x_range, y_range) = style::ranges(panel.points.iter().copied());
        // Room around the points at the ends, which would sit on the axes.
        let pad = (x_range.end - x_range.start) * 0.04;
        let x_range = x_range.start - pad..x_range.end + pad;
        let mut chart = ChartBuilder::on(&area)
            .caption(&panel.title, style::title())
            .margin(18)
            .x_label_area_size(52)
            .y_label_area_size(78)
            .build_cartesian_2d(x_range, y_range)
            .map_err(failed)?;
        style::mesh(&mut chart, &panel.x, metric).map_err(failed)?;
        let color = style::color(0);
        chart
            .draw_series(
                panel
                    .points
                    .iter()
                    .map(|&p| Circle::new(p, 4, color.filled())),
            )
            .map_err(failed)?;
        if !panel.line.is_empty() {
            chart
                .draw_series(LineSeries::new(
                    panel.line.iter().copied(),
                    style::color(1).stroke_width(2),
                ))
                .map_err(failed)?;
        }
    }
    root.present().map_err(failed)?;
    Ok(())
}
