use labbook::prelude::*;

fn train() {
    #[log(metric)]
    let loss = 0.5;
    let _ = loss;
}

fn main() {
    train();
}
