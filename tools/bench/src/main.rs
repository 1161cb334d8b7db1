//! `assetlib-bench <scenario>`: starts the server under test (the `assetlib` binary next to this
//! one, or `--server-bin`) on a temp data dir and an in-memory origin, runs a scenario, prints a
//! markdown table and the same rows as JSON. With `--peer`, the same imports run against a peer
//! product already running on this machine, so every ratio comes from one run. See
//! docs/PERFORMANCE.md.

mod args;
mod bare;
mod content;
mod cpu;
mod face;
mod importer;
mod ingest;
mod media;
mod nginx;
mod reads;
mod seed;
mod server;
mod stats;
mod time_to_active;

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use args::{BenchArgs, Scenario};
use stats::markdown;

/// Measures assetlib: time-to-active, ingest bandwidth, reads, face check.
#[derive(Debug, Parser)]
#[command(
    name = "assetlib-bench",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    #[command(subcommand)]
    internal: Option<Internal>,
    #[command(flatten)]
    args: BenchArgs,
}

#[derive(Debug, Subcommand)]
enum Internal {
    /// The bare JSON handler the reads scenario compares with (started by the bench itself).
    #[command(hide = true)]
    Bare,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("assetlib-bench: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.internal {
        Some(Internal::Bare) => runtime.block_on(bare::serve()),
        None => runtime.block_on(run(cli.args)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("assetlib-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let server = server::Binary::locate(args.server_bin.as_deref())?;
    eprintln!("server under test: {server}");
    let work = args
        .work_dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("assetlib-bench"));
    std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    let mut rows = Vec::new();
    let mut summary = Vec::new();
    for scenario in args.scenarios() {
        eprintln!("== {}", scenario.name());
        let started = std::time::Instant::now();
        let mut got = match scenario {
            Scenario::TimeToActive => {
                time_to_active::scenario(&args, &server, &work, &mut summary).await?
            }
            Scenario::IngestBandwidth => {
                ingest::scenario(&args, &server, &work, &mut summary).await?
            }
            Scenario::Reads => reads::scenario(&args, &server, &mut summary).await?,
            Scenario::FaceCheck => {
                let photos = media::photo_set(&work, args.photos.as_deref())?;
                let videos = if args.smoke {
                    vec![(media::small_video_mp4(&work)?, "colour bars")]
                } else {
                    media::face_check_videos(&work)?
                };
                let one_core = assetlib::moderation::Mtcnn::embedded()?.on_one_thread();
                let lent = assetlib::moderation::Mtcnn::embedded()?;
                let runs = if args.smoke { 1 } else { 5 };
                face::run(&photos, &videos, &one_core, Some(&lent), runs)?
            }
            Scenario::Content => content::scenario(&args, &server, &work, &mut summary).await?,
        };
        summary.push(format!(
            "{}: finished in {:.0} s",
            scenario.name(),
            started.elapsed().as_secs_f64()
        ));
        eprint!("{}", markdown(&got));
        rows.append(&mut got);
    }
    println!("{}", markdown(&rows));
    for line in &summary {
        println!("- {line}");
    }
    let json = serde_json::json!({
        "machine": machine(),
        "smoke": args.smoke,
        "rows": rows,
        "summary": summary,
    });
    let text = serde_json::to_string_pretty(&json)?;
    println!("\n```json\n{text}\n```");
    if let Some(path) = &args.json {
        std::fs::write(path, &text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cores} cores, {cpu}")
}
