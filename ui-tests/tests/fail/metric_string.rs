use labbook::prelude::*;

#[experiment]
fn train() {
    #[log(metric)]
    let loss = String::from("0.5");
}

fn main() {}
