use labbook::prelude::*;

#[experiment]
fn train() {
    #[log(param)]
    struct Point {
        x: f64,
    }
    let _ = Point { x: 0.5 }.x;
}

fn main() {}
