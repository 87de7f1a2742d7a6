use labbook::prelude::*;

#[experiment]
fn train() {
    #[log(image)]
    let frame: Vec<u8> = vec![0; 28 * 28];
}

fn main() {}
