use labbook::prelude::*;

fn compute() -> f64 {
    0.5
}

#[experiment]
fn train() {
    #[log(metric)]
    compute();
}

fn main() {}
