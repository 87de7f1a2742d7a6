use labbook::prelude::*;

#[log(metric)]
fn loss() -> f64 {
    0.5
}

fn main() {
    let _ = loss();
}
