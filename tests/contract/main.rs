//! Contract tests for the ports: each contract is one function, run against every backend
//! available (the embedded SQLite and local-directory stores always), and the use cases that
//! run against fakes of the outward ports (the gateway over a fake upstream).

mod backends;
mod blob_store;
mod gateway;
mod idempotency;
mod orphan_sweep;
mod repo;
mod webhooks;
mod worker;
