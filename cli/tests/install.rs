//! `cargo install --path cli` puts a working `labbook` into a root of its own: installed
//! into a temporary directory (offline, from the workspace's `Cargo.lock`), it prints its help
//! and lists a store that a real `#[experiment]` run wrote.
//!
//! The install is a debug build (`--debug`) in the workspace's own target directory, so it
//! reuses what `cargo test -p labbook-cli` has just compiled instead of building the command
//! again in release mode: a few seconds once the tests are built.

use std::path::Path;
use std::process::{Command, Output};

use labbook::prelude::*;

#[derive(Serialize)]
struct Hp {
    lr: f64,
}

#[experiment(name = "installed")]
fn train(#[config] hp: &Hp) {
    for i in 0..100u32 {
        #[log(metric, every = 10)]
        let loss = 1.0 / (1.0 + f64::from(i) * hp.lr);
    }
}

fn stdout(what: &str, out: Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{stderr}",
        out.status
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn cargo_install_gives_a_labbook_that_lists_runs() {
    let root = tempfile::tempdir().unwrap();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut install = Command::new(cargo);
    // What cargo tells this test about its own package is not the install's business, and
    // build scripts that watch those variables (ring's) would build again for nothing.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        let of_this_test = [
            "CARGO_PKG_",
            "CARGO_MANIFEST_",
            "CARGO_CRATE_",
            "CARGO_BIN_",
        ]
        .iter()
        .any(|prefix| name.starts_with(prefix))
            || ["CARGO_PRIMARY_PACKAGE", "CARGO_TARGET_TMPDIR", "OUT_DIR"].contains(&&*name);
        if of_this_test {
            install.env_remove(&*name);
        }
    }
    let install = install
        .args([
            "install",
            "--offline",
            "--locked",
            "--debug",
            "--quiet",
            "--path",
        ])
        .arg(crate_dir)
        .arg("--root")
        .arg(root.path())
        .output()
        .unwrap();
    stdout("cargo install --path cli", install);
    let labbook = root
        .path()
        .join("bin")
        .join(format!("labbook{}", std::env::consts::EXE_SUFFIX));
    assert!(labbook.is_file(), "no {}", labbook.display());

    let help = stdout(
        "labbook --help",
        Command::new(&labbook).arg("--help").output().unwrap(),
    );
    for command in [
        "ls", "show", "compare", "plot", "export", "watch", "gc", "rm", "sync",
    ] {
        assert!(
            help.lines()
                .any(|line| line.trim_start().starts_with(&format!("{command} "))),
            "`{command}` is missing from the help:\n{help}"
        );
    }

    let store = tempfile::tempdir().unwrap();
    std::env::set_var("LABBOOK_DIR", store.path());
    std::env::set_var("LABBOOK_CONSOLE", "off");
    train(&Hp { lr: 0.1 });
    train(&Hp { lr: 0.2 });
    let ls = stdout(
        "labbook ls",
        Command::new(&labbook)
            .arg("ls")
            .env("LABBOOK_DIR", store.path())
            .output()
            .unwrap(),
    );
    let runs: Vec<&str> = ls
        .lines()
        .filter(|line| line.contains("installed/"))
        .collect();
    assert_eq!(runs.len(), 2, "{ls}");
    assert!(runs.iter().all(|line| line.contains("COMPLETE")), "{ls}");
    assert!(ls.contains("loss"), "{ls}");
}
