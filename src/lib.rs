//! assetlib: a self-hostable asset library server for AI video generation.
//!
//! The crate is laid out as `http → service → ports ← adapters`; see `docs/ARCHITECTURE.md`.

pub mod blob;
pub mod config;
pub mod domain;
pub mod fetch;
pub mod http;
pub mod jobs;
pub(crate) mod metrics;
pub mod moderation;
pub mod probe;
pub mod repo;
pub(crate) mod request_id;
pub mod server;
pub mod service;
pub(crate) mod state;
pub mod upstream;

/// The layers, lowest first: a module may import its own layer and those below, never above.
#[cfg(test)]
mod layering {
    const LAYERS: &[&[&str]] = &[
        &["domain", "metrics", "request_id"],
        &["config"],
        &[
            "probe",
            "moderation",
            "blob",
            "fetch",
            "repo",
            "upstream",
            "jobs",
        ],
        &["service"],
        &["state"],
        &["http"],
        &["server"],
    ];

    fn layer(module: &str) -> Option<usize> {
        LAYERS.iter().position(|l| l.contains(&module))
    }

    /// Every `crate::x` a source file names (comments included: a doc link upward is as
    /// misleading as an import).
    fn imports(text: &str) -> Vec<String> {
        text.match_indices("crate::")
            .map(|(at, _)| {
                text[at + "crate::".len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect()
            })
            .collect()
    }

    fn sources(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("src is readable").flatten() {
            let path = entry.path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    #[test]
    fn no_module_imports_upward() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&src, &mut files);
        let mut upward = Vec::new();
        for file in files {
            let rel = file.strip_prefix(&src).expect("under src");
            let top = rel
                .iter()
                .next()
                .and_then(|c| c.to_str())
                .unwrap_or_default()
                .trim_end_matches(".rs")
                .to_owned();
            if matches!(top.as_str(), "lib" | "main") {
                continue;
            }
            let own = layer(&top).unwrap_or_else(|| panic!("module {top} has no layer"));
            let text = std::fs::read_to_string(&file).expect("readable");
            for target in imports(&text) {
                if let Some(theirs) = layer(&target)
                    && theirs > own
                {
                    upward.push(format!("{} → crate::{target}", rel.display()));
                }
            }
        }
        assert!(upward.is_empty(), "imports upward: {upward:#?}");
    }
}
