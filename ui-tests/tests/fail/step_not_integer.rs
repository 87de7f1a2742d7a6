use labbook::prelude::*;

#[experiment]
fn train() {
    #[log(metric, step = "x")]
    let loss = 0.5;
}

fn main() {}
