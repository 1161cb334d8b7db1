//! What assetlib's tests, its benchmark and its reliability runs share: an in-memory HTTP origin
//! the server imports from, the server binary as a child process and the crash loop over it,
//! test media made in-process (`media`), and the opt-in switches of tests that need a service or
//! a browser (`opt_in`), buckets made on the S3 test server (`s3`), and a small WebDriver client for the browser tests (`webdriver`). The caller names the binary (tests:
//! `env!("CARGO_BIN_EXE_assetlib")`), so this crate does not depend on the server.

pub mod crash_loop;
pub mod logs;
pub mod media;
pub mod opt_in;
pub mod origin;
pub mod process;
pub mod s3;
pub mod serve;
pub mod webdriver;

pub use logs::count_by_field;
pub use origin::Origin;
pub use process::{Proc, Stderr};
pub use serve::{JOB_LOGS, Serve, run};
