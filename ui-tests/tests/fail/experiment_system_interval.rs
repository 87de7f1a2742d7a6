use labbook::prelude::*;

#[experiment(system = "5 weeks")]
fn too_vague() {}

#[experiment(system = "10ms")]
fn too_often() {}

#[experiment(system = on)]
fn not_a_setting() {}

fn main() {}
