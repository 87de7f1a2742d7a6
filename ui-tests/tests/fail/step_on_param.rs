use labbook::prelude::*;

#[experiment]
fn train() {
    #[log(param, step = 3)]
    let batch_size = 32;
}

fn main() {}
