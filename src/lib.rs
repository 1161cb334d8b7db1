//! assetlib: a self-hostable asset library server for AI video generation.
//!
//! The crate is laid out as `http → service → ports ← adapters`; see `docs/ARCHITECTURE.md`.

pub mod blob;
pub mod config;
pub mod domain;
pub mod fetch;
pub mod http;
pub mod jobs;
pub mod moderation;
pub mod probe;
pub mod repo;
pub mod server;
pub mod service;
pub mod state;
pub mod upstream;
