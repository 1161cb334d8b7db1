//! Prometheus metrics, process-wide: what every layer counts, and the text a scrape reads.
//!
//! Names follow Prometheus conventions (`assetlib_` prefix, `_total` on counters, `_seconds`
//! and `_bytes` in base units) and labels only take bounded values: a route's template (never
//! an id), a method, a status, an asset type, a stable code, a stage. Gauges that describe the
//! shared state (the job queue, the review backlog, the database pool) and the process's own
//! figures (`process::ProcessStats`, from `/proc/self`) are read when scraped.

pub use process::ProcessStats;

mod process;

use std::sync::atomic::AtomicU64;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

type Labels = Vec<(&'static str, String)>;
type Histograms = Family<Labels, Histogram, fn() -> Histogram>;

/// 5 ms … ~82 s, doubling.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 15))
}

/// Where a chunk of a content answer came from (`assetlib_content_chunks_total`'s `from`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkFrom {
    /// The content cache.
    Memory = 0,
    /// The disk: read into the content cache, or into the page cache before `sendfile`.
    Store = 1,
    /// A window of a mapped file already in the page cache.
    PageCache = 2,
}

/// Every metric of the process.
pub struct Metrics {
    registry: Registry,
    pub http_requests: Family<Labels, Counter>,
    pub http_duration: Histograms,
    pub uploads: Family<Labels, Counter>,
    pub stage_duration: Histograms,
    pub time_to_settle: Histograms,
    pub jobs_retried: Counter,
    pub jobs_given_up: Counter,
    pub face_holds: Counter,
    pub webhook_deliveries: Family<Labels, Counter>,
    pub fetched_bytes: Counter,
    pub blob_errors: Counter,
    /// `assetlib_content_chunks_total` by `from`, in the order of [`ChunkFrom`] (made at start,
    /// each a handle on its row of the family).
    content_chunks: [Counter; 3],
    pub content_cache_bytes: Gauge,
    pub queue_depth: Gauge,
    pub oldest_job_age: Gauge<f64, AtomicU64>,
    pub review_backlog: Gauge,
    pub review_oldest_age: Gauge<f64, AtomicU64>,
    pub db_connections: Gauge,
    pub db_idle_connections: Gauge,
    pub resident_memory: Gauge,
    pub open_fds: Gauge,
    pub cpu_seconds: Counter<f64, AtomicU64>,
    /// Serialises the CPU counter's catch-up (it is advanced to the reading, never past it).
    cpu_update: Mutex<()>,
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::default();
        let histograms = || Histograms::new_with_constructor(latency_histogram);
        let m = Self {
            http_requests: Family::default(),
            http_duration: histograms(),
            uploads: Family::default(),
            stage_duration: histograms(),
            time_to_settle: histograms(),
            jobs_retried: Counter::default(),
            jobs_given_up: Counter::default(),
            face_holds: Counter::default(),
            webhook_deliveries: Family::default(),
            fetched_bytes: Counter::default(),
            blob_errors: Counter::default(),
            content_chunks: Default::default(),
            content_cache_bytes: Gauge::default(),
            queue_depth: Gauge::default(),
            oldest_job_age: Gauge::default(),
            review_backlog: Gauge::default(),
            review_oldest_age: Gauge::default(),
            db_connections: Gauge::default(),
            db_idle_connections: Gauge::default(),
            resident_memory: Gauge::default(),
            open_fds: Gauge::default(),
            cpu_seconds: Counter::default(),
            cpu_update: Mutex::new(()),
            registry: Registry::default(),
        };
        registry.register(
            "assetlib_http_requests",
            "HTTP requests answered, by route template, method and status",
            m.http_requests.clone(),
        );
        registry.register(
            "assetlib_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template and method",
            m.http_duration.clone(),
        );
        registry.register(
            "assetlib_uploads",
            "Uploads by asset type and outcome: accepted, or the stable code of the refusal",
            m.uploads.clone(),
        );
        registry.register(
            "assetlib_stage_duration_seconds",
            "Time spent in each stage of an upload's processing: fetch, store, probe, face_check",
            m.stage_duration.clone(),
        );
        registry.register(
            "assetlib_time_to_settle_seconds",
            "Time from an upload to its terminal or held status, by asset type and status",
            m.time_to_settle.clone(),
        );
        registry.register(
            "assetlib_jobs_retried",
            "Processing jobs put back in the queue after a failed attempt",
            m.jobs_retried.clone(),
        );
        registry.register(
            "assetlib_jobs_given_up",
            "Processing jobs given up after their last attempt",
            m.jobs_given_up.clone(),
        );
        registry.register(
            "assetlib_face_check_holds",
            "Assets held for review by the face check",
            m.face_holds.clone(),
        );
        registry.register(
            "assetlib_webhook_deliveries",
            "Webhook delivery attempts by outcome: delivered, retry, failed",
            m.webhook_deliveries.clone(),
        );
        registry.register(
            "assetlib_fetched_bytes",
            "Bytes downloaded from source URLs",
            m.fetched_bytes.clone(),
        );
        registry.register(
            "assetlib_blob_store_errors",
            "Errors of the blob store seen by requests and jobs",
            m.blob_errors.clone(),
        );
        let chunks = Family::<Labels, Counter>::default();
        let content_chunks = ["memory", "store", "page-cache"].map(|from| {
            chunks
                .get_or_create(&vec![("from", from.to_owned())])
                .clone()
        });
        registry.register(
            "assetlib_content_chunks",
            "Chunks of a local store's blobs sent in content answers, by where they came from: page-cache (a window of the mapped file, sent with sendfile, already in memory), store (read from disk first) or memory (the content cache, where files cannot be mapped)",
            chunks,
        );
        registry.register(
            "assetlib_content_cache_bytes",
            "Bytes of blobs this node holds in memory for content answers",
            m.content_cache_bytes.clone(),
        );
        registry.register(
            "assetlib_job_queue_depth",
            "Processing jobs waiting or running (all nodes)",
            m.queue_depth.clone(),
        );
        registry.register(
            "assetlib_job_queue_oldest_age_seconds",
            "Age of the oldest job waiting or running (all nodes)",
            m.oldest_job_age.clone(),
        );
        registry.register(
            "assetlib_review_backlog",
            "Assets waiting for a reviewer (PendingReview, every tenant)",
            m.review_backlog.clone(),
        );
        registry.register(
            "assetlib_review_backlog_oldest_age_seconds",
            "How long the asset held longest has waited for a reviewer (0 when none waits)",
            m.review_oldest_age.clone(),
        );
        registry.register(
            "process_resident_memory_bytes",
            "Resident memory of this process, in bytes (Linux)",
            m.resident_memory.clone(),
        );
        registry.register(
            "process_open_fds",
            "File descriptors open in this process (Linux)",
            m.open_fds.clone(),
        );
        registry.register(
            "process_cpu_seconds",
            "CPU time of this process, user and system, in seconds (Linux)",
            m.cpu_seconds.clone(),
        );
        registry.register(
            "assetlib_db_connections",
            "Connections of this node's database pools",
            m.db_connections.clone(),
        );
        registry.register(
            "assetlib_db_idle_connections",
            "Idle connections of this node's database pools",
            m.db_idle_connections.clone(),
        );
        Self {
            registry,
            content_chunks,
            ..m
        }
    }

    /// The process's figures as read now (left as they were when one cannot be read).
    pub fn process(&self, stats: ProcessStats) {
        if let Some(bytes) = stats.resident_bytes {
            self.resident_memory
                .set(i64::try_from(bytes).unwrap_or(i64::MAX));
        }
        if let Some(fds) = stats.open_fds {
            self.open_fds.set(i64::try_from(fds).unwrap_or(i64::MAX));
        }
        if let Some(seconds) = stats.cpu_seconds
            && let Ok(_one) = self.cpu_update.lock()
        {
            let behind = seconds - self.cpu_seconds.get();
            if behind > 0.0 {
                self.cpu_seconds.inc_by(behind);
            }
        }
    }

    /// The review backlog: how many assets wait, and how long the oldest has.
    pub fn review_backlog(&self, held: u64, oldest_age: std::time::Duration) {
        self.review_backlog
            .set(i64::try_from(held).unwrap_or(i64::MAX));
        self.review_oldest_age.set(oldest_age.as_secs_f64());
    }

    /// The text a scrape reads (OpenMetrics).
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }

    pub fn request(&self, route: &str, method: &str, status: u16, took: Duration) {
        self.http_requests
            .get_or_create(&vec![
                ("route", route.to_owned()),
                ("method", method.to_owned()),
                ("status", status.to_string()),
            ])
            .inc();
        self.http_duration
            .get_or_create(&vec![
                ("route", route.to_owned()),
                ("method", method.to_owned()),
            ])
            .observe(took.as_secs_f64());
    }

    /// An upload's outcome: `accepted`, or the refusal's stable code.
    pub fn upload(&self, asset_type: &str, outcome: &str) {
        self.uploads
            .get_or_create(&vec![
                ("type", asset_type.to_owned()),
                ("outcome", outcome.to_owned()),
            ])
            .inc();
    }

    pub fn stage(&self, stage: &'static str, took: Duration) {
        self.stage_duration
            .get_or_create(&vec![("stage", stage.to_owned())])
            .observe(took.as_secs_f64());
    }

    pub fn settled(&self, asset_type: &str, status: &str, took: Duration) {
        self.time_to_settle
            .get_or_create(&vec![
                ("type", asset_type.to_owned()),
                ("status", status.to_owned()),
            ])
            .observe(took.as_secs_f64());
    }

    /// A chunk (or window) of a content answer, counted by where it came from.
    pub fn content_chunk(&self, from: ChunkFrom) {
        self.content_chunks[from as usize].inc();
    }

    pub fn webhook(&self, outcome: &'static str) {
        self.webhook_deliveries
            .get_or_create(&vec![("outcome", outcome.to_owned())])
            .inc();
    }
}

