use labbook::prelude::*;

#[experiment]
fn train() {
    #[log(metrc)]
    let loss = 0.5;
    #[log(metric, every = 0)]
    let accuracy = 0.9;
}

fn main() {}
