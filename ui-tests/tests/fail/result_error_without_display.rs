use labbook::prelude::*;

#[derive(Debug)]
struct TrainError;

#[experiment]
fn train() -> Result<f64, TrainError> {
    Ok(0.5)
}

fn main() {}