/// The process's metrics.
pub static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_render_with_conventional_names() {
        let m = Metrics::new();
        m.request(
            "/v1/assets/{asset_id}",
            "GET",
            200,
            Duration::from_millis(3),
        );
        m.upload("Image", "accepted");
        m.jobs_retried.inc();
        m.queue_depth.set(4);
        m.review_backlog(2, Duration::from_secs(90));
        m.process(ProcessStats {
            resident_bytes: Some(50 << 20),
            open_fds: Some(12),
            cpu_seconds: Some(1.5),
        });
        m.process(ProcessStats {
            cpu_seconds: Some(1.25),
            ..ProcessStats::default()
        });
        let text = m.render();
        for line in [
            "assetlib_http_requests_total{route=\"/v1/assets/{asset_id}\",method=\"GET\",status=\"200\"} 1",
            "assetlib_uploads_total{type=\"Image\",outcome=\"accepted\"} 1",
            "assetlib_jobs_retried_total 1",
            "assetlib_job_queue_depth 4",
            "assetlib_review_backlog 2",
            "assetlib_review_backlog_oldest_age_seconds 90.0",
            "process_resident_memory_bytes 52428800",
            "process_open_fds 12",
            "process_cpu_seconds_total 1.5",
            "# TYPE assetlib_http_request_duration_seconds histogram",
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
    }
}
