//! Shared by the unit tests: the package folder, read when the test runs
//! (cargo sets `CARGO_MANIFEST_DIR` for every test process). The compile-time
//! value would name the clone that built the binary, and the shared target
//! folder (tests/run) lets a clone at another path reuse that binary; the
//! integration tests have the same rule in tests/common/manifest.rs.
use std::path::PathBuf;

pub(crate) fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .expect("CARGO_MANIFEST_DIR: run the tests with cargo test")
}
