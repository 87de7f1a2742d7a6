use labbook::prelude::*;

#[experiment]
fn train() {
    #[log(metric, name = "a//b")]
    let loss = 0.5;
}

fn main() {}
