use labbook::prelude::*;

#[experiment(resume = name)]
fn train(name: &str) {}

fn main() {}
