//! Scenario 3: details and list requests with a large library (seeded straight into the
//! database, `seed.rs`), next to a bare axum JSON handler on the same machine (`bare.rs`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::args::BenchArgs;
use crate::bare::Bare;
use crate::seed::{seed, seeded_id, spread};
use crate::server::{Binary, Node};
use crate::stats::{Row, Samples};

/// Names the n-th request of a load run.
type PathFn = Arc<dyn Fn(u64) -> String + Send + Sync>;

pub async fn scenario(
    args: &BenchArgs,
    server: &Binary,
    summary: &mut Vec<String>,
) -> anyhow::Result<Vec<Row>> {
    let count = if args.smoke { 2_000 } else { args.assets };
    let (length, concurrency) = if args.smoke {
        (Duration::from_secs(1), 4)
    } else {
        (Duration::from_secs(10), args.connections)
    };
    let dir = tempfile::Builder::new()
        .prefix("assetlib-bench-reads-")
        .tempdir()?;
    let seeded = seed(dir.path(), count).await?;
    summary.push(format!(
        "reads: {count} assets seeded in {:.1} s",
        seeded.as_secs_f64()
    ));
    let node = Node::start(server, Some(dir.path()), &args.server_args)?;
    let bare = Bare::start()?;
    let client = node.importer()?.client().clone();
    let details: PathFn = Arc::new(move |n| format!("/v1/assets/{}", seeded_id(spread(n, count))));
    let first: PathFn = Arc::new(|_| "/v1/assets?limit=20".to_owned());
    // Keyset cursor near the oldest assets: the deepest page of the library.
    let deep: PathFn = Arc::new(|_| "/v1/assets?limit=20&cursor=1021".to_owned());
    let kyy_first: PathFn =
        Arc::new(|_| "/kyyReactApiServer/kyyVideo2/asset/list?pageNum=1&pageSize=20".to_owned());
    let mut rows = Vec::new();
    let runs: [(&str, &str, &str, &PathFn); 5] = [
        ("details (bare axum handler)", "bare", bare.base(), &details),
        ("details", "assetlib", &node.base, &details),
        ("v1 list, first page", "assetlib", &node.base, &first),
        ("v1 list, deepest page", "assetlib", &node.base, &deep),
        (
            "kyy list, page 1 (with total)",
            "assetlib",
            &node.base,
            &kyy_first,
        ),
    ];
    for (label, target, base, path) in runs {
        let (samples, wall) = load(
            &client,
            base,
            &node.key,
            Arc::clone(path),
            concurrency,
            length,
        )
        .await;
        rows.push(Row::new(
            &format!("reads {label}"),
            target,
            &samples,
            Some(wall),
        ));
    }
    if let (Some(bare), Some(ours)) = (rows[0].per_sec, rows[1].per_sec)
        && bare > 0.0
    {
        summary.push(format!(
            "reads: details at {:.2}× the bare handler's requests/s",
            ours / bare
        ));
    }
    if rows[2].p50_ms > 0.0 {
        summary.push(format!(
            "reads: deepest list page p50 at {:.2}× the first page's",
            rows[3].p50_ms / rows[2].p50_ms
        ));
    }
    Ok(node.note_rss(rows))
}

/// `concurrency` clients sending GETs for `length`; `path(n)` names the n-th request.
async fn load(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    path: PathFn,
    concurrency: usize,
    length: Duration,
) -> (Samples, Duration) {
    let start = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|worker| {
            let client = client.clone();
            let base = base.to_owned();
            let key = key.to_owned();
            let path = Arc::clone(&path);
            tokio::spawn(async move {
                let mut samples = Samples::default();
                let mut n = worker as u64;
                while start.elapsed() < length {
                    let url = format!("{base}{}", path(n));
                    n += concurrency as u64;
                    let sent = Instant::now();
                    match client.get(&url).bearer_auth(&key).send().await {
                        Ok(resp) if resp.status().is_success() => match resp.bytes().await {
                            Ok(_) => samples.ok(sent.elapsed()),
                            Err(e) => samples.error(e.to_string()),
                        },
                        Ok(resp) => samples.error(format!("{url}: {}", resp.status())),
                        Err(e) => samples.error(e.to_string()),
                    }
                }
                samples
            })
        })
        .collect();
    let mut all = Samples::default();
    for task in tasks {
        if let Ok(samples) = task.await {
            all.merge(samples);
        }
    }
    (all, start.elapsed())
}
