//! Contract tests for the ports: each contract is one function, run against every backend
//! available (the embedded SQLite and local-directory stores always).

mod backends;
mod blob_store;
mod repo;
mod worker;
