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
#[path = "main/pipe.rs"]
#[macro_use]
mod pipe;
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
    /// Copy the embedded database and its blobs into a new directory, while the server runs.
    ///
    /// The copy is a data directory: `assetlib serve --data-dir DIR` serves it.
    Backup(BackupArgs),
    /// Move an embedded library (server stopped) to PostgreSQL and an S3-compatible bucket.
    ///
    /// Every row and blob is copied and verified; run it again after an interruption and it
    /// resumes. A target that holds anything else is refused.
    Migrate(MigrateArgs),
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

#[derive(Debug, clap::Args)]
struct BackupArgs {
    /// The new directory the copy is written to (missing or empty).
    #[arg(long)]
    to: std::path::PathBuf,
    #[command(flatten)]
    storage: StorageArgs,
}

#[derive(Debug, clap::Args)]
struct MigrateArgs {
    /// The PostgreSQL database to move to (postgres://…), empty or this migration's own.
    #[arg(long)]
    to_database: String,
    /// The blob store to move to (s3://BUCKET; endpoint and credentials from AWS_*).
    #[arg(long)]
    to_store: String,
    #[command(flatten)]
    storage: StorageArgs,
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Create a key; the secret is printed alone on stdout (what was made, on stderr).
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
    // A server whose stdout is gone (a closed pipe) keeps serving: these lines are for a
    // person, and a failed write of them is no reason to stop.
    let mut said = server.state().config.summary(server.addr(), admin_key);
    if let Some(key) = &server.bootstrap_key {
        said.push_str("Admin API key (tenant 'admin'; shown this once):\n");
        said.push_str(&format!("{}\n", key.secret));
    }
    if http {
        said.push_str(&format!("assetlib listening on http://{}\n", server.addr()));
    } else {
        said.push_str("assetlib worker running\n");
    }
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        if out
            .write_all(said.as_bytes())
            .and_then(|()| out.flush())
            .is_err()
        {
            tracing::warn!("standard output is closed; the start-up summary was not printed");
        }
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
            errln!(
                "Created access key pair for tenant '{}' with role {} (the secret is shown this once):",
                key.tenant,
                key.role
            );
            outln!("AccessKeyId: {}", key.id);
            outln!("SecretAccessKey: {}", key.secret);
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
            // The secret alone on stdout (`KEY=$(assetlib keys create …)`, `| head -1`); what
            // was made on stderr.
            errln!(
                "Created key {} for tenant '{}' with role {}:",
                key.id,
                key.tenant,
                key.role
            );
            outln!("{}", key.secret);
        }
        KeysCommand::List { storage } => {
            let keys = key_service(&storage).await?.list().await?;
            outln!(
                "{:<18} {:<24} {:<9} {:<20} REVOKED",
                "ID",
                "TENANT",
                "ROLE",
                "CREATED"
            );
            for k in keys {
                let revoked = k
                    .revoked_at
                    .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                    .unwrap_or_else(|| "-".into());
                outln!(
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
                outln!("Revoked key {id}");
            } else {
                anyhow::bail!("no active key with id {id}");
            }
        }
    }
    Ok(())
}

async fn backup(args: BackupArgs) -> anyhow::Result<()> {
    let source = assetlib::service::backup::BackupSource {
        data_dir: args.storage.data_dir.clone(),
        database_url: args.storage.database_url(),
        blob_url: args.storage.blob_url(),
    };
    let progress = |done: u64, total: u64| {
        if done.is_multiple_of(100) || done == total {
            eprintln!("backup: {done}/{total} blobs copied");
        }
    };
    let report = assetlib::service::backup::backup(&source, &args.to, &progress)
        .await
        .context("backup failed")?;
    println!(
        "backed up {} assets: {} blobs ({} bytes, each checked against its sha256), {} previews, \
         {} parts of unfinished uploads into {}",
        report.assets,
        report.blobs,
        report.bytes,
        report.previews,
        report.upload_parts,
        args.to.display()
    );
    Ok(())
}

