use labbook::prelude::*;

#[experiment]
fn train() {
    #[log(histogram)]
    let weights = vec![0.1, 0.2];
}

fn main() {}
