use labbook::prelude::*;

#[experiment]
fn train() {
    // 128 characters, 256 bytes of UTF-8: too long for one file name.
    #[log(metric, name = "öööööööööööööööööööööööööööööööööööööööööööööööööööööööööööööööööööööööööööööööööööööööööööööööööööööööööööööööööööööööööööööööö")]
    let loss = 0.5;
}

fn main() {}
