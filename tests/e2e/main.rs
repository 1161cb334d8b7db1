//! End-to-end tests over the real server (port 0, temp data dir) and a local origin.

mod common;
#[path = "../support/corpus.rs"]
mod corpus;

mod admission;
mod cli;
mod cluster;
mod concurrency;
mod connections;
mod console;
mod content;
mod crash;
mod crash_loop;
mod dedupe;
mod direct_uploads;
mod envelopes;
mod expiry;
mod fsck;
mod gateway;
mod groups;
mod health;
mod idempotency;
mod kyy_api;
mod kyy_uploads;
mod lifecycle;
mod lying_media;
mod manxue;
mod media_rules;
mod moderation;
mod multinode;
mod observability;
mod openapi;
mod pg_restart;
mod quotas;
mod refusals;
mod resolve;
mod resolve_anywhere;
mod shutdown;
mod ssrf;
mod tenancy;
mod tus;
mod upload_races;
mod v1_api;
mod v1_uploads;
mod volc;
mod webhooks;
