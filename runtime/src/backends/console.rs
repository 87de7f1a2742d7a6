//! The console summary: one line when a run starts, and a table of the last value of every
//! metric when it ends. On rank 0 only; `LABBOOK_CONSOLE=off` silences it.

use std::collections::BTreeMap;
use std::io::Write;

use crate::backend::{Backend, BackendError, RunContext, RunEnd};
use crate::record::{Record, Value};

#[derive(Debug, Default)]
struct Console {
    label: String,
    dir: String,
    start: f64,
    /// Per metric: points seen and the last value.
    metrics: BTreeMap<String, (u64, f64)>,
}

impl Backend for Console {
    fn start(&mut self, run: &RunContext) -> Result<(), BackendError> {
        self.label = format!("{}/{}", run.experiment, run.id);
        self.dir = run.dir.display().to_string();
        self.start = run.info.start_unix;
        eprintln!("labbook: run {} started in {}", self.label, self.dir);
        Ok(())
    }

    fn write(&mut self, batch: &[Record]) -> Result<(), BackendError> {
        for record in batch {
            if let Value::Scalar(value) = record.value {
                let entry = self.metrics.entry(record.name.to_string()).or_default();
                *entry = (entry.0 + 1, value);
            }
        }
        Ok(())
    }

    fn finish(&mut self, end: &RunEnd) -> Result<(), BackendError> {
        let mut out = std::io::stderr().lock();
        let seconds = end.time - self.start;
        writeln!(
            out,
            "labbook: run {} {} after {seconds:.1} s ({})",
            self.label,
            end.status.as_str(),
            self.dir
        )?;
        if let Some(error) = &end.error {
            writeln!(out, "labbook:   error: {error}")?;
        }
        let width = self.metrics.keys().map(|k| k.len()).max().unwrap_or(0);
        for (name, (count, last)) in &self.metrics {
            writeln!(
                out,
                "labbook:   {name:<width$}  {last:<12.6}  ({count} points)"
            )?;
        }
        Ok(())
    }
}

fn create(run: &RunContext) -> Result<Option<Box<dyn Backend>>, BackendError> {
    let silenced =
        std::env::var("LABBOOK_CONSOLE").is_ok_and(|v| matches!(v.as_str(), "off" | "0" | "false"));
    if run.rank != 0 || silenced {
        return Ok(None);
    }
    Ok(Some(Box::new(Console::default())))
}

inventory::submit!(crate::backend::Registration::new("console", create).in_module(module_path!()));
