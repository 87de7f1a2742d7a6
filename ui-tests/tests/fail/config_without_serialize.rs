use labbook::prelude::*;

struct Hp {
    lr: f64,
}

#[experiment]
fn train(#[config] hp: &Hp) {
    let _ = hp.lr;
}

fn main() {}
