use labbook::prelude::*;

#[experiment]
fn train() {
    #[log(metric, every = 10, every = 100)]
    let loss = 0.5;
}

fn main() {}
