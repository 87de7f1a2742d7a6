use labbook::prelude::*;

#[experiment]
fn train() {
    #[log(metric)]
    fn helper() -> f64 {
        0.5
    }
    let _ = helper();
}

fn main() {}
