use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use assetlib::app::Server;
use assetlib::config::{Config, ServeArgs, StorageArgs};
use assetlib::domain::Role;
use assetlib::repo;
use assetlib::service::KeyService;

/// Self-hostable asset library server for AI video generation.
#[derive(Debug, Parser)]
#[command(name = "assetlib", version, about)]
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
    /// Manage API keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
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
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

async fn serve(args: ServeArgs, http: bool) -> anyhow::Result<()> {
    let mut config = Config::from_serve_args(&args)?;
    config.serve_http = http;
    tracing::info!(?config, "starting");
    let server = Server::start(config).await?;
    if let Some(key) = &server.bootstrap_key {
        println!(
            "Created an admin API key (tenant 'admin'); it is shown once and saved to {}:",
            server.state().config.admin_key_path().display()
        );
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
            storage,
        } => {
            let role: Role = role.parse().map_err(anyhow::Error::msg)?;
            let key = key_service(&storage).await?.create(&tenant, role).await?;
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

#[tokio::main]
async fn main() -> ExitCode {
    init_tracing();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(args, true).await,
        Command::Worker(args) => serve(args, false).await,
        Command::Keys { command } => keys(command).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("assetlib: {e:#}");
            ExitCode::FAILURE
        }
    }
}
