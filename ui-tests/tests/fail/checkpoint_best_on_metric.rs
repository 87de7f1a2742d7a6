use labbook::prelude::*;

#[experiment]
fn train() {
    #[log(metric, best = "test_acc", mode = max)]
    let test_acc = 0.5;
}

fn main() {}
