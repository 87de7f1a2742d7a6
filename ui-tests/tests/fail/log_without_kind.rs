use labbook::prelude::*;

#[experiment]
fn train() {
    #[log]
    let loss = 0.5;
}

fn main() {}
