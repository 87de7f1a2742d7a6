//! `labbook plot RUN… --metric NAME -o FILE.png|.svg`: one panel per metric with a line per
//! run (smoothed over a faint raw line with `--smooth`, as TensorBoard draws it), and one
//! heat map per run for a histogram stream.

mod heatmap;
pub(crate) mod style;

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::store::{self, Run};
use super::warn;
use labbook::histogram::Summary;
use labbook::store::read::{Store, StreamKind};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// `experiment/id`, `experiment` (its latest run) or a run directory.
    #[arg(required = true)]
    runs: Vec<String>,
    /// A metric or histogram to draw (repeat or separate with commas): one panel each. A
    /// system metric is `system/<name>` (`system/cpu_utilization_percentage`), its steps
    /// seconds since the run started.
    #[arg(
        short,
        long = "metric",
        value_name = "NAME",
        required = true,
        value_delimiter = ','
    )]
    metrics: Vec<String>,
    /// Exponential smoothing weight in [0, 1), as TensorBoard's slider: 0.6 is a good start.
    #[arg(long, default_value_t = 0.0, value_name = "WEIGHT")]
    smooth: f64,
    /// What the x axis shows.
    #[arg(long, value_enum, default_value_t = XAxis::Step)]
    x: XAxis,
    /// The image to write: `.png` or `.svg`.
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
    /// Width and height in pixels [default: 1000x600 for one panel, 800x500 a panel].
    #[arg(long, value_name = "WxH", value_parser = parse_size)]
    size: Option<(u32, u32)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum XAxis {
    /// The step of each point.
    Step,
    /// Wall-clock time since the run started.
    Time,
}

fn parse_size(text: &str) -> Result<(u32, u32), String> {
    let parsed = text
        .split_once(['x', 'X'])
        .and_then(|(w, h)| Some((w.trim().parse().ok()?, h.trim().parse().ok()?)));
    match parsed {
        Some((w, h)) if (100..=10_000).contains(&w) && (100..=10_000).contains(&h) => Ok((w, h)),
        _ => Err("expected WIDTHxHEIGHT in pixels, each 100 to 10000, like 1200x700".into()),
    }
}

/// One run's line in a panel.
pub(crate) struct Series {
    pub label: String,
    /// `(x, y)`, in order, non-finite values included (they break the line).
    pub points: Vec<(f64, f64)>,
}

/// What one panel shows.
pub(crate) enum Panel {
    Lines {
        metric: String,
        series: Vec<(usize, Series)>,
    },
    Heatmap {
        metric: String,
        run: String,
        steps: Vec<(f64, Summary)>,
    },
}

pub(crate) fn run(store: &Store, args: &Args, out: &mut dyn Write) -> Result<()> {
    if !(0.0..1.0).contains(&args.smooth) {
        bail!(
            "--smooth is a weight from 0 (no smoothing) to below 1, like 0.6; not {}",
            args.smooth
        );
    }
    let format = Format::of(&args.output)?;
    let runs = store::load_all(store, &args.runs)?;
    let mut panels = Vec::new();
    for metric in &args.metrics {
        panels.extend(panels_of(metric, &runs, args.x)?);
    }
    let (columns, rows) = grid(panels.len());
    let size = args.size.unwrap_or(if panels.len() == 1 {
        (1000, 600)
    } else {
        (800 * columns as u32, 500 * rows as u32)
    });
    style::register_font();
    let x_label = match args.x {
        XAxis::Step => "step".to_owned(),
        XAxis::Time => style::time_unit(&panels).0.to_owned(),
    };
    let grid = (columns, rows);
    match format {
        Format::Png => {
            let mut pixels = vec![0u8; size.0 as usize * size.1 as usize * 3];
            let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
            draw(root, &panels, args, &x_label, grid)?;
            write_png(&args.output, size, &pixels)?;
        }
        Format::Svg => {
            let root = SVGBackend::new(&args.output, size).into_drawing_area();
            draw(root, &panels, args, &x_label, grid)?;
        }
    }
    writeln!(
        out,
        "wrote {} ({}x{})",
        args.output.display(),
        size.0,
        size.1
    )?;
    Ok(())
}

enum Format {
    Png,
    Svg,
}

impl Format {
    fn of(path: &Path) -> Result<Format> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("png") => Ok(Format::Png),
            Some("svg") => Ok(Format::Svg),
            _ => bail!(
                "cannot tell which image format {} should be: name it .png or .svg",
                path.display()
            ),
        }
    }
}

/// Columns and rows for `count` panels: one column up to two panels, then two.
fn grid(count: usize) -> (usize, usize) {
    let columns = if count <= 1 { 1 } else { 2 };
    (columns, count.div_ceil(columns).max(1))
}

