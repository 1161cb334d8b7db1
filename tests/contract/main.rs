//! Contract tests for the ports, and the use cases that run against fakes of the outward ports
//! (the gateway over a fake upstream). Each case is a function of the storage it is handed;
//! `per_backend!` makes one test of it per backend (`repo::groups::postgres::…`), each on fresh
//! storage of its own, so a failure names the case and the backend that broke.

mod backends;
mod blob_store;
mod blob_stream;
mod gateway;
mod idempotency;
mod orphan_sweep;
mod repo;
mod webhooks;
mod worker;
