use labbook::prelude::*;

#[derive(Serialize)]
struct Hp {
    eos_token: String,
    tokenizer_token: String,
}

#[experiment]
fn listed_as_idents(#[config(public = [eos_token, "tokenizer_token"])] hp: &Hp) {
    let _ = hp;
}

#[experiment]
fn not_a_list(#[config(public = "eos_token")] hp: &Hp) {
    let _ = hp;
}

#[experiment]
fn unknown_option(#[config(private = ["eos_token"])] hp: &Hp) {
    let _ = hp;
}

fn main() {}
