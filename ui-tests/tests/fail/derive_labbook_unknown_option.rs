use labbook::prelude::*;

#[derive(Serialize)]
#[labbook(krate = labbook)]
struct Hp {
    lr: f64,
}

fn main() {}
