//! Reading the server's log lines.

use std::collections::HashMap;

/// Occurrences of `message` per value of `field` across log lines (e.g. finished jobs per
/// asset): `field=value` as the log formatter writes it.
pub fn count_by_field(lines: &[String], message: &str, field: &str) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    let prefix = format!("{field}=");
    for line in lines.iter().filter(|l| l.contains(message)) {
        if let Some(value) = line
            .split_whitespace()
            .find_map(|word| word.strip_prefix(&prefix))
        {
            *counts.entry(value.to_owned()).or_insert(0) += 1;
        }
    }
    counts
}
