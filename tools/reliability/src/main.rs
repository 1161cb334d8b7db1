//! `assetlib-reliability <run>`: the long reliability runs of docs/RELIABILITY.md against the
//! `assetlib` binary next to this one (or `--server-bin`), on a temp data dir and an in-memory
//! origin on loopback.
//!
//! - `crash-loop`: N rounds (default 100) of mixed uploads, each ended by a SIGKILL at a random
//!   moment, then a restart; every acknowledged asset must be there after each restart and reach
//!   its outcome at the end, and `assetlib fsck` must be clean.
//! - `soak`: a steady mixed load for a bounded time (default 30 min), the server's RSS and open
//!   descriptors sampled every 10 s; fails if either grows.
//! - `attacks`: the holes an adversarial run from outside found, each attacked again; one table,
//!   fails if any is open.

mod attacks;
mod mix;
mod sample;
mod soak;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use assetlib_test_support::crash_loop::{self, Options};
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "assetlib-reliability")]
struct Cli {
    /// The server binary (default: `assetlib` next to this executable).
    #[arg(long, global = true)]
    server_bin: Option<PathBuf>,
    /// Where data directories and media go (default: a fresh temp dir, removed at the end).
    #[arg(long, global = true)]
    work_dir: Option<PathBuf>,
    #[command(subcommand)]
    run: Run,
}

#[derive(Debug, Subcommand)]
enum Run {
    /// SIGKILL at random moments during mixed uploads, restart, and check every promise.
    CrashLoop {
        #[arg(long, default_value_t = 100)]
        rounds: u32,
        /// Uploads started in each round.
        #[arg(long, default_value_t = 12)]
        uploads: u32,
        /// Uploads start within this many ms of the round's start; the kill lands within 1.2×.
        #[arg(long, default_value_t = 1000)]
        window_ms: u64,
        #[arg(long, default_value_t = 2)]
        workers: u32,
        /// Seed of the random choices (default: from the clock; printed).
        #[arg(long)]
        seed: Option<u64>,
    },
    /// A steady mixed load; fails if the server's RSS or open descriptors grow.
    Soak(soak::SoakArgs),
    /// The holes found from outside, attacked again; fails if any is open.
    Attacks,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("assetlib-reliability: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("assetlib-reliability: FAILED (see above)");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("assetlib-reliability: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// `Ok(true)` when every promise held.
async fn run(cli: Cli) -> anyhow::Result<bool> {
    let bin = locate(cli.server_bin.as_deref())?;
    let temp;
    let work = match cli.work_dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            dir
        }
        None => {
            temp = tempfile::tempdir().context("creating a temp dir")?;
            temp.path().to_path_buf()
        }
    };
    eprintln!("server: {}\nwork dir: {}", bin.display(), work.display());
    match cli.run {
        Run::CrashLoop {
            rounds,
            uploads,
            window_ms,
            workers,
            seed,
        } => {
            let data = work.join(format!("crash-loop-{}", std::process::id()));
            let mut options = Options::new(&bin, &data, rounds);
            options.uploads_per_round = uploads;
            options.window = Duration::from_millis(window_ms);
            options.workers = workers;
            if let Some(seed) = seed {
                options.seed = seed;
            }
            eprintln!("seed: {}", options.seed);
            let media = mix::crash_loop_mix()?;
            let report = crash_loop::run_loop(&options, &media, &mix::client()?).await?;
            println!("{}", report.markdown());
            Ok(report.ok())
        }
        Run::Soak(args) => soak::run(&bin, &work, &args).await,
        Run::Attacks => attacks::run(&bin, &work).await,
    }
}

/// `explicit`, or the `assetlib` binary in this executable's directory (the same profile).
fn locate(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    let path = match explicit {
        Some(path) => path.to_path_buf(),
        None => {
            let exe = std::env::current_exe().context("locating this executable")?;
            exe.parent()
                .unwrap_or(Path::new("."))
                .join(format!("assetlib{}", std::env::consts::EXE_SUFFIX))
        }
    };
    if !path.is_file() {
        bail!(
            "no assetlib server binary at {}: build it first (`cargo build --release --bin \
             assetlib`) or name one with --server-bin PATH",
            path.display()
        );
    }
    Ok(path)
}
