use labbook::prelude::*;

#[experiment]
fn train() {
    #[log(metric)]
    let loss: f64;
    loss = 0.5;
    let _ = loss;
}

fn main() {}
