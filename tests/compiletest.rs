//! Compile-error tests: every message the macros can produce, one mistake per
//! file in `tests/ui/`, and programs that must compile in `tests/ui/pass/`.
//! Regenerate the `.stderr` files with `TRYBUILD=overwrite cargo test --test compiletest`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
