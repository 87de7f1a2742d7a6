use labbook::prelude::*;

#[experiment]
fn train() {
    #[log(metric, evry = 10)]
    let loss = 0.5;
}

fn main() {}
