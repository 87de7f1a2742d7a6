use labbook::prelude::*;

#[experiment]
fn train() {
    #[log(metric, keep = 3)]
    let loss = 0.5;
}

fn main() {}
