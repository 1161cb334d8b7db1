//! Scenario 2: ~46 MB 720p MP4 imports, one and eight at once, next to a plain streaming copy
//! of the same bytes from the same origin to disk (the practical limit).

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use assetlib_test_support::Origin;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use crate::args::BenchArgs;
use crate::importer::Importer;
use crate::media;
use crate::server::{Binary, Node};
use crate::stats::{Row, Samples};

static NEXT: AtomicU64 = AtomicU64::new(1_000_000);

fn next_url(origin: &Origin, file: &str) -> String {
    origin.url(file, NEXT.fetch_add(1, Ordering::Relaxed))
}

pub async fn scenario(
    args: &BenchArgs,
    server: &Binary,
    work: &Path,
    summary: &mut Vec<String>,
) -> anyhow::Result<Vec<Row>> {
    let video = if args.smoke {
        media::small_video_mp4(work)?
    } else {
        media::video_mp4(work)?
    };
    let size_mb = std::fs::metadata(&video)?.len() as f64 / 1e6;
    let photo = media::photo_jpeg(work)?;
    let origin = media::serve(&[
        ("video.mp4", video.as_path(), "video/mp4"),
        ("photo.jpg", photo.as_path(), "image/jpeg"),
    ])
    .await?;
    let node = Node::start(server, None, &args.server_args)?;
    let ours = node.importer()?;
    // Memory after small imports, to compare with after the large ones.
    for v in 0..3 {
        let _ = ours
            .import(&origin.url("photo.jpg", 9_000_000 + v), "Image")
            .await;
    }
    let rss_small = node.peak_rss_mib().unwrap_or(0.0);
    let scratch = tempfile::Builder::new()
        .prefix("assetlib-bench-copy-")
        .tempdir_in(work)?;
    let mut rows = Vec::new();
    for n in [1, 8] {
        rows.push(copies(ours.client(), &origin, "video.mp4", n, scratch.path()).await);
        rows.extend(imports(&ours, &origin, "video.mp4", n).await);
    }
    let rss_large = node.peak_rss_mib().unwrap_or(0.0);
    // The same file sent by the client itself (`PUT /v1/assets/{name}`), streamed to disk.
    let bytes = axum::body::Bytes::from(std::fs::read(&video)?);
    for n in [1, 8] {
        rows.extend(direct_uploads(&ours, &bytes, n).await);
    }
    let rss_direct = node.peak_rss_mib().unwrap_or(0.0);
    summary.push(format!(
        "ingest: video {size_mb:.1} MB; server peak RSS {rss_small:.0} MiB after three 1 MB \
         imports, {rss_large:.0} MiB after the video imports, {rss_direct:.0} MiB after the \
         direct uploads"
    ));
    let mut rows = node.note_rss(rows);
    drop(node);
    if let Some(peer) = args.peer()? {
        for n in [1, 8] {
            rows.extend(imports(&peer, &origin, "video.mp4", n).await);
        }
    }
    Ok(rows)
}

/// Streams `url` into a file in `dir`, as a download-to-disk with nothing else would.
async fn plain_copy(client: &reqwest::Client, url: &str, dir: &Path) -> Result<Duration, String> {
    let start = Instant::now();
    let resp = client.get(url).send().await.map_err(|e| e.to_string())?;
    let file = tempfile::NamedTempFile::new_in(dir).map_err(|e| e.to_string())?;
    let mut out = tokio::fs::File::from_std(file.reopen().map_err(|e| e.to_string())?);
    let mut body = resp.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| e.to_string())?;
        out.write_all(&chunk).await.map_err(|e| e.to_string())?;
    }
    out.flush().await.map_err(|e| e.to_string())?;
    Ok(start.elapsed())
}

/// Plain copies, `n` at once.
pub async fn copies(
    client: &reqwest::Client,
    origin: &Origin,
    file: &str,
    n: usize,
    dir: &Path,
) -> Row {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let client = client.clone();
            let url = next_url(origin, file);
            let dir = dir.to_path_buf();
            tokio::spawn(async move { plain_copy(&client, &url, &dir).await })
        })
        .collect();
    let mut samples = Samples::default();
    for task in tasks {
        match task.await {
            Ok(Ok(took)) => samples.ok(took),
            Ok(Err(e)) => samples.error(e),
            Err(e) => samples.error(e.to_string()),
        }
    }
    Row::new(
        &format!("ingest {n}× plain copy"),
        "curl-like",
        &samples,
        None,
    )
}

/// Waits for imports running at once: the times they were answered, and how much later each
/// was usable (errors counted with the answers).
async fn settle(
    tasks: Vec<tokio::task::JoinHandle<Result<crate::importer::Imported, String>>>,
) -> (Samples, Samples) {
    let mut answered = Samples::default();
    let mut after = Samples::default();
    for task in tasks {
        match task.await {
            Ok(Ok(t)) => {
                answered.ok(t.answered);
                after.ok(t.usable.saturating_sub(t.answered));
            }
            Ok(Err(e)) => answered.error(e),
            Err(e) => answered.error(e.to_string()),
        }
    }
    (answered, after)
}

/// Direct uploads of `bytes` (a video), `n` at once: "answered" and "Active after the answer".
async fn direct_uploads(imp: &Importer, bytes: &axum::body::Bytes, n: usize) -> Vec<Row> {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (imp, bytes) = (imp.clone(), bytes.clone());
            let name = format!("video-{}.mp4", NEXT.fetch_add(1, Ordering::Relaxed));
            tokio::spawn(async move { imp.put_file(bytes, &name, "video/mp4").await })
        })
        .collect();
    let (answered, after) = settle(tasks).await;
    vec![
        Row::new(
            &format!("ingest {n}× direct upload answered"),
            imp.name(),
            &answered,
            None,
        ),
        Row::new(
            &format!("ingest {n}× direct upload Active after answer"),
            imp.name(),
            &after,
            None,
        ),
    ]
}

/// Imports, `n` at once: rows for "answered" and, for assetlib, "Active after the answer".
pub async fn imports(imp: &Importer, origin: &Origin, file: &str, n: usize) -> Vec<Row> {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let imp = imp.clone();
            let url = next_url(origin, file);
            tokio::spawn(async move { imp.import(&url, "Video").await })
        })
        .collect();
    let (answered, after) = settle(tasks).await;
    let name = imp.name();
    let mut rows = vec![Row::new(
        &format!("ingest {n}× import answered"),
        name,
        &answered,
        None,
    )];
    if name == "assetlib" {
        rows.push(Row::new(
            &format!("ingest {n}× Active after answer"),
            name,
            &after,
            None,
        ));
    }
    rows
}
