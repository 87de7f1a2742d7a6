use labbook::prelude::*;

#[derive(Serialize)]
struct Model {
    w: f64,
}

#[experiment]
fn train(model: &Model) {
    #[log(checkpoint, keep = 3, mode = max)]
    model;
}

fn main() {}
