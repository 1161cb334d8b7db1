//! The bare handler the reads scenario compares with: a JSON body of the same shape and size as
//! asset details, from memory, no storage. It runs as a separate process like the server
//! (`assetlib-bench bare`, a hidden command of this binary).

use std::process::Command;

use anyhow::Context;
use assetlib_test_support::{Proc, Stderr};
use axum::extract::Path as UrlPath;

/// What `assetlib-bench bare` prints once it accepts connections, before its address.
const LISTENING: &str = "bare handler listening on ";

/// The bare handler as a child process of this binary, killed when dropped.
pub struct Bare {
    proc: Proc,
}

impl Bare {
    pub fn start() -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("locating this executable")?;
        let mut command = Command::new(exe);
        command.arg("bare");
        let proc = Proc::start(command, LISTENING, Stderr::Inherit)
            .context("starting the bare handler")?;
        Ok(Self { proc })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> &str {
        &self.proc.base
    }
}

/// Serves the bare handler on a free loopback port until killed.
pub async fn serve() -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("{LISTENING}http://{}", listener.local_addr()?);
    let app = axum::Router::new().route(
        "/v1/assets/{id}",
        axum::routing::get(|UrlPath(id): UrlPath<String>| async move {
            axum::Json(serde_json::json!({
                "assetId": id, "name": "seeded photo 1", "assetType": "Image", "status": "Active",
                "url": "https://example.com/photos/1.jpg", "sha256": format!("{:064x}", 1),
                "bytes": 1_048_576, "format": "jpeg", "width": 1920, "height": 1080,
                "failure": null, "moderation": null, "createTime": "2026-01-01T00:00:00.000Z",
                "updateTime": "2026-01-01T00:00:00.000Z"
            }))
        }),
    );
    axum::serve(listener, app).await?;
    Ok(())
}
