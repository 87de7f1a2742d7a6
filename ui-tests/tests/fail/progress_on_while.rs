use labbook::prelude::*;

#[experiment]
fn train() {
    let mut i = 0;
    #[progress]
    while i < 10 {
        i += 1;
    }
}

fn main() {}
