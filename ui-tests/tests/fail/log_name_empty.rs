use labbook::prelude::*;

#[experiment]
fn train() {
    #[log(metric, name = "")]
    let loss = 0.5;
}

fn main() {}
