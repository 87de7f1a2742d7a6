//! Records the compiler that builds labbook, and so the user's program (one `cargo build`
//! uses one compiler for every crate), for `metadata/info.json`: `LABBOOK_RUSTC_VERSION`
//! (`rustc -V`, e.g. `rustc 1.95.0 (…)`) and `LABBOOK_TARGET` (the target triple).

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=RUSTC");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let version = Command::new(&rustc)
        .arg("-V")
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned());
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".to_owned());
    println!("cargo:rustc-env=LABBOOK_RUSTC_VERSION={version}");
    println!("cargo:rustc-env=LABBOOK_TARGET={target}");
}
