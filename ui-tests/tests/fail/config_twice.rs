use labbook::prelude::*;

#[derive(Serialize)]
struct Hp {
    lr: f64,
}

#[derive(Serialize)]
struct Data {
    path: String,
}

#[experiment]
fn train(#[config] hp: &Hp, #[config] data: &Data) {
    let _ = (hp.lr, &data.path);
}

fn main() {}
