use labbook::prelude::*;

#[experiment]
async fn train() {
    #[log(metric)]
    let loss = 0.5;
}

fn main() {}
