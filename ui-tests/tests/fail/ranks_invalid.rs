use labbook::prelude::*;

#[experiment]
fn train() {
    #[log(metric, ranks = foo)]
    let loss = 0.5;
}

fn main() {}
