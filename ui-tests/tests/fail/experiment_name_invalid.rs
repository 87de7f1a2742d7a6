use labbook::prelude::*;

#[experiment(name = "a//b")]
fn first() {}

#[experiment(name = "")]
fn second() {}

#[experiment(name = "mnist/small")]
fn third() {}

fn main() {}
