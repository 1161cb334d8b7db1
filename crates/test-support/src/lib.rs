//! What assetlib's end-to-end tests and its benchmark share: an in-memory HTTP origin the server
//! imports from, and the server binary as a child process, and the crash loop over it. The caller names the binary (tests:
//! `env!("CARGO_BIN_EXE_assetlib")`), so this crate does not depend on the server.

pub mod crash_loop;
pub mod logs;
pub mod origin;
pub mod process;
pub mod serve;

pub use logs::count_by_field;
pub use origin::Origin;
pub use process::{Proc, Stderr};
pub use serve::{JOB_LOGS, Serve, run};
