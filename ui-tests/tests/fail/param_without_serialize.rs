use labbook::prelude::*;

struct Optimizer {
    lr: f64,
}

#[experiment]
fn train() {
    #[log(param)]
    let optimizer = Optimizer { lr: 0.1 };
    let _ = optimizer.lr;
}

fn main() {}
