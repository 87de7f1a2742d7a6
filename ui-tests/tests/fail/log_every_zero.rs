use labbook::prelude::*;

#[experiment]
fn train() {
    #[log(metric, every = 0)]
    let loss = 0.5;
}

fn main() {}
