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

/// The layers, lowest first: a module may import its own layer and those below, never above;
/// and the modules of a layer (and the parts of a module with a folder: `service::ingest`,
/// `http::kyy`) import each other without a cycle.
#[cfg(test)]
mod layering {
    use std::collections::{BTreeMap, BTreeSet};

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

    /// A source file's module path: `src/service/ingest/register.rs` is
    /// `service::ingest::register`, `src/service/ingest/mod.rs` is `service::ingest`.
    fn module_path(rel: &std::path::Path) -> Vec<String> {
        let mut parts: Vec<String> = rel
            .iter()
            .filter_map(|c| c.to_str())
            .map(|c| c.trim_end_matches(".rs").to_owned())
            .collect();
        if parts.last().is_some_and(|p| p == "mod") {
            parts.pop();
        }
        parts
    }

    /// The unit a cycle is looked for between: a module with a folder is split into its parts
    /// (`service::ingest`), any other module is one unit (`config`).
    fn unit(path: &[String], folders: &BTreeSet<String>) -> String {
        match path {
            [] => String::new(),
            [top] => top.clone(),
            [top, part, ..] if folders.contains(top) => format!("{top}::{part}"),
            [top, ..] => top.clone(),
        }
    }

    /// The names a module's `pub use x::…` lines take from its part `x`.
    fn reexports(text: &str) -> BTreeMap<String, String> {
        let mut names = BTreeMap::new();
        for statement in text.split(';') {
            let statement = statement.trim();
            let Some(rest) = statement.strip_prefix("pub use ") else {
                continue;
            };
            let Some((part, list)) = rest.split_once("::") else {
                continue;
            };
            for name in list.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
                if !name.is_empty() && name != "self" {
                    names.insert(name.to_owned(), part.to_owned());
                }
            }
        }
        names
    }

    /// The items a path names after its last module: `a::{B, c::D}` gives `B` and `c`.
    fn heads(rest: &str) -> Vec<String> {
        let ident = |s: &str| -> String {
            s.trim_start()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect()
        };
        match rest.strip_prefix('{') {
            Some(group) => {
                let mut depth = 0;
                let mut items = vec![String::new()];
                for c in group.chars() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => items.push(String::new()),
                        _ => {}
                    }
                    if let Some(item) = items.last_mut()
                        && !(c == ',' && depth == 0)
                    {
                        item.push(c);
                    }
                }
                items
                    .iter()
                    .map(|i| ident(i))
                    .filter(|i| !i.is_empty())
                    .collect()
            }
            None => vec![ident(rest)],
        }
    }

    /// The module paths a file refers to through `crate::` and `super::` (comments included).
    fn references(text: &str, own: &[String]) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        for (at, _) in text
            .match_indices("crate::")
            .chain(text.match_indices("super::"))
        {
            // `super::` inside `crate::…::super::` or a longer word is not a start.
            let before = text[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let mut base: Vec<String> = if text[at..].starts_with("crate::") {
                Vec::new()
            } else {
                // `super` of `a::b` is `a`, whether `b` is `b.rs` or `b/mod.rs`.
                let mut base = own.to_vec();
                base.pop();
                base
            };
            let mut rest = &text[at..];
            rest = rest
                .strip_prefix("crate::")
                .or_else(|| rest.strip_prefix("super::"))
                .unwrap_or(rest);
            while let Some(more) = rest.strip_prefix("super::") {
                base.pop();
                rest = more;
            }
            // Lowercase segments followed by `::` are modules.
            loop {
                let seg: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                if seg.is_empty() || !rest[seg.len()..].starts_with("::") {
                    break;
                }
                base.push(seg.clone());
                rest = &rest[seg.len() + 2..];
            }
            for head in heads(rest) {
                let mut path = base.clone();
                path.push(head);
                out.push(path);
            }
        }
        out
    }

    /// The first cycle of `edges`, if any, as the units around it.
    fn cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
        fn visit(
            node: &str,
            edges: &BTreeMap<String, BTreeSet<String>>,
            state: &mut BTreeMap<String, u8>,
            stack: &mut Vec<String>,
        ) -> Option<Vec<String>> {
            state.insert(node.to_owned(), 1);
            stack.push(node.to_owned());
            for next in edges.get(node).into_iter().flatten() {
                match state.get(next.as_str()) {
                    Some(1) => {
                        let from = stack.iter().position(|n| n == next).unwrap_or(0);
                        let mut found = stack[from..].to_vec();
                        found.push(next.clone());
                        return Some(found);
                    }
                    Some(_) => {}
                    None => {
                        if let Some(found) = visit(next, edges, state, stack) {
                            return Some(found);
                        }
                    }
                }
            }
            stack.pop();
            state.insert(node.to_owned(), 2);
            None
        }
        let mut state = BTreeMap::new();
        for node in edges.keys() {
            if !state.contains_key(node)
                && let Some(found) = visit(node, edges, &mut state, &mut Vec::new())
            {
                return Some(found);
            }
        }
        None
    }

    #[test]
    fn no_import_cycle() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&src, &mut files);
        let mut texts = BTreeMap::new();
        for file in &files {
            let rel = file.strip_prefix(&src).expect("under src").to_path_buf();
            if rel
                .iter()
                .next()
                .is_some_and(|c| c == "lib.rs" || c == "main.rs" || c == "main")
            {
                continue;
            }
            let text = std::fs::read_to_string(file).expect("readable");
            texts.insert(rel, text);
        }
        // Modules with a folder, and what each one's own file re-exports from its parts.
        let mut folders = BTreeSet::new();
        let mut exported: BTreeMap<Vec<String>, BTreeMap<String, String>> = BTreeMap::new();
        for (rel, text) in &texts {
            let path = module_path(rel);
            if rel.iter().count() > 1 {
                folders.insert(path[0].clone());
            }
            exported.insert(path, reexports(text));
        }
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (rel, text) in &texts {
            let own = module_path(rel);
            let from = unit(&own, &folders);
            for mut path in references(text, &own) {
                // A name a module re-exports belongs to the part it comes from.
                if let Some(name) = path.pop() {
                    let part = exported
                        .get(&path)
                        .and_then(|names| names.get(&name))
                        .cloned();
                    path.push(part.unwrap_or(name));
                }
                let to = unit(&path, &folders);
                if !to.is_empty()
                    && to != from
                    && layer(to.split("::").next().unwrap_or("")).is_some()
                {
                    edges.entry(from.clone()).or_default().insert(to);
                }
            }
        }
        // A cycle through a folder's own file (its re-exports and assembly) is not one.
        edges.retain(|from, _| from.contains("::") || !folders.contains(from));
        assert_eq!(cycle(&edges), None, "an import cycle");
    }
}
