use labbook::prelude::*;

#[experiment]
fn train(epoch: u32) {
    match epoch {
        #[log(metric)]
        0 => {}
        _ => {}
    }
}

fn main() {}
