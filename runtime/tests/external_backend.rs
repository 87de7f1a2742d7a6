//! A backend defined outside labbook (this test crate) is found at link time through
//! `inventory` and fed every record, without any change to labbook.

mod support;

use std::sync::Mutex;

use labbook::backend::{Backend, BackendError, RunContext, RunEnd};
use labbook::prelude::*;
use labbook::{Record, Status, Value};

static SEEN: Mutex<Vec<(String, u64, f64)>> = Mutex::new(Vec::new());
static ENDED: Mutex<Option<Status>> = Mutex::new(None);

struct Recorder;

impl Backend for Recorder {
    fn write(&mut self, batch: &[Record]) -> Result<(), BackendError> {
        let mut seen = SEEN.lock().unwrap();
        for record in batch {
            if let Value::Scalar(v) = record.value {
                seen.push((record.name.to_string(), record.step, v));
            }
        }
        Ok(())
    }

    fn finish(&mut self, end: &RunEnd) -> Result<(), BackendError> {
        *ENDED.lock().unwrap() = Some(end.status);
        Ok(())
    }
}

fn recorder(run: &RunContext) -> Result<Option<Box<dyn Backend>>, BackendError> {
    Ok((run.experiment == "external").then(|| Box::new(Recorder) as Box<dyn Backend>))
}

labbook::register_backend!("test-recorder", recorder);

#[experiment(name = "external")]
fn external() {
    for i in 0..3 {
        #[log(metric)]
        let x = i * 2;
    }
}

#[test]
fn a_backend_from_another_crate_gets_every_record_and_the_end() {
    support::store();
    assert!(labbook::backend::registry()
        .names()
        .any(|n| n == "test-recorder"));
    external();
    let seen = SEEN.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            ("x".to_owned(), 0, 0.0),
            ("x".to_owned(), 1, 2.0),
            ("x".to_owned(), 2, 4.0)
        ]
    );
    assert_eq!(*ENDED.lock().unwrap(), Some(Status::Complete));
}
