use labbook::prelude::*;

#[experiment]
fn train(steps: u32) -> f64 {
    let mut loss = 1.0;
    for _ in 0..steps {
        loss *= 0.5;
        #[log(metric)]
        loss;
    }
    loss
}

fn main() {
    let root = std::env::temp_dir().join(format!("labbook-ui-plain-{}", std::process::id()));
    std::env::set_var("LABBOOK_DIR", &root);
    std::env::set_var("LABBOOK_CONSOLE", "off");
    assert_eq!(train(2), 0.25);
    std::fs::remove_dir_all(&root).unwrap();
}
