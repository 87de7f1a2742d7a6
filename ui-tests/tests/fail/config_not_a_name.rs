use labbook::prelude::*;

#[derive(Serialize)]
struct Hp {
    lr: f64,
}

#[experiment]
fn train(#[config] Hp { lr }: Hp) {
    let _ = lr;
}

fn main() {}
