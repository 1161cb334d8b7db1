use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use assetlib::blob;
use assetlib::config::{AdminKeyState, Config, JobConfig, ServeArgs, StorageArgs, defaults};
use assetlib::domain::Role;
use assetlib::repo;
use assetlib::server::Server;
use assetlib::service::{Fsck, FsckOptions, FsckReport, KeyService};

// The binary's own modules live in src/main/ (src/ holds the library's).
#[path = "main/client/mod.rs"]
mod client;
#[path = "main/help.rs"]
mod help;

/// Self-hostable asset library server for AI video generation.
#[derive(Debug, Parser)]
#[command(name = "assetlib", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (embedded default: SQLite + local blobs under ./data).
    Serve(ServeArgs),
    /// Run processing workers only (no HTTP), on a database shared with API nodes.
    Worker(ServeArgs),
    /// Check metadata against blobs; with --repair, fix what is safe to fix.
    ///
    /// Exit status: 0 clean, 1 problems found and repaired, 4 problems left (run with
    /// --repair), 8 the check itself failed.
    Fsck(FsckArgs),
    /// Manage API keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    #[command(flatten)]
    Client(client::ClientCommand),
    /// Print shell completions (bash, zsh, fish…).
    Completions { shell: clap_complete::Shell },
}

#[derive(Debug, clap::Args)]
struct FsckArgs {
    /// Remove orphan blobs, queue stuck assets again, mark assets whose content is gone Failed.
    #[arg(long)]
    repair: bool,
    /// Unreferenced blobs younger than this many seconds are left alone (uploads in progress).
    #[arg(long, env = "ASSETLIB_ORPHAN_GRACE", default_value_t = defaults::ORPHAN_GRACE_SECS)]
    grace_secs: u64,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    storage: StorageArgs,
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Create a key; the secret is printed alone on the last line.
    Create {
        /// Tenant the key's assets belong to.
        #[arg(long)]
        tenant: String,
        #[arg(long, default_value = "tenant", value_parser = ["tenant", "reviewer", "admin"])]
        role: String,
        /// An access key pair for the Volcengine-style face (AccessKeyId, SecretAccessKey)
        /// instead of a bearer key.
        #[arg(long)]
        volc: bool,
        /// Who the key belongs to (shown in the review history), e.g. a reviewer's name.
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// List keys (never their secrets).
    List {
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// Revoke a key by id.
    Revoke {
        id: String,
        #[command(flatten)]
        storage: StorageArgs,
    },
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ASSETLIB_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    // ASSETLIB_LOG_FORMAT=json: one JSON object per line, with the spans' fields (the
    // request id of a request, and of the job an upload queued).
    let json = std::env::var("ASSETLIB_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder
            .json()
            .with_current_span(false)
            .with_span_list(true)
            .flatten_event(true)
            .init();
    } else {
        builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init();
    }
}

async fn serve(args: ServeArgs, http: bool) -> anyhow::Result<()> {
    let mut config = Config::from_serve_args(&args)?;
    config.serve_http = http;
    tracing::debug!(?config, "configuration");
    let server = Server::start(config).await?;
    let admin_key = match server.bootstrap_key {
        Some(_) => AdminKeyState::Created,
        None => AdminKeyState::Existing,
    };
    print!(
        "{}",
        server.state().config.summary(server.addr(), admin_key)
    );
    if let Some(key) = &server.bootstrap_key {
        println!("Admin API key (tenant 'admin'; shown this once):");
        println!("{}", key.secret);
    }
    if http {
        println!("assetlib listening on http://{}", server.addr());
    } else {
        println!("assetlib worker running");
    }
    shutdown_signal().await;
    tracing::info!("shutting down");
    server.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

async fn key_service(storage: &StorageArgs) -> anyhow::Result<KeyService> {
    let repo = repo::connect(&storage.database_url())
        .await
        .context("opening the metadata database")?;
    Ok(KeyService::new(repo))
}

async fn keys(command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::Create {
            tenant,
            role,
            volc: true,
            storage,
            ..
        } => {
            let role: Role = role.parse().map_err(anyhow::Error::msg)?;
            let key = key_service(&storage)
                .await?
                .create_access_key(&tenant, role)
                .await?;
            println!(
                "Created access key pair for tenant '{}' with role {} (the secret is shown this once):",
                key.tenant, key.role
            );
            println!("AccessKeyId: {}", key.id);
            println!("SecretAccessKey: {}", key.secret);
        }
        KeysCommand::Create {
            tenant,
            role,
            name,
            storage,
            ..
        } => {
            let role: Role = role.parse().map_err(anyhow::Error::msg)?;
            let key = key_service(&storage)
                .await?
                .create_named(&tenant, role, name.as_deref())
                .await?;
            println!(
                "Created key {} for tenant '{}' with role {}:",
                key.id, key.tenant, key.role
            );
            println!("{}", key.secret);
        }
        KeysCommand::List { storage } => {
            let keys = key_service(&storage).await?.list().await?;
            println!(
                "{:<18} {:<24} {:<9} {:<20} REVOKED",
                "ID", "TENANT", "ROLE", "CREATED"
            );
            for k in keys {
                let revoked = k
                    .revoked_at
                    .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                    .unwrap_or_else(|| "-".into());
                println!(
                    "{:<18} {:<24} {:<9} {:<20} {revoked}",
                    k.id,
                    k.tenant,
                    k.role,
                    k.created_at.format("%Y-%m-%d %H:%M:%S")
                );
            }
        }
        KeysCommand::Revoke { id, storage } => {
            if key_service(&storage).await?.revoke(&id).await? {
                println!("Revoked key {id}");
            } else {
                anyhow::bail!("no active key with id {id}");
            }
        }
    }
    Ok(())
}

/// fsck's exit statuses (as fsck(8)).
const FSCK_REPAIRED: u8 = 1;
const FSCK_PROBLEMS_LEFT: u8 = 4;
const FSCK_FAILED: u8 = 8;

async fn fsck(args: FsckArgs) -> anyhow::Result<ExitCode> {
    let repo = repo::connect(&args.storage.database_url())
        .await
        .context("opening the metadata database")?;
    let blobs = blob::open(&args.storage.blob_url()).context("opening the blob store")?;
    let options = FsckOptions {
        grace: Duration::from_secs(args.grace_secs),
        repair: args.repair,
        max_attempts: JobConfig::default().max_attempts,
    };
    let report = Fsck::new(repo, blobs).run(&options).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_fsck(&report, args.repair);
    }
    Ok(if report.is_clean() {
        ExitCode::SUCCESS
    } else if args.repair && report.repairs() as usize >= report.problems() {
        ExitCode::from(FSCK_REPAIRED)
    } else {
        ExitCode::from(FSCK_PROBLEMS_LEFT)
    })
}

fn print_fsck(report: &FsckReport, repair: bool) {
    println!(
        "checked {} assets and {} blobs",
        report.assets_checked, report.blobs_checked
    );
    for orphan in &report.orphan_blobs {
        println!(
            "orphan blob {} ({} bytes, stored {}): no asset references it",
            orphan.sha256,
            orphan.bytes,
            orphan.last_modified.format("%Y-%m-%d %H:%M:%S UTC")
        );
    }
    for missing in &report.missing_blobs {
        println!(
            "missing blob {} of asset {} ({})",
            missing.sha256, missing.asset_id, missing.status
        );
    }
    for stuck in &report.stuck_processing {
        println!("asset {} is Processing with no job", stuck.asset_id);
    }
    if report.recent_unreferenced_blobs > 0 {
        println!(
            "{} unreferenced blobs are younger than the grace period; left alone",
            report.recent_unreferenced_blobs
        );
    }
    if repair {
        let r = &report.repaired;
        println!(
            "repaired: {} orphan blobs removed, {} assets marked Failed ({}), {} jobs queued",
            r.orphan_blobs_removed,
            r.assets_marked_failed,
            assetlib::domain::codes::CONTENT_MISSING,
            r.jobs_queued
        );
    }
    if report.is_clean() {
        println!("fsck: clean");
    } else if repair {
        println!("fsck: {} problems found", report.problems());
    } else {
        println!(
            "fsck: {} problems found; run with --repair to fix them",
            report.problems()
        );
    }
}

/// glibc gives each thread that allocates under contention an arena of its own and keeps freed
/// memory there; with the blocking pool's many short-lived file threads, eight concurrent 48 MB
/// ingests left ~190 MiB resident instead of ~110 MiB (docs/PERFORMANCE.md). Two arenas are
/// plenty for a server whose hot paths stream through small buffers.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator settings; it is called before any other thread
    // exists. An explicit MALLOC_ARENA_MAX in the environment still wins.
    unsafe {
        if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

fn main() -> ExitCode {
    limit_malloc_arenas();
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(run()),
        Err(e) => {
            eprintln!("assetlib: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> ExitCode {
    init_tracing();
    let matches = help::grouped(Cli::command()).get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let (result, failure) = match cli.command {
        Command::Serve(args) => (serve(args, true).await, ExitCode::FAILURE),
        Command::Worker(args) => (serve(args, false).await, ExitCode::FAILURE),
        Command::Keys { command } => (keys(command).await, ExitCode::FAILURE),
        Command::Completions { shell } => {
            let mut command = Cli::command();
            clap_complete::generate(shell, &mut command, "assetlib", &mut std::io::stdout());
            return ExitCode::SUCCESS;
        }
        Command::Client(command) => match client::run(command).await {
            Ok(true) => return ExitCode::SUCCESS,
            Ok(false) => return ExitCode::FAILURE,
            Err(e) => (Err(e), ExitCode::FAILURE),
        },
        Command::Fsck(args) => match fsck(args).await {
            Ok(code) => return code,
            Err(e) => (Err(e), ExitCode::from(FSCK_FAILED)),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("assetlib: {e:#}");
            failure
        }
    }
}
