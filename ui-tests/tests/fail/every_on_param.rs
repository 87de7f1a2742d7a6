use labbook::prelude::*;

#[experiment]
fn train() {
    #[log(param, every = 10)]
    let batch_size = 32;
}

fn main() {}
