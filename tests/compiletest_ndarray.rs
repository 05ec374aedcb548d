//! Compile-error tests of the `ndarray` feature: one mistake per file in
//! `tests/ui/ndarray/` (they need the `ndarray` crate, so they run only with
//! the feature: `cargo test --features ndarray --test compiletest_ndarray`).
//! Regenerate the `.stderr` files with `TRYBUILD=overwrite`.

#![cfg(feature = "ndarray")]

#[test]
fn ui_ndarray() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/ndarray/*.rs");
}
