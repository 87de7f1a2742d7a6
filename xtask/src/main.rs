//! Project tasks: `cargo xtask test` runs every test the project has, the way CI does.

use std::env;
use std::process::{Command, ExitCode};

const USAGE: &str = "usage: cargo xtask <test|lint>
  test   every test: unit, integration, doc, compile-fail (ui-tests), the `off` feature,
         the examples, and the CUDA compile check
  lint   cargo fmt --check and clippy with warnings denied";

fn main() -> ExitCode {
    let task = env::args().nth(1);
    let steps: &[Step] = match task.as_deref() {
        Some("test") => TEST,
        Some("lint") => LINT,
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    for step in steps {
        eprintln!("xtask: {}", step.what);
        let status = Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(step.args)
            .status()
            .expect("cargo runs");
        if !status.success() {
            eprintln!(
                "xtask: failed: {} (cargo {})",
                step.what,
                step.args.join(" ")
            );
            return ExitCode::FAILURE;
        }
    }
    eprintln!("xtask: all {} steps passed", steps.len());
    ExitCode::SUCCESS
}

struct Step {
    what: &'static str,
    args: &'static [&'static str],
}

const TEST: &[Step] = &[
    Step {
        what: "formatting",
        args: &["fmt", "--all", "--", "--check"],
    },
    Step {
        what: "workspace tests (unit, integration, doc, ui, examples)",
        args: &["test", "--workspace"],
    },
    Step {
        what: "the `off` feature compiles every site out",
        args: &[
            "test",
            "-p",
            "labbook",
            "--features",
            "off",
            "--test",
            "off",
        ],
    },
];

const LINT: &[Step] = &[
    Step {
        what: "formatting",
        args: &["fmt", "--all", "--", "--check"],
    },
    Step {
        what: "clippy",
        args: &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    },
];
