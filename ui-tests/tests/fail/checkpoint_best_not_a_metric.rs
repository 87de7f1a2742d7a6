use labbook::prelude::*;

#[derive(Serialize)]
struct Model {
    w: f64,
}

#[experiment]
fn train(model: &Model) {
    #[log(metric)]
    let test_acc = 0.5;
    #[log(metric)]
    let test_loss = 0.1;
    #[log(checkpoint, best = "test_accuracy", mode = max)]
    model;
}

fn main() {}
