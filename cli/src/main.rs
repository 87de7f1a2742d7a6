//! `labbook ls`, `show`, `compare`, `plot`, `export`, `watch`, `gc`, `rm`, `sweep`: see
//! `labbook --help`.

fn main() -> std::process::ExitCode {
    labbook_cli::main()
}
