use labbook::prelude::*;

#[experiment]
fn train() {
    let summary = String::from("0.5");
    #[log(metric, name = "summary")]
    summary.clone();
}

fn main() {}
