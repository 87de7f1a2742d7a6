use labbook::prelude::*;

#[experiment]
fn train() {
    #[log(metric)]
    let loss = 0.5;
    #[log(text, name = "loss")]
    format!("loss is {loss}");
}

fn main() {}
