//! `#[progress]` on a `for` loop: an indicatif bar with rate, ETA and the latest value of
//! every metric logged inside the loop. When stderr is not a terminal (CI, pipes, files) it
//! prints a plain line every few seconds instead. Rank 0 only.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::gate::Site;
use crate::run::RunState;

/// How often the message with the latest values is refreshed.
const REFRESH: Duration = Duration::from_millis(200);
/// How often a plain line is printed when stderr is not a terminal.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

/// An iterator that reports its progress while the loop runs.
pub struct Progress<'a, I> {
    iter: I,
    label: &'static str,
    sites: &'a [&'a Site],
    len: Option<u64>,
    done: u64,
    start: Instant,
    last_refresh: Instant,
    view: View,
}

enum View {
    Bar(ProgressBar),
    Plain,
    Hidden,
}

impl<I> std::fmt::Debug for Progress<'_, I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Progress")
            .field("label", &self.label)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<'a, I: Iterator> Progress<'a, I> {
    pub(crate) fn new(run: &RunState, label: &'static str, iter: I, sites: &'a [&'a Site]) -> Self {
        let (lower, upper) = iter.size_hint();
        let len = (Some(lower) == upper).then_some(lower as u64);
        let view = if run.rank() != 0 || std::env::var("LABBOOK_PROGRESS").is_ok_and(|v| v == "off")
        {
            View::Hidden
        } else if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(len, ProgressDrawTarget::stderr());
            let template = if len.is_some() {
                "{prefix} {bar:30.cyan/blue} {pos}/{len} [{elapsed_precise}<{eta_precise}, {per_sec}] {msg}"
            } else {
                "{prefix} {spinner} {pos} [{elapsed_precise}, {per_sec}] {msg}"
            };
            bar.set_style(ProgressStyle::with_template(template).expect("valid template"));
            bar.set_prefix(label);
            View::Bar(bar)
        } else {
            View::Plain
        };
        let now = Instant::now();
        Progress {
            iter,
            label,
            sites,
            len,
            done: 0,
            start: now,
            last_refresh: now,
            view,
        }
    }

    fn latest(&self) -> String {
        let values: Vec<String> = self
            .sites
            .iter()
            .filter(|s| !s.last().is_nan())
            .map(|s| format!("{}={:.4}", s.name(), s.last()))
            .collect();
        values.join(" ")
    }

    fn plain_line(&self) -> String {
        let elapsed = self.start.elapsed().as_secs_f64();
        let rate = self.done as f64 / elapsed.max(1e-9);
        let position = match self.len {
            Some(len) if len > 0 => {
                let eta = (len.saturating_sub(self.done)) as f64 / rate.max(1e-9);
                format!(
                    "{}/{len} ({:.0}%), {rate:.1} it/s, ETA {eta:.0} s",
                    self.done,
                    100.0 * self.done as f64 / len as f64
                )
            }
            _ => format!("{}, {rate:.1} it/s", self.done),
        };
        format!("labbook: {} {position} {}", self.label, self.latest())
    }

    fn report(&mut self, finished: bool) {
        let now = Instant::now();
        match &self.view {
            View::Bar(bar) => {
                bar.set_position(self.done);
                if finished || now.duration_since(self.last_refresh) >= REFRESH {
                    bar.set_message(self.latest());
                    self.last_refresh = now;
                }
                if finished {
                    bar.finish();
                }
            }
            View::Plain => {
                if finished || now.duration_since(self.last_refresh) >= PLAIN_EVERY {
                    eprintln!("{}", self.plain_line());
                    self.last_refresh = now;
                }
            }
            View::Hidden => {}
        }
    }
}

impl<I: Iterator> Iterator for Progress<'_, I> {
    type Item = I::Item;

    fn next(&mut self) -> Option<I::Item> {
        match self.iter.next() {
            Some(item) => {
                self.report(false);
                self.done += 1;
                Some(item)
            }
            None => {
                self.report(true);
                None
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.iter.size_hint()
    }
}
