use labbook::prelude::*;

#[experiment]
fn train() {
    fn evaluate() -> f64 {
        #[log(metric)]
        let accuracy = 0.9;
        accuracy
    }
    let _ = evaluate();
}

fn main() {}
