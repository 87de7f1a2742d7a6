use labbook::prelude::*;

#[experiment]
fn train() {
    #[log(histogram)]
    let names = vec!["a".to_string(), "b".to_string()];
}

fn main() {}
