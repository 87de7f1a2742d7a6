//! `crate = path` for a crate that reaches labbook under another path, for the experiment
//! and for the derives.

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

/// The derives take the same path, on the type.
#[derive(Serialize, Deserialize)]
#[labbook(crate = reexport::labbook)]
struct Hp {
    lr: f64,
}

#[experiment(crate = reexport::labbook)]
fn through_module(#[config] hp: &Hp) {
    let _ = hp.lr;
    #[log(metric)]
    let loss = 0.25;
    let _ = loss;
}

fn main() {
    let root = std::env::temp_dir().join(format!("labbook-ui-crate-{}", std::process::id()));
    std::env::set_var("LABBOOK_DIR", &root);
    std::env::set_var("LABBOOK_CONSOLE", "off");
    direct();
    through_module(&Hp { lr: 0.1 });
    std::fs::remove_dir_all(&root).unwrap();
}
