//! `labbook ls`, `show`, `compare`, `plot`, `export`, `watch`, `gc`, `rm`, `sweep`: see
//! `labbook --help`.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    labbook_cli::main()
}
