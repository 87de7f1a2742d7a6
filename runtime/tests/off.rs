//! With the `off` feature every site compiles out: `cargo test -p labbook --features off`.

#![cfg(feature = "off")]

mod support;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use labbook::prelude::*;
use support::{info, store};

static EVALUATED: AtomicUsize = AtomicUsize::new(0);

fn expensive() -> f64 {
    EVALUATED.fetch_add(1, Ordering::SeqCst);
    1.0
}

#[derive(Serialize)]
struct Hp {
    steps: usize,
}

#[experiment]
fn silent(#[config] hp: Hp) -> (f64, PathBuf) {
    let mut sum = 0.0;
    for _ in 0..hp.steps {
        #[log(metric)]
        let bound = 2.0;
        sum += bound;
        #[log(metric, name = "expensive")]
        expensive();
    }
    (sum, run().dir().unwrap().to_owned())
}

#[test]
fn sites_compile_out_but_the_run_keeps_its_directory_and_metadata() {
    store();
    let (sum, dir) = silent(Hp { steps: 10 });
    assert_eq!(sum, 20.0, "a `let` site still binds");
    assert_eq!(
        EVALUATED.load(Ordering::SeqCst),
        0,
        "an expression site is not evaluated"
    );
    assert_eq!(std::fs::read_dir(dir.join("metrics")).unwrap().count(), 0);
    assert!(dir.join("metadata/config.json").exists());
    let info = info(&dir);
    assert_eq!(info.status, labbook::Status::Complete);
    assert_eq!(info.features, ["off"]);
}
