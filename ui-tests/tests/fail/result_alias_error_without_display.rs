use labbook::prelude::*;

#[derive(Debug)]
struct TrainError;

#[experiment]
fn train() -> std::result::Result<f64, TrainError> {
    Ok(0.5)
}

fn main() {}
