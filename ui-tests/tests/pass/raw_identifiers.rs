use labbook::prelude::*;

struct Batch {
    r#type: u32,
}

#[experiment]
fn train() -> u32 {
    #[log(metric)]
    let r#match = 3;
    let batch = Batch { r#type: 2 };
    #[log(metric)]
    batch.r#type;
    r#match + batch.r#type
}

fn main() {
    let root = std::env::temp_dir().join(format!("labbook-ui-raw-{}", std::process::id()));
    std::env::set_var("LABBOOK_DIR", &root);
    std::env::set_var("LABBOOK_CONSOLE", "off");
    assert_eq!(train(), 5);
    std::fs::remove_dir_all(&root).unwrap();
}
