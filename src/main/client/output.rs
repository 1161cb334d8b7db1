//! Output for people: tables that fit the terminal, statuses in colour when stdout is a
//! terminal and `NO_COLOR` is not set (`console` decides); `--json` output is printed as is.

use indicatif::HumanBytes;
use serde_json::Value;

/// Whether colour may be used on stdout: a terminal, and `NO_COLOR` not set.
pub fn colour() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && console::colors_enabled()
}

pub fn status(status: &str) -> String {
    if !colour() {
        return status.to_owned();
    }
    let styled = console::style(status);
    match status {
        "Active" => styled.green(),
        "Failed" => styled.red(),
        "PendingReview" => styled.magenta(),
        _ => styled.yellow(),
    }
    .to_string()
}

pub fn bytes(n: u64) -> String {
    HumanBytes(n).to_string()
}

/// Prints rows under headers, each column as wide as it needs; the last column is cut to fit
/// the terminal's width.
pub fn table(headers: &[&str], rows: &[Vec<String>]) {
    let width = console::Term::stdout()
        .size_checked()
        .map(|(_, cols)| usize::from(cols))
        .unwrap_or(usize::MAX);
    let columns = headers.len();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(columns) {
            widths[i] = widths[i].max(console::measure_text_width(cell));
        }
    }
    let line = |cells: Vec<String>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                let pad = widths[i].saturating_sub(console::measure_text_width(cell));
                out.push_str(cell);
                out.push_str(&" ".repeat(pad + 2));
            }
        }
        console::truncate_str(&out, width, "…").into_owned()
    };
    outln!(
        "{}",
        line(headers.iter().map(|h| (*h).to_owned()).collect())
    );
    for row in rows {
        outln!("{}", line(row.clone()));
    }
}

/// The rows of assets as `ls` shows them.
pub fn asset_row(asset: &Value) -> Vec<String> {
    let text = |v: &Value| v.as_str().unwrap_or("").to_owned();
    vec![
        text(&asset["assetId"]),
        text(&asset["assetType"]),
        status(asset["status"].as_str().unwrap_or("")),
        bytes(asset["bytes"].as_u64().unwrap_or(0)),
        text(&asset["createTime"]).chars().take(19).collect(),
        asset["name"].as_str().unwrap_or("-").to_owned(),
    ]
}

pub const ASSET_HEADERS: [&str; 6] = ["ID", "TYPE", "STATUS", "SIZE", "CREATED", "NAME"];

/// One asset in full, for `get`.
pub fn asset_detail(asset: &Value) {
    let mut rows: Vec<(String, String)> = Vec::new();
    if let Some(fields) = asset.as_object() {
        for (key, value) in fields {
            let shown = match value {
                Value::Null => continue,
                Value::String(s) if key == "status" => status(s),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            rows.push((key.clone(), shown));
        }
    }
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (key, value) in rows {
        outln!("{key:<width$}  {value}");
    }
}

/// The one-line outcome of an asset: its status and, when Failed, the failure sentence.
pub fn outcome(label: &str, asset: &Value) -> String {
    let id = asset["assetId"].as_str().unwrap_or("");
    let st = asset["status"].as_str().unwrap_or("");
    match asset["failure"]["message"].as_str() {
        Some(why) => format!("{label}  {id}  {}: {why}", status(st)),
        None => format!("{label}  {id}  {}", status(st)),
    }
}
