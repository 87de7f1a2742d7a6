//! Compile-time behaviour of `#[experiment]` and `#[log]`, as a user of `labbook` sees it.
//!
//! Each file under `fail/` is one mistake with the exact compiler output pinned next to it
//! (regenerate with `TRYBUILD=overwrite cargo test -p labbook-ui-tests`, then read the
//! diff); each file under `pass/` must compile and its `main` must run.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/fail/*.rs");
    t.pass("tests/pass/*.rs");
}
