//! Client commands: the same binary as a client of a server's v1 API, for people (tables,
//! progress bars, colour on terminals) and for scripts (`--json`; exit status 1 when anything
//! failed, with the server's sentence).

mod api;
mod list;
mod output;
mod session;
mod upload;

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Subcommand;
use serde_json::{Value, json};

use api::{Api, encode};
use assetlib::domain::codes;

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Save a server's URL and your API key for the client commands.
    Login {
        /// The server, e.g. http://127.0.0.1:8080.
        #[arg(long)]
        server: String,
    },
    /// Upload files or URLs (the type from the bytes unless --type).
    Upload {
        /// Files to send, or http(s) URLs for the server to import.
        #[arg(required = true)]
        sources: Vec<String>,
        /// Image, Video, Audio or Document.
        #[arg(long = "type")]
        asset_type: Option<String>,
        /// The asset's name (one source only; files default to their file name).
        #[arg(long)]
        name: Option<String>,
        /// Wait until each asset is Active, Failed or held.
        #[arg(long)]
        wait: bool,
        #[arg(long)]
        json: bool,
    },
    /// List your assets, newest first.
    Ls {
        #[arg(long = "type")]
        asset_type: Option<String>,
        #[arg(long)]
        status: Option<String>,
        /// A part of the name (case does not matter).
        #[arg(long)]
        name: Option<String>,
        /// How many (the server sends at most 100 a page; more are fetched page by page).
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Continue after an earlier listing (the cursor it printed on stderr).
        #[arg(long)]
        cursor: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Show one asset.
    Get {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Delete assets.
    Rm {
        #[arg(required = true)]
        ids: Vec<String>,
        /// Delete even when an unfinished generation task uses the asset.
        #[arg(long)]
        force: bool,
    },
    /// Wait until assets leave Processing.
    Wait {
        #[arg(required = true)]
        ids: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// Download an asset's content.
    Download {
        id: String,
        /// Where to write it (default: the asset's name, else its id).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Review held assets (reviewer or admin key).
    Review {
        #[command(subcommand)]
        command: ReviewCommand,
    },
    /// Resolve a generation task's asset:// references (prints the task, or every problem).
    Resolve { task: PathBuf },
}

#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// Assets waiting for review, oldest first.
    Ls {
        #[arg(long)]
        json: bool,
    },
    /// Approve a held asset.
    Approve { id: String },
    /// Reject a held asset.
    Reject {
        id: String,
        #[arg(long)]
        reason: String,
    },
}

/// The names `--help` lists under "Client commands".
pub const NAMES: &[&str] = &[
    "login",
    "upload",
    "ls",
    "get",
    "rm",
    "wait",
    "download",
    "review",
    "resolve",
    "completions",
];

fn print_json(value: &Value) -> anyhow::Result<()> {
    outln!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Runs a client command; `Ok(false)` when it ran but something failed.
pub async fn run(command: ClientCommand) -> anyhow::Result<bool> {
    if let ClientCommand::Login { server } = &command {
        return login(server).await.map(|()| true);
    }
    let api = Api::new(session::current()?)?;
    match command {
        ClientCommand::Login { .. } => Ok(true),
        ClientCommand::Upload {
            sources,
            asset_type,
            name,
            wait,
            json,
        } => {
            let args = upload::UploadArgs {
                sources,
                asset_type,
                name,
                wait,
                json,
            };
            upload::upload(&api, args).await
        }
        ClientCommand::Ls {
            asset_type,
            status,
            name,
            limit,
            cursor,
            json,
        } => {
            let filters = [
                ("assetType", asset_type),
                ("status", status),
                ("name", name),
            ];
            let listed = list::assets(&api, &filters, limit, cursor).await;
            if json {
                print_json(&Value::Array(listed.items.clone()))?;
            } else {
                let rows: Vec<Vec<String>> = listed.items.iter().map(output::asset_row).collect();
                output::table(&output::ASSET_HEADERS, &rows);
            }
            Ok(listed.report())
        }
        ClientCommand::Get { id, json } => {
            let asset = api.get(&format!("/v1/assets/{}", encode(&id))).await?;
            if json {
                print_json(&asset)?;
            } else {
                output::asset_detail(&asset);
            }
            Ok(true)
        }
        ClientCommand::Rm { ids, force } => {
            let mut ok = true;
            for id in ids {
                let path = format!(
                    "/v1/assets/{}{}",
                    encode(&id),
                    if force { "?force=true" } else { "" }
                );
                match api.send(api.request(reqwest::Method::DELETE, &path)).await {
                    Ok(_) => outln!("deleted {id}"),
                    Err(e) => {
                        ok = false;
                        errln!("{id}: {e:#}");
                    }
                }
            }
            Ok(ok)
        }
        ClientCommand::Wait { ids, json } => {
            let mut ok = true;
            let mut settled = Vec::new();
            for id in ids {
                match api.settled(&id).await {
                    Ok(asset) => {
                        ok &= asset["status"] != "Failed";
                        if !json {
                            outln!("{}", output::outcome(&id, &asset));
                        }
                        settled.push(asset);
                    }
                    Err(e) => {
                        ok = false;
                        errln!("{id}: {e:#}");
                    }
                }
            }
            if json {
                print_json(&Value::Array(settled))?;
            }
            Ok(ok)
        }
        ClientCommand::Download { id, output } => {
            let asset = api.get(&format!("/v1/assets/{}", encode(&id))).await?;
            // A name the server gives never overwrites a file, nor names a hidden one.
            let overwrite = output.is_some();
            let target = output.unwrap_or_else(|| {
                PathBuf::from(
                    asset["name"]
                        .as_str()
                        .filter(|n| !n.contains('/') && !n.starts_with('.') && !n.is_empty())
                        .unwrap_or(&id),
                )
            });
            let mut response = api
                .request(
                    reqwest::Method::GET,
                    &format!("/v1/assets/{}/content", encode(&id)),
                )
                .send()
                .await
                .map_err(api::network_error)?;
            if !response.status().is_success() {
                bail!(
                    "the server answered HTTP {} for the content",
                    response.status()
                );
            }
            let mut options = tokio::fs::OpenOptions::new();
            options.write(true);
            if overwrite {
                options.create(true).truncate(true);
            } else {
                options.create_new(true);
            }
            let mut file = options.open(&target).await.with_context(|| {
                format!(
                    "creating {} (give -o FILE to choose where)",
                    target.display()
                )
            })?;
            let mut written = 0u64;
            while let Some(chunk) = response.chunk().await.map_err(api::network_error)? {
                tokio::io::AsyncWriteExt::write_all(&mut file, &chunk).await?;
                written += chunk.len() as u64;
            }
            tokio::io::AsyncWriteExt::flush(&mut file).await?;
            outln!("{} ({})", target.display(), output::bytes(written));
            Ok(true)
        }
        ClientCommand::Review { command } => review(&api, command).await,
        ClientCommand::Resolve { task } => {
            let text = std::fs::read_to_string(&task)
                .with_context(|| format!("reading {}", task.display()))?;
            let body: Value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not JSON", task.display()))?;
            match api.post("/v1/resolve", &body).await {
                Ok(resolved) => {
                    print_json(&resolved)?;
                    Ok(true)
                }
                Err(e) => match e.downcast_ref::<api::Refused>() {
                    Some(refused) if refused.code == codes::INVALID_REFERENCES.name => {
                        for v in refused.body["error"]["violations"]
                            .as_array()
                            .into_iter()
                            .flatten()
                        {
                            errln!(
                                "{}: {} ({})",
                                v["field"].as_str().unwrap_or("?"),
                                v["message"].as_str().unwrap_or(""),
                                v["code"].as_str().unwrap_or("")
                            );
                        }
                        errln!("{}", refused.message);
                        Ok(false)
                    }
                    _ => Err(e),
                },
            }
        }
    }
}

async fn review(api: &Api, command: ReviewCommand) -> anyhow::Result<bool> {
    match command {
        ReviewCommand::Ls { json } => {
            let page = api.get("/v1/reviews?limit=100").await?;
            if json {
                print_json(&page["items"])?;
            } else {
                let rows: Vec<Vec<String>> = page["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|item| {
                        vec![
                            item["assetId"].as_str().unwrap_or("").to_owned(),
                            item["tenant"].as_str().unwrap_or("").to_owned(),
                            item["assetType"].as_str().unwrap_or("").to_owned(),
                            item["faces"].as_array().map_or(0, Vec::len).to_string(),
                            item["name"].as_str().unwrap_or("-").to_owned(),
                        ]
                    })
                    .collect();
                output::table(&["ID", "TENANT", "TYPE", "FACES", "NAME"], &rows);
            }
        }
        ReviewCommand::Approve { id } => {
            let asset = api
                .post(&format!("/v1/reviews/{}/approve", encode(&id)), &json!({}))
                .await?;
            outln!("{}", output::outcome(&id, &asset));
        }
        ReviewCommand::Reject { id, reason } => {
            let asset = api
                .post(
                    &format!("/v1/reviews/{}/reject", encode(&id)),
                    &json!({ "reason": reason }),
                )
                .await?;
            outln!("{}", output::outcome(&id, &asset));
        }
    }
    Ok(true)
}

/// Asks for the key (without echoing it on a terminal; from stdin otherwise), checks it against
/// the server, and saves both.
async fn login(server: &str) -> anyhow::Result<()> {
    let server = server.trim_end_matches('/').to_owned();
    let term = console::Term::stderr();
    let key = if term.is_term() {
        term.write_str("API key: ")?;
        term.read_secure_line()?
    } else {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        line
    };
    let key = key.trim().to_owned();
    if key.is_empty() {
        bail!("no key given");
    }
    let login = session::Login { server, key };
    let api = Api::new(login.clone())?;
    // Only a refusal of the key is one; a network failure says so (and names the URL).
    if let Err(e) = api.get("/v1/usage").await {
        match e.downcast_ref::<api::Refused>() {
            Some(refused) if refused.status == 401 || refused.status == 403 => {
                bail!("the server did not accept the key: {refused}")
            }
            _ => return Err(e),
        }
    }
    let file = session::save(&login)?;
    outln!("logged in to {}; saved to {}", login.server, file.display());
    Ok(())
}
