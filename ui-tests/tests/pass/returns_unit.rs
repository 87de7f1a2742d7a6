use labbook::prelude::*;

#[experiment]
fn train() {
    #[log(metric)]
    let loss = 0.5;
    let _ = loss;
}

fn main() {
    let root = std::env::temp_dir().join(format!("labbook-ui-unit-{}", std::process::id()));
    std::env::set_var("LABBOOK_DIR", &root);
    std::env::set_var("LABBOOK_CONSOLE", "off");
    train();
    std::fs::remove_dir_all(&root).unwrap();
}