/// The panels of one metric: a line panel for scalar streams, a heat map per run for
/// histogram streams.
fn panels_of(metric: &str, runs: &[Run], x: XAxis) -> Result<Vec<Panel>> {
    let mut series = Vec::new();
    let mut heatmaps = Vec::new();
    for (index, run) in runs.iter().enumerate() {
        let start = run.info.start_unix;
        let mut scalar = run.dir.stream(StreamKind::Metric, metric);
        if let Some(name) = metric.strip_prefix("system/") {
            if !scalar.path().is_file() {
                scalar = run.dir.stream(StreamKind::System, name);
            }
        }
        let histogram = run.dir.stream(StreamKind::Histogram, metric);
        let at = |step: u64, time: f64| match x {
            XAxis::Step => step as f64,
            XAxis::Time => time - start,
        };
        if scalar.path().is_file() {
            let read = scalar
                .scalars()
                .with_context(|| format!("cannot read metric `{metric}` of {}", run.label()))?;
            if let Some(warning) = read.warning {
                warn(warning);
            }
            let points = read
                .points
                .iter()
                .map(|p| (at(p.step, p.time), p.value))
                .collect();
            series.push((
                index,
                Series {
                    label: run.label().to_owned(),
                    points,
                },
            ));
        } else if histogram.path().is_file() {
            let read = histogram
                .histograms()
                .with_context(|| format!("cannot read histogram `{metric}` of {}", run.label()))?;
            if let Some(warning) = read.warning {
                warn(warning);
            }
            let steps = read
                .points
                .into_iter()
                .map(|(step, s, time)| (at(step, time), s))
                .collect();
            heatmaps.push(Panel::Heatmap {
                metric: metric.to_owned(),
                run: run.label().to_owned(),
                steps,
            });
        } else if runs.len() > 1 {
            warn(format_args!(
                "{} has no metric or histogram `{metric}`",
                run.label()
            ));
        }
    }
    if series.is_empty() && heatmaps.is_empty() {
        let known: Vec<String> = runs
            .iter()
            .flat_map(|r| [r.dir.metrics(), r.dir.histograms(), r.dir.system()])
            .flatten()
            .map(|s| match s.kind() {
                StreamKind::System => format!("system/{}", s.key()),
                _ => s.key(),
            })
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let known = if known.is_empty() {
            "they have none".to_owned()
        } else {
            format!("they have {}", known.join(", "))
        };
        let which = runs
            .iter()
            .map(|r| r.label())
            .collect::<Vec<_>>()
            .join(", ");
        bail!("no metric or histogram `{metric}` in {which} ({known})");
    }
    let mut panels = Vec::new();
    if !series.is_empty() {
        panels.push(Panel::Lines {
            metric: metric.to_owned(),
            series,
        });
    }
    panels.extend(heatmaps);
    Ok(panels)
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    panels: &[Panel],
    args: &Args,
    x_label: &str,
    (columns, rows): (usize, usize),
) -> Result<()> {
    let failed = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("cannot draw the plot: {e}");
    root.fill(&style::BACKGROUND).map_err(failed)?;
    let areas = root.split_evenly((rows, columns));
    let scale = match args.x {
        XAxis::Step => 1.0,
        XAxis::Time => style::time_unit(panels).1,
    };
    for (panel, area) in panels.iter().zip(&areas) {
        match panel {
            Panel::Lines { metric, series } => {
                lines(area, metric, series, args, x_label, scale).map_err(failed)?
            }
            Panel::Heatmap { metric, run, steps } => {
                heatmap::draw(area, metric, run, steps, x_label, scale).map_err(failed)?
            }
        }
    }
    root.present().map_err(failed)?;
    Ok(())
}

/// A run's line as drawn: thinned to the pixels, and smoothed if asked.
struct Drawn<'a> {
    color: RGBColor,
    label: &'a str,
    raw: Vec<(f64, f64)>,
    smooth: Option<Vec<(f64, f64)>>,
}

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn lines<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    metric: &str,
    series: &[(usize, Series)],
    args: &Args,
    x_label: &str,
    scale: f64,
) -> DrawResult<DB> {
    let width = area.dim_in_pixel().0 as usize;
    // Smoothed before thinning, so the smoothed line sees every point.
    let drawn: Vec<Drawn<'_>> = series
        .iter()
        .map(|(color, s)| {
            let raw: Vec<(f64, f64)> = s.points.iter().map(|&(x, y)| (x / scale, y)).collect();
            let smooth =
                (args.smooth > 0.0).then(|| style::thin(&style::smooth(&raw, args.smooth), width));
            Drawn {
                color: style::color(*color),
                label: &s.label,
                raw: style::thin(&raw, width),
                smooth,
            }
        })
        .collect();
    let all = || {
        drawn
            .iter()
            .flat_map(|d| d.raw.iter())
            .filter(|p| p.0.is_finite() && p.1.is_finite())
    };
    let (x_range, y_range) = style::ranges(all().copied());
    let mut chart = ChartBuilder::on(area)
        .caption(metric, style::title())
        .margin(18)
        .x_label_area_size(52)
        .y_label_area_size(78)
        .build_cartesian_2d(x_range.clone(), y_range.clone())?;
    style::mesh(&mut chart, x_label, metric)?;
    // Faint raw lines first, so that no run's raw line covers another's smoothed one.
    for Drawn {
        color, raw, smooth, ..
    } in &drawn
    {
        let color = *color;
        let raw_style = if smooth.is_some() {
            color.mix(0.3).stroke_width(1)
        } else {
            color.stroke_width(2)
        };
        for segment in style::segments(raw) {
            chart.draw_series(LineSeries::new(segment, raw_style))?;
        }
    }
    for Drawn {
        color,
        label,
        smooth,
        ..
    } in &drawn
    {
        let color = *color;
        for segment in smooth.as_deref().map(style::segments).unwrap_or_default() {
            chart.draw_series(LineSeries::new(segment, color.stroke_width(2)))?;
        }
        // An empty series carries the legend entry, once per run.
        chart
            .draw_series(std::iter::empty::<PathElement<(f64, f64)>>())?
            .label(*label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 22, y)], color.stroke_width(3))
            });
    }
    let corner = style::emptiest_corner((&x_range, &y_range), all().copied());
    style::legend(&mut chart, corner)?;
    Ok(())
}

pub(crate) fn write_png(path: &Path, (width, height): (u32, u32), pixels: &[u8]) -> Result<()> {
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder
        .write_header()
        .with_context(|| format!("cannot write {}", path.display()))?;
    writer
        .write_image_data(pixels)
        .with_context(|| format!("cannot write {}", path.display()))?;
    writer
        .finish()
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
