use labbook::prelude::*;

#[experiment]
fn train() {
    #[log(every = 10, metric)]
    let loss = 0.5;
}

fn main() {}
