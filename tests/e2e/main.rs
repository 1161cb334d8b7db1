//! End-to-end tests over the real server (port 0, temp data dir) and a local origin.

mod common;

mod concurrency;
mod crash;
mod kyy_api;
mod refusals;
mod ssrf;
mod tenancy;
mod v1_api;
