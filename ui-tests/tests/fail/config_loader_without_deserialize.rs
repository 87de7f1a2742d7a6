use labbook::prelude::*;

#[derive(Serialize)]
struct Hp {
    lr: f64,
}

fn main() {
    let hp = labbook::config(Hp { lr: 0.1 }).unwrap();
    let _ = hp.lr;
}
