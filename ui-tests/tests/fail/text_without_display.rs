use labbook::prelude::*;

struct Summary {
    steps: usize,
}

#[experiment]
fn train() {
    #[log(text)]
    let summary = Summary { steps: 10 };
    let _ = summary.steps;
}

fn main() {}
