use labbook::prelude::*;

#[experiment]
fn train() {
    #[log(metric)]
    let (loss, accuracy) = (0.5, 0.9);
    let _ = loss + accuracy;
}

fn main() {}
