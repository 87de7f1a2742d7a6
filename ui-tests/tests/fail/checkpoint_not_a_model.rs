use labbook::prelude::*;

struct Model {
    weights: Vec<f32>,
}

#[experiment]
fn train() {
    let model = Model { weights: vec![0.0; 4] };
    #[log(checkpoint, keep = 2)]
    &model;
}

fn main() {}
