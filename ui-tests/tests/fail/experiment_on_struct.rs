use labbook::prelude::*;

#[experiment]
struct Train {
    steps: usize,
}

fn main() {}
