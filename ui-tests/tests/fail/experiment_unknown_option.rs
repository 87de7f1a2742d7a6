use labbook::prelude::*;

#[experiment(nmae = "probe")]
fn train() {}

fn main() {}