async fn migrate(args: MigrateArgs) -> anyhow::Result<()> {
    use assetlib::service::migrate::{self, MigrateSource, MigrateTarget, Progress};
    let source = MigrateSource {
        data_dir: args.storage.data_dir.clone(),
        database_url: args.storage.database_url(),
        blob_url: args.storage.blob_url(),
    };
    let target = MigrateTarget {
        database_url: args.to_database,
        blob_url: args.to_store,
    };
    let progress = |step: Progress| match step {
        Progress::Resuming => eprintln!("migrate: resuming the migration of this library"),
        Progress::Blobs {
            done,
            total,
            skipped,
        } if done.is_multiple_of((total / 20).max(1)) || done == total => {
            eprintln!("migrate: blobs {done}/{total} ({skipped} already there)")
        }
        Progress::Rows { table, done, total } if done % 10_000 < 250 || done == total => {
            eprintln!("migrate: {table} {done}/{total} rows")
        }
        Progress::Verified { table, rows } => {
            eprintln!("migrate: {table} verified ({rows} rows)")
        }
        _ => {}
    };
    let report = migrate::migrate(&source, &target, &progress)
        .await
        .context("migration stopped (run the same command again to resume)")?;
    println!(
        "migrated {} rows of {} tables and {} blobs ({} copied, {} bytes, each checked against \
         its sha256; {} already there), {} previews, {} parts of unfinished uploads to {} and {}",
        report.rows,
        report.tables,
        report.blobs_copied + report.blobs_present,
        report.blobs_copied,
        report.bytes,
        report.blobs_present,
        report.previews,
        report.upload_parts,
        assetlib::config::redact_url(&target.database_url),
        target.blob_url
    );
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
        outln!("{}", serde_json::to_string_pretty(&report)?);
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
    outln!(
        "checked {} assets and {} blobs",
        report.assets_checked,
        report.blobs_checked
    );
    for orphan in &report.orphan_blobs {
        outln!(
            "orphan blob {} ({} bytes, stored {}): no asset references it",
            orphan.sha256,
            orphan.bytes,
            orphan.last_modified.format("%Y-%m-%d %H:%M:%S UTC")
        );
    }
    for missing in &report.missing_blobs {
        outln!(
            "missing blob {} of asset {} ({})",
            missing.sha256,
            missing.asset_id,
            missing.status
        );
    }
    for stuck in &report.stuck_processing {
        outln!("asset {} is Processing with no job", stuck.asset_id);
    }
    if report.recent_unreferenced_blobs > 0 {
        outln!(
            "{} unreferenced blobs are younger than the grace period; left alone",
            report.recent_unreferenced_blobs
        );
    }
    if repair {
        let r = &report.repaired;
        outln!(
            "repaired: {} orphan blobs removed, {} assets marked Failed ({}), {} jobs queued",
            r.orphan_blobs_removed,
            r.assets_marked_failed,
            assetlib::domain::codes::CONTENT_MISSING,
            r.jobs_queued
        );
    }
    if report.is_clean() {
        outln!("fsck: clean");
    } else if repair {
        outln!("fsck: {} problems found", report.problems());
    } else {
        outln!(
            "fsck: {} problems found; run with --repair to fix them",
            report.problems()
        );
    }
}

/// glibc's allocator settings for this server, each `(mallopt parameter, value)`, less what
/// the environment sets itself (`MALLOC_ARENA_MAX`, `MALLOC_MMAP_THRESHOLD_`,
/// `MALLOC_TRIM_THRESHOLD_`, or `glibc.malloc` tunables in `GLIBC_TUNABLES`), which then wins.
///
/// - Two arenas: glibc gives each thread that allocates under contention an arena of its own and
///   keeps freed memory there; with the blocking pool's many short-lived file threads, eight
///   concurrent 48 MB ingests left ~190 MiB resident instead of ~110 MiB (docs/PERFORMANCE.md).
///   Two are plenty for a server whose hot paths stream through small buffers.
/// - Blocks up to 8 MiB from the arenas, and up to 16 MiB of free memory kept at an arena's top:
///   each face check allocates and frees the same few megabytes (the nets' activations, 2–5 MB
///   each). glibc's defaults map such blocks afresh or hand the freed pages back to the kernel,
///   so every check faulted them in and the kernel zeroed them again — 6 % of the server's CPU
///   under eight importers (docs/PERFORMANCE.md, "The face check's memory kept").
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn malloc_settings(env: impl Fn(&str) -> Option<std::ffi::OsString>) -> Vec<(i32, i32)> {
    const MIB: i32 = 1024 * 1024;
    let tuned =
        |name: &str| env("GLIBC_TUNABLES").is_some_and(|t| t.to_string_lossy().contains(name));
    let mut settings = Vec::new();
    if env("MALLOC_ARENA_MAX").is_none() && !tuned("glibc.malloc.arena_max") {
        settings.push((libc::M_ARENA_MAX, 2));
    }
    // Setting either threshold turns glibc's own adjustment of both off: both are set, or none.
    let thresholds = ["MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"];
    if thresholds.iter().all(|v| env(v).is_none())
        && !tuned("glibc.malloc.mmap_threshold")
        && !tuned("glibc.malloc.trim_threshold")
    {
        settings.push((libc::M_MMAP_THRESHOLD, 8 * MIB));
        settings.push((libc::M_TRIM_THRESHOLD, 16 * MIB));
    }
    settings
}

