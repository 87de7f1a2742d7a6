use labbook::prelude::*;

#[derive(Serialize)]
struct Model {
    w: f64,
}

#[experiment]
fn train(model: &Model) {
    #[log(metric)]
    let test_acc = 0.5;
    #[log(checkpoint, best = "test_acc", mode = highest)]
    model;
}

fn main() {}
