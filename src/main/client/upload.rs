//! `assetlib upload`: files are sent as direct uploads (`PUT /v1/assets/{name}`, streamed, a
//! progress bar for the bytes), URLs as imports; several at once; then, with `--wait`, a
//! spinner until each settles.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use futures_util::StreamExt;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;

use super::api::{Api, encode};
use super::output;

/// Uploads sent at once.
const PARALLEL: usize = 4;

pub struct UploadArgs {
    pub sources: Vec<String>,
    pub asset_type: Option<String>,
    pub name: Option<String>,
    pub wait: bool,
    pub json: bool,
}

fn is_url(source: &str) -> bool {
    source.starts_with("http://") || source.starts_with("https://") || source.starts_with("data:")
}

/// The asset type of a URL by its path's extension, when it tells.
fn type_of_url(url: &str) -> Option<&'static str> {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let ext = path.rsplit('.').next()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "png" | "jpg" | "jpeg" | "webp" | "gif" | "bmp" | "heic" | "tif" | "tiff" => "Image",
        "mp4" | "mov" | "m4v" => "Video",
        "mp3" | "wav" => "Audio",
        "pdf" | "docx" | "xlsx" | "pptx" | "txt" | "json" | "md" => "Document",
        _ => return None,
    })
}

/// The asset type of a file, from its first bytes.
async fn type_of_file(path: &Path) -> anyhow::Result<&'static str> {
    let mut file = tokio::fs::File::open(path)
        .await
        .with_context(|| format!("opening {}", path.display()))?;
    let mut head = vec![0; 64 * 1024];
    let mut filled = 0;
    while filled < head.len() {
        let n = file.read(&mut head[filled..]).await?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    head.truncate(filled);
    let sniffed = assetlib::probe::sniff(&head);
    sniffed.family.map(|t| t.as_str()).ok_or_else(|| {
        anyhow!(
            "{} is {}, not an image, video, audio or document file this server takes; give --type to send it anyway",
            path.display(),
            sniffed.description
        )
    })
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix:<24!} [{bar:30}] {bytes}/{total_bytes} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix:<24!} {spinner} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

/// Sends one source; answers the created (or settled) asset.
async fn send(
    api: &Api,
    source: &str,
    args: &UploadArgs,
    single: bool,
    bar: &ProgressBar,
) -> anyhow::Result<Value> {
    let label = Path::new(source)
        .file_name()
        .map_or_else(|| source.to_owned(), |n| n.to_string_lossy().into_owned());
    bar.set_prefix(label.clone());
    let name = if single { args.name.clone() } else { None };
    let asset = if is_url(source) {
        let asset_type = match &args.asset_type {
            Some(t) => t.clone(),
            None => type_of_url(source)
                .ok_or_else(|| anyhow!("cannot tell the type of {source} from its name; give --type Image|Video|Audio|Document"))?
                .to_owned(),
        };
        bar.set_style(spinner_style());
        bar.enable_steady_tick(Duration::from_millis(120));
        bar.set_message("importing");
        let mut body = json!({"assetType": asset_type, "url": source});
        if let Some(name) = &name {
            body["name"] = json!(name);
        }
        api.post("/v1/assets", &body).await?
    } else {
        let path = Path::new(source);
        let asset_type = match &args.asset_type {
            Some(t) => t.clone(),
            None => type_of_file(path).await?.to_owned(),
        };
        let length = tokio::fs::metadata(path)
            .await
            .with_context(|| format!("reading {}", path.display()))?
            .len();
        bar.set_style(bar_style());
        bar.set_length(length);
        let file = tokio::fs::File::open(path).await?;
        let progress = bar.clone();
        let stream = futures_util::stream::unfold(file, |mut file| async move {
            let mut chunk = vec![0; 256 * 1024];
            match file.read(&mut chunk).await {
                Ok(0) => None,
                Ok(n) => {
                    chunk.truncate(n);
                    Some((Ok::<_, std::io::Error>(chunk), file))
                }
                Err(e) => Some((Err(e), file)),
            }
        })
        .inspect(move |chunk| {
            if let Ok(c) = chunk {
                progress.inc(c.len() as u64);
            }
        });
        let name = name.unwrap_or_else(|| label.clone());
        let request = api
            .request(
                reqwest::Method::PUT,
                &format!(
                    "/v1/assets/{}?assetType={}",
                    encode(&name),
                    encode(&asset_type)
                ),
            )
            .header("content-length", length)
            .body(reqwest::Body::wrap_stream(stream));
        api.send(request).await?
    };
    if !args.wait {
        return Ok(asset);
    }
    bar.set_style(spinner_style());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar.set_message("processing");
    let id = asset["assetId"].as_str().unwrap_or_default().to_owned();
    api.settled(&id).await
}

/// Uploads every source; `Ok(false)` when any failed (each failure said on its line).
pub async fn upload(api: &Api, args: UploadArgs) -> anyhow::Result<bool> {
    if args.sources.is_empty() {
        bail!("give at least one file or URL");
    }
    let bars = MultiProgress::new();
    if args.json || !console::Term::stderr().is_term() {
        bars.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let single = args.sources.len() == 1;
    let args = Arc::new(args);
    let results: Vec<(String, anyhow::Result<Value>)> =
        futures_util::stream::iter(args.sources.clone())
            .map(|source| {
                let bar = bars.add(ProgressBar::new(0));
                let (api, args) = (api.clone(), Arc::clone(&args));
                async move {
                    let result = send(&api, &source, &args, single, &bar).await;
                    bar.finish_and_clear();
                    (source, result)
                }
            })
            .buffered(PARALLEL)
            .collect()
            .await;
    let mut ok = true;
    let mut answers = Vec::new();
    for (source, result) in results {
        match result {
            Ok(asset) => {
                let failed = asset["status"] == "Failed";
                ok &= !failed;
                if args.json {
                    answers.push(json!({"source": source, "asset": asset}));
                } else {
                    outln!("{}", output::outcome(&source, &asset));
                }
            }
            Err(e) => {
                ok = false;
                if args.json {
                    answers.push(json!({"source": source, "error": format!("{e:#}")}));
                } else {
                    errln!("{source}: {e:#}");
                }
            }
        }
    }
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&answers)?);
    }
    Ok(ok)
}
