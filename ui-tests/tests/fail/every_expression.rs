use labbook::prelude::*;

#[experiment]
fn train(n: u64) {
    let _ = n;
    for i in 0..10 {
        #[log(metric, every = n * 2)]
        let loss = i;
    }
}

fn main() {}
