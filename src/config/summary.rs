//! The short summary a node prints when it starts: where it listens and keeps its data, its
//! backends (credentials redacted), workers, face policy and task gateway, and where the admin
//! key is. The whole configuration is logged at debug level (`ASSETLIB_LOG=debug`).

use std::net::SocketAddr;

use super::{Config, redact_url};
use crate::domain::FacePolicy;

/// The admin key as a start found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminKeyState {
    /// Created by this start (empty database) and saved to the data directory.
    Created,
    /// The database already had one.
    Existing,
}

fn policy(p: FacePolicy) -> &'static str {
    match p {
        FacePolicy::Hold => "hold",
        FacePolicy::Reject => "reject",
        FacePolicy::Allow => "allow",
    }
}

impl Config {
    /// Where a browser opens the web console: under the public URL when one is set, else on
    /// the bound address (`localhost` when bound to every interface).
    pub fn console_url(&self, bound: SocketAddr) -> String {
        if let Some(public) = &self.public_url {
            return format!("{}/console", public.trim_end_matches('/'));
        }
        if bound.ip().is_unspecified() {
            format!("http://localhost:{}/console", bound.port())
        } else {
            format!("http://{bound}/console")
        }
    }

    /// `label  value` lines, the values aligned, for a node bound to `bound`.
    pub fn summary(&self, bound: SocketAddr, admin_key: AdminKeyState) -> String {
        let mut rows: Vec<(&str, String)> = Vec::new();
        rows.push((
            "listen",
            if self.serve_http {
                format!("http://{bound}")
            } else {
                "no HTTP (worker node)".to_owned()
            },
        ));
        if self.serve_http {
            rows.push(("console", self.console_url(bound)));
        }
        rows.push(("data dir", self.data_dir.display().to_string()));
        rows.push(("database", redact_url(&self.database_url)));
        let mut blobs = redact_url(&self.blob_url);
        if self.blob_url.starts_with("file://") {
            if cfg!(target_os = "linux") {
                // The files themselves, from the page cache (`blob/mapped.rs`).
                blobs.push_str(" (content sent with sendfile)");
            } else if self.content_cache_bytes > 0 {
                let mib = self.content_cache_bytes / (1024 * 1024);
                blobs.push_str(&format!(" (up to {mib} MiB held in memory for content)"));
            }
        }
        rows.push(("blobs", blobs));
        rows.push((
            "workers",
            match self.jobs.workers {
                0 => "0 (this node only accepts uploads)".to_owned(),
                n => n.to_string(),
            },
        ));
        let m = &self.moderation;
        let mut faces = format!(
            "{} (media that cannot be scanned: {})",
            policy(m.faces),
            policy(m.unscannable)
        );
        if !m.tenants.is_empty() {
            faces.push_str(&format!(", {} tenant override(s)", m.tenants.len()));
        }
        rows.push(("faces", faces));
        rows.push((
            "upstream",
            match &self.upstream {
                Some(u) => format!("on, {}", redact_url(&u.url)),
                None => "off (--upstream-url turns the task gateway on)".to_owned(),
            },
        ));
        if self.bootstrap_admin_key {
            let path = self.admin_key_path();
            rows.push((
                "admin key",
                match admin_key {
                    AdminKeyState::Created => {
                        format!("new, saved to {} (shown once below)", path.display())
                    }
                    AdminKeyState::Existing if path.exists() => {
                        format!("{} (saved at first start)", path.display())
                    }
                    AdminKeyState::Existing => "in the database (created by another node)".into(),
                },
            ));
        }
        let width = rows.iter().map(|(label, _)| label.len()).max().unwrap_or(0);
        let mut out = format!("assetlib {}\n", env!("CARGO_PKG_VERSION"));
        for (label, value) in rows {
            out.push_str(&format!("  {label:<width$}  {value}\n"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::UpstreamConfig;

    #[test]
    fn a_short_aligned_summary_without_secrets() {
        let mut config = Config::for_data_dir("./data");
        config.database_url = "postgres://app:hunter2@db:5432/assets".into();
        config.blob_url = "s3://media".into();
        config.upstream = Some(UpstreamConfig {
            url: "https://gen.example/kyyReactApiServer".into(),
            key: "upstream-k3y".into(),
        });
        config.signing_secret = Some("s3cret-signing".into());
        let bound: SocketAddr = "127.0.0.1:8080".parse().expect("addr");
        let shown = config.summary(bound, AdminKeyState::Created);
        for secret in ["hunter2", "upstream-k3y", "s3cret-signing"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        let lines: Vec<&str> = shown.lines().collect();
        assert!(lines.len() <= 10, "{shown}");
        assert!(lines.iter().all(|l| l.len() <= 100), "{shown}");
        assert_eq!(lines[1], "  listen     http://127.0.0.1:8080");
        assert_eq!(lines[2], "  console    http://127.0.0.1:8080/console");
        for (label, value) in [
            ("data dir", "./data"),
            ("database", "postgres://***@db:5432/assets"),
            ("blobs", "s3://media"),
            ("workers", "4"),
            ("faces", "hold"),
            ("upstream", "on, https://gen.example/kyyReactApiServer"),
            ("admin key", "new, saved to ./data/admin.key"),
        ] {
            let line = lines
                .iter()
                .find(|l| l.trim_start().starts_with(label))
                .unwrap_or_else(|| panic!("no {label} in {shown}"));
            // Every value starts in the same column.
            assert_eq!(line.find(value), Some(13), "{line}");
        }
    }

    #[test]
    fn a_local_store_says_how_it_sends_content() {
        let mut config = Config::for_data_dir("./data");
        config.blob_url = "file://./data/blobs".into();
        let bound: SocketAddr = "127.0.0.1:8080".parse().expect("addr");
        let shown = config.summary(bound, AdminKeyState::Existing);
        if cfg!(target_os = "linux") {
            assert!(
                shown.contains("file://./data/blobs (content sent with sendfile)"),
                "{shown}"
            );
            return;
        }
        assert!(
            shown.contains("file://./data/blobs (up to 256 MiB held in memory for content)"),
            "{shown}"
        );
        config.content_cache_bytes = 0;
        let shown = config.summary(bound, AdminKeyState::Existing);
        assert!(shown.contains("file://./data/blobs\n"), "{shown}");
    }

    #[test]
    fn the_console_url_follows_the_public_url_or_the_bound_address() {
        let mut config = Config::for_data_dir("./data");
        let any: SocketAddr = "0.0.0.0:8080".parse().expect("addr");
        assert_eq!(config.console_url(any), "http://localhost:8080/console");
        config.public_url = Some("https://assets.example.com/".into());
        assert_eq!(
            config.console_url(any),
            "https://assets.example.com/console"
        );
    }

    #[test]
    fn a_worker_node_without_gateway_says_so() {
        let mut config = Config::for_data_dir("/nonexistent/data");
        config.serve_http = false;
        config.bootstrap_admin_key = true;
        let shown = config.summary("0.0.0.0:0".parse().expect("addr"), AdminKeyState::Existing);
        assert!(
            shown.contains("listen     no HTTP (worker node)"),
            "{shown}"
        );
        assert!(shown.contains("upstream   off"), "{shown}");
        assert!(!shown.contains("console"), "{shown}");
        assert!(shown.contains("admin key  in the database"), "{shown}");
        config.bootstrap_admin_key = false;
        let shown = config.summary("0.0.0.0:0".parse().expect("addr"), AdminKeyState::Existing);
        assert!(!shown.contains("admin key"), "{shown}");
    }
}
