//! Where the client finds its server and key: `ASSETLIB_SERVER` / `ASSETLIB_KEY`, else what
//! `assetlib login` saved in the user's config directory (`$XDG_CONFIG_HOME/assetlib/client.json`
//! or `~/.config/assetlib/client.json`, mode 0600).

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Login {
    pub server: String,
    pub key: String,
}

fn config_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir).join("assetlib"));
    }
    let home = std::env::var_os("HOME").context("neither XDG_CONFIG_HOME nor HOME is set")?;
    Ok(PathBuf::from(home).join(".config").join("assetlib"))
}

pub fn login_file() -> anyhow::Result<PathBuf> {
    Ok(config_dir()?.join("client.json"))
}

/// Saves the server and key, readable by the user alone.
pub fn save(login: &Login) -> anyhow::Result<PathBuf> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let file = login_file()?;
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(&file)
        .with_context(|| format!("writing {}", file.display()))?;
    // An older file keeps its mode on open: make sure.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))?;
    out.write_all(serde_json::to_string_pretty(login)?.as_bytes())?;
    Ok(file)
}

/// The server and key to use: the environment's, over the saved ones.
pub fn current() -> anyhow::Result<Login> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let saved: Option<Login> = login_file()
        .ok()
        .and_then(|f| std::fs::read_to_string(f).ok())
        .and_then(|text| serde_json::from_str(&text).ok());
    let server = env("ASSETLIB_SERVER").or_else(|| saved.as_ref().map(|l| l.server.clone()));
    let key = env("ASSETLIB_KEY").or_else(|| saved.as_ref().map(|l| l.key.clone()));
    match (server, key) {
        (Some(server), Some(key)) => Ok(Login {
            server: server.trim_end_matches('/').to_owned(),
            key,
        }),
        _ => bail!(
            "no server and key: run `assetlib login --server URL`, or set ASSETLIB_SERVER and ASSETLIB_KEY"
        ),
    }
}
