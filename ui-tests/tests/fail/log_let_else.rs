use labbook::prelude::*;

#[experiment]
fn train(losses: &[f64]) {
    #[log(metric)]
    let Some(loss) = losses.first() else {
        return;
    };
    let _ = loss;
}

fn main() {}
