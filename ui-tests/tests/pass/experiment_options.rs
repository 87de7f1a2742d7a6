use labbook::prelude::*;

#[experiment(system = "5s", tags = ["baseline", "optimizer=adam"], group = "lr-sweep")]
fn sampled() {}

#[experiment(system = off, tags = [])]
fn quiet() {}

fn main() {
    let _ = (sampled as fn(), quiet as fn());
}
