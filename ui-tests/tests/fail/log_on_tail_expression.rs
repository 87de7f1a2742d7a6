use labbook::prelude::*;

#[experiment]
fn train() -> f64 {
    let loss = 0.5;
    #[log(metric)]
    loss
}

fn main() {}
