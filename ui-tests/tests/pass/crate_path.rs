//! `crate = path` for a crate that reaches labbook under another path.

mod reexport {
    pub use labbook;
}

use labbook::prelude::*;

#[experiment(crate = labbook, name = "direct")]
fn direct() {
    #[log(metric)]
    let loss = 0.5;
    let _ = loss;
}

#[experiment(crate = reexport::labbook)]
fn through_module() {
    #[log(metric)]
    let loss = 0.25;
    let _ = loss;
}

fn main() {
    let root = std::env::temp_dir().join(format!("labbook-ui-crate-{}", std::process::id()));
    std::env::set_var("LABBOOK_DIR", &root);
    std::env::set_var("LABBOOK_CONSOLE", "off");
    direct();
    through_module();
    std::fs::remove_dir_all(&root).unwrap();
}