/// Applies [`malloc_settings`].
fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    for (parameter, value) in malloc_settings(|name| std::env::var_os(name)) {
        // SAFETY: mallopt only changes allocator settings; it is called before any other
        // thread exists.
        unsafe {
            libc::mallopt(parameter, value);
        }
    }
}

fn main() -> ExitCode {
    tune_malloc();
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(run()),
        Err(e) => {
            errln!("assetlib: cannot start the async runtime: {e}");
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
        Command::Backup(args) => (backup(args).await, ExitCode::FAILURE),
        Command::Migrate(args) => (migrate(args).await, ExitCode::FAILURE),
        Command::Completions { shell } => {
            let mut command = Cli::command();
            // Generated whole first: the generator panics on a failed write.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command, "assetlib", &mut script);
            pipe::out(format_args!("{}", String::from_utf8_lossy(&script)));
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
            errln!("assetlib: {e:#}");
            failure
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Every flag of `backup` and `migrate` of their own (not the storage flags, in the serve
    /// table) has its row in docs/CONFIGURATION.md.
    #[test]
    fn configuration_lists_the_flags_of_backup_and_migrate() {
        let doc = include_str!("../docs/CONFIGURATION.md");
        let cli = super::Cli::command();
        let storage = ["data-dir", "database-url", "blob-url"];
        for name in ["backup", "migrate"] {
            let command = cli.find_subcommand(name).expect("the command");
            for arg in command.get_arguments() {
                let Some(long) = arg.get_long().filter(|l| !storage.contains(l)) else {
                    continue;
                };
                let row = format!("| `assetlib {name} --{long}");
                assert!(doc.contains(&row), "docs/CONFIGURATION.md has no {row}");
            }
        }
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn settings(env: &[(&str, &str)]) -> Vec<(i32, i32)> {
        super::malloc_settings(|name| {
            env.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| std::ffi::OsString::from(v))
        })
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn the_allocator_keeps_two_arenas_and_the_face_checks_blocks_unless_told_otherwise() {
        let mib = 1024 * 1024;
        let all = vec![
            (libc::M_ARENA_MAX, 2),
            (libc::M_MMAP_THRESHOLD, 8 * mib),
            (libc::M_TRIM_THRESHOLD, 16 * mib),
        ];
        assert_eq!(settings(&[]), all);
        assert_eq!(settings(&[("GLIBC_TUNABLES", "glibc.rtld.nns=2")]), all);
        // What the environment sets wins; the two thresholds go together.
        assert_eq!(settings(&[("MALLOC_ARENA_MAX", "4")]), all[1..]);
        assert_eq!(settings(&[("MALLOC_TRIM_THRESHOLD_", "0")]), all[..1]);
        assert_eq!(settings(&[("MALLOC_MMAP_THRESHOLD_", "65536")]), all[..1]);
        assert_eq!(
            settings(&[("GLIBC_TUNABLES", "glibc.malloc.mmap_threshold=65536")]),
            all[..1]
        );
        assert_eq!(
            settings(&[(
                "GLIBC_TUNABLES",
                "glibc.malloc.arena_max=1:glibc.malloc.trim_threshold=0"
            )]),
            Vec::new()
        );
    }
}
