use labbook::prelude::*;

#[experiment(ranks = all)]
fn everywhere() {
    #[log(metric)]
    let loss = 0.5;
    #[log(metric, ranks = [0, 2])]
    let accuracy = 0.9;
    let _ = (loss, accuracy);
}

#[experiment]
fn on_sites() {
    #[log(metric, ranks = all)]
    let loss = 0.5;
    #[log(metric, ranks = [0, 2], every = 10)]
    let accuracy = 0.9;
    #[log(param, ranks = [1])]
    let seed = 7;
    let _ = (loss, accuracy, seed);
}

#[experiment(ranks = [0, 2])]
fn on_listed_ranks() {
    #[log(metric, ranks = all)]
    let loss = 0.5;
    let _ = loss;
}

fn main() {
    let root = std::env::temp_dir().join(format!("labbook-ui-ranks-{}", std::process::id()));
    std::env::set_var("LABBOOK_DIR", &root);
    std::env::set_var("LABBOOK_CONSOLE", "off");
    everywhere();
    on_sites();
    on_listed_ranks();
    std::fs::remove_dir_all(&root).unwrap();
}
