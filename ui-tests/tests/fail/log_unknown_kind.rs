use labbook::prelude::*;

#[experiment]
fn train() {
    #[log(metrc)]
    let loss = 0.5;
}

fn main() {}
