use labbook::prelude::*;

#[experiment]
fn train() -> f32 {
    #[log(metric)]
    let loss: f32 = 0.5;
    #[log(metric)]
    let mut steps: u64 = 1;
    steps += 1;
    #[log(text)]
    let note: &str = "done";
    let _ = note;
    loss * steps as f32
}

fn main() {
    let root = std::env::temp_dir().join(format!("labbook-ui-typed-{}", std::process::id()));
    std::env::set_var("LABBOOK_DIR", &root);
    std::env::set_var("LABBOOK_CONSOLE", "off");
    assert_eq!(train(), 1.0);
    std::fs::remove_dir_all(&root).unwrap();
}
