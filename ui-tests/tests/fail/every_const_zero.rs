use labbook::prelude::*;

const LOG_EVERY: u64 = 0;

#[experiment]
fn train() {
    for i in 0..10 {
        #[log(metric, every = LOG_EVERY)]
        let loss = i;
    }
}

fn main() {}
