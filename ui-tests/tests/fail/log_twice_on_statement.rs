use labbook::prelude::*;

#[experiment]
fn train() {
    #[log(metric)]
    #[log(text, name = "loss_text")]
    let loss = 0.5;
}

fn main() {}
