use labbook::prelude::*;

#[experiment(tags = ["baseline", "a,b", "=value"], group = "no:colons")]
fn train() {}

#[experiment(tags = "baseline")]
fn not_a_list() {}

fn main() {}
