//! Every default setting, named once: the flags' defaults, `Config::for_data_dir` and the
//! other commands read them from here.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

pub const LISTEN: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 8080));
pub const DATA_DIR: &str = "./data";
pub const WORKERS: usize = 4;
pub const FETCH_CONNECT_TIMEOUT_SECS: u64 = 10;
pub const FETCH_TIMEOUT_SECS: u64 = 120;
pub const MAX_REDIRECTS: usize = 5;
pub const JOB_LEASE_SECS: u64 = 30;
pub const JOB_MAX_ATTEMPTS: u32 = 5;
pub const JOB_BACKOFF_BASE_SECS: u64 = 1;
pub const JOB_POLL_INTERVAL_SECS: u64 = 1;
pub const SHUTDOWN_GRACE_SECS: u64 = 20;
pub const CONTENT_URL_TTL_SECS: u64 = 12 * 3600;
pub const ORPHAN_GRACE_SECS: u64 = 3600;
/// Seconds an S3 request is retried (with backoff) before the blob store's failure is answered.
pub const BLOB_RETRY_SECS: u64 = 15;
/// Days a deleted asset can be restored before it is purged.
pub const DELETED_RETENTION_DAYS: u64 = 7;
/// Hours an Idempotency-Key's first answer is kept.
pub const IDEMPOTENCY_TTL_HOURS: u64 = 24;
/// How long a claimed Idempotency-Key stands without a renewal from its call.
pub const IDEMPOTENCY_LOCK_SECS: u64 = 120;
pub const MAX_FETCHES_PER_TENANT: usize = 32;
/// Resumable and direct uploads one tenant may have open (`--max-open-uploads`).
pub const MAX_OPEN_UPLOADS: u64 = 100;
pub const MAX_QUEUED_JOBS: u64 = 2000;
/// Enough for the largest image the rules admit (6000×6000 RGBA, 144 MB) alongside others.
pub const DECODE_BUDGET_MIB: u64 = 512;
/// MiB of a local blob store's bytes kept in memory for content answers.
pub const CONTENT_CACHE_MIB: u64 = 256;
/// Client connections (see `HttpConfig`).
pub const HEADER_READ_TIMEOUT_SECS: u64 = 10;
/// Longer than the 60 s idle timeout of common load balancers, so that they close first.
pub const KEEP_ALIVE_TIMEOUT_SECS: u64 = 75;
pub const BODY_READ_TIMEOUT_SECS: u64 = 30;
pub const MAX_CONNECTIONS: usize = 4096;
/// Long enough for a client on a slow link to take in the next chunk of an answer.
pub const WRITE_TIMEOUT_SECS: u64 = 30;
/// Room for a browser's or an SDK's pools, far from the whole node's cap.
pub const MAX_CONNECTIONS_PER_ADDRESS: usize = 64;
pub const MAX_STREAMS_PER_CONTENT_URL: usize = 16;

/// The first retry of a failed webhook delivery, in seconds (then doubling, ≤ 2 h, for 24 h).
pub const WEBHOOK_RETRY_BASE_SECS: u64 = 30;

/// The region and service of the Volcengine-style face's credential scope.
pub const VOLC_REGION: &str = "cn-beijing";
pub const VOLC_SERVICE: &str = "ark";
