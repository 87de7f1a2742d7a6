//! Project tasks: `cargo xtask test` runs every test the project has, the way CI does.
//!
//! Tests that read labbook's output with the real Python tools (TensorBoard, MLflow, W&B,
//! PROV) find their interpreter in `LABBOOK_PYTHON`; this task creates that virtual
//! environment from `xtask/verify/requirements.txt` (pinned) once and reuses it.

mod bench;
mod python;
mod system;

use std::env;
use std::process::{Command, ExitCode};

const USAGE: &str = "usage: cargo xtask <test|lint|venv|bench-compare>
  test   every test: unit, integration, doc, compile-fail (ui-tests), each feature,
         the examples, the CUDA compile check, and the MPI example under mpirun
         (installs Debian's Open MPI and libclang with apt-get when missing)
  lint   cargo fmt --check and clippy with warnings denied
  venv   create the pinned Python environment of the verifiers and print its python
  bench-compare [overhead|training|team]
         labbook and the Python peers on the same workloads, in one run: bench/RESULTS.md;
         `overhead` measures only the paired training-loop overhead rows (no Python);
         `training` only the MNIST example's training speed as shipped;
         `team` only labbook and Python against PostgreSQL + `mlflow server --workers 4`";

fn main() -> ExitCode {
    let task = env::args().nth(1);
    let steps: &[Step] = match task.as_deref() {
        Some("test") => TEST,
        Some("lint") => LINT,
        Some("bench-compare") => {
            return match bench::compare() {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(&e),
            }
        }
        Some("venv") => {
            return match python::ensure(&python::VERIFY) {
                Ok(python) => {
                    println!("{}", python.display());
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let python = if steps.iter().any(|s| s.needs_python) {
        match python::ensure(&python::VERIFY) {
            Ok(python) => Some(python),
            Err(e) => return fail(&e),
        }
    } else {
        None
    };
    if steps.iter().any(|s| s.needs_mpi) {
        if let Err(e) = system::ensure(system::MPI) {
            return fail(&e);
        }
    }
    if steps.iter().any(|s| s.needs_postgres) {
        if let Err(e) = system::ensure(system::POSTGRES) {
            return fail(&e);
        }
    }
    for step in steps {
        eprintln!("xtask: {}", step.what);
        let mut command = Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        command.args(step.args);
        if let Some(python) = &python {
            command.env("LABBOOK_PYTHON", python);
        }
        let status = command.status().expect("cargo runs");
        if !status.success() {
            return fail(&format!("{} (cargo {})", step.what, step.args.join(" ")));
        }
    }
    eprintln!("xtask: all {} steps passed", steps.len());
    ExitCode::SUCCESS
}

fn fail(what: &str) -> ExitCode {
    eprintln!("xtask: failed: {what}");
    ExitCode::FAILURE
}

struct Step {
    what: &'static str,
    args: &'static [&'static str],
    /// Whether the step runs the Python verifiers.
    needs_python: bool,
    /// Whether the step builds or runs the MPI example (Open MPI, libclang).
    needs_mpi: bool,
    /// Whether the step starts PostgreSQL (Debian's `postgresql`).
    needs_postgres: bool,
}

const fn step(what: &'static str, args: &'static [&'static str]) -> Step {
    Step {
        what,
        args,
        needs_python: false,
        needs_mpi: false,
        needs_postgres: false,
    }
}

const fn with_mpi(what: &'static str, args: &'static [&'static str]) -> Step {
    Step {
        needs_mpi: true,
        ..step(what, args)
    }
}

#[allow(dead_code)]
const fn verified(what: &'static str, args: &'static [&'static str]) -> Step {
    Step {
        needs_python: true,
        ..step(what, args)
    }
}

const TEST: &[Step] = &[
    step("formatting", &["fmt", "--all", "--", "--check"]),
    // The command's crate has a step of its own: its default feature `mlflow` would turn on
    // the library's, and with it the MLflow tests that the verified step below runs.
    step(
        "workspace tests (unit, integration, doc, ui, examples)",
        &["test", "--workspace", "--exclude", "labbook-cli"],
    ),
    step(
        "the `off` feature compiles every site out",
        &[
            "test",
            "-p",
            "labbook",
            "--features",
            "off",
            "--test",
            "off",
        ],
    ),
    // Verified: `labbook register` and `models ls` are tested against a real mlflow server.
    verified(
        "the labbook command, the fault-injection suite and `cargo install --path cli`",
        &["test", "-p", "labbook-cli"],
    ),
    step(
        "dfdx tensors and models as log values",
        &[
            "test",
            "-p",
            "labbook",
            "--features",
            "dfdx",
            "--lib",
            "tensor",
        ],
    ),
    // One cargo call for the library's and the example's burn tests: two calls would resolve
    // the features of the crates they share differently and build burn twice.
    step(
        "burn tensors, modules, optimizers and burn-train's metrics, and the burn MNIST example on tiny data (its run and resume), read back from the store",
        &[
            "test",
            "-p",
            "labbook",
            "-p",
            "labbook-examples",
            "--features",
            "labbook/burn,labbook-examples/burn",
            "--lib",
            "--test",
            "burn",
            "--test",
            "mnist_burn",
        ],
    ),
    step(
        "candle tensors and VarMaps as log values, and the candle MNIST example on tiny data (its run), read back from the store",
        &[
            "test",
            "-p",
            "labbook",
            "-p",
            "labbook-examples",
            "--features",
            "labbook/candle,labbook-examples/candle",
            "--lib",
            "--test",
            "candle",
            "--test",
            "mnist_candle",
        ],
    ),
    step(
        "the MNIST example compiles for CUDA without a toolkit",
        &[
            "check",
            "--example",
            "mnist",
            "--features",
            "cuda,dfdx/ci-check",
        ],
    ),
    step(
        "GPU system metrics compile without NVIDIA's library (it is loaded at run time)",
        &["check", "-p", "labbook", "--features", "nvml"],
    ),
    with_mpi(
        "data-parallel MNIST under mpirun",
        &[
            "test",
            "-p",
            "labbook-examples",
            "--features",
            "mpi",
            "--test",
            "mnist_ddp",
        ],
    ),
    verified(
        "MLflow backend and its sync (what `labbook sync` runs) against a real mlflow server",
        &[
            "test",
            "-p",
            "labbook",
            "--features",
            "mlflow",
            "--lib",
            "--test",
            "mlflow",
        ],
    ),
    Step {
        needs_postgres: true,
        ..verified(
            "MLflow at team scale: PostgreSQL, SeaweedFS's S3 and `mlflow server --workers 4`",
            &[
                "test",
                "-p",
                "labbook",
                "--features",
                "mlflow",
                "--test",
                "mlflow_team",
                // One at a time: the 16-process test takes both cores, and a run of another
                // test beside it would not finish its live upload within its end's deadline.
                "--",
                "--test-threads=1",
            ],
        )
    },
    verified(
        "TensorBoard event files read by tensorboard",
        &[
            "test",
            "-p",
            "labbook",
            "--features",
            "tensorboard",
            "--lib",
            "--test",
            "tensorboard",
            "--test",
            "bad_input",
        ],
    ),
    verified(
        "W&B offline runs read by wandb",
        &[
            "test",
            "-p",
            "labbook",
            "--features",
            "wandb",
            "--lib",
            "--test",
            "wandb",
            "--test",
            "bad_input",
        ],
    ),
    verified(
        "PROV-JSON documents read by prov",
        &[
            "test",
            "-p",
            "labbook",
            "--features",
            "prov",
            "--lib",
            "--test",
            "prov",
            "--test",
            "bad_input",
        ],
    ),
];

const LINT: &[Step] = &[
    step("formatting", &["fmt", "--all", "--", "--check"]),
    step(
        "clippy",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    ),
    with_mpi(
        "clippy on the MPI example",
        &[
            "clippy",
            "-p",
            "labbook-examples",
            "--features",
            "mpi",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    ),
    // One cargo call for every backend, both frameworks and their examples: calls with other
    // feature sets would resolve the crates they share differently and build burn and candle
    // again. It is also the compile check of the burn example's GPU backend (wgpu), which
    // builds without a GPU or a driver.
    step(
        "clippy on every backend, both frameworks (burn with its wgpu backend), their tests and the framework examples",
        &[
            "clippy",
            "-p",
            "labbook",
            "-p",
            "labbook-examples",
            "--features",
            "labbook/mlflow,labbook/tensorboard,labbook/wandb,labbook/prov,labbook/nvml,labbook-examples/burn,labbook-examples/burn-wgpu,labbook-examples/candle",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    ),
    step(
        "clippy on the `off` feature",
        &[
            "clippy",
            "-p",
            "labbook",
            "--features",
            "off",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    ),
];
