use labbook::prelude::*;

#[derive(Serialize, Clone)]
struct Hp {
    lr: f64,
    steps: usize,
}

#[experiment]
fn by_value(#[config] hp: Hp) -> f64 {
    #[log(param)]
    let lr = hp.lr;
    lr * hp.steps as f64
}

#[experiment]
fn by_reference(#[config] hp: &Hp, seed: u64) -> f64 {
    #[log(param)]
    let seed = seed;
    hp.lr + seed as f64
}

#[experiment]
fn by_mutable_binding(#[config] mut hp: Hp) -> usize {
    hp.steps += 1;
    hp.steps
}

fn main() {
    let root = std::env::temp_dir().join(format!("labbook-ui-config-{}", std::process::id()));
    std::env::set_var("LABBOOK_DIR", &root);
    std::env::set_var("LABBOOK_CONSOLE", "off");
    let hp = Hp { lr: 0.5, steps: 4 };
    assert_eq!(by_value(hp.clone()), 2.0);
    assert_eq!(by_reference(&hp, 1), 1.5);
    assert_eq!(by_mutable_binding(hp), 5);
    std::fs::remove_dir_all(&root).unwrap();
}
