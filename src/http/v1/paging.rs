//! `limit` and `cursor` query parameters shared by the keyset-paged v1 lists.

use crate::service::ServiceError;

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 100;

/// A page request: how many items, and the opaque keyset cursor to continue from.
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    pub limit: u32,
    pub cursor: Option<i64>,
}

impl Default for Paging {
    fn default() -> Self {
        Self {
            limit: DEFAULT_LIMIT,
            cursor: None,
        }
    }
}

impl Paging {
    /// Takes `limit` or `cursor`; `Ok(false)` for any other parameter.
    pub fn accept(&mut self, key: &str, value: &str) -> Result<bool, ServiceError> {
        match key {
            "limit" => {
                self.limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| {
                        ServiceError::invalid(format!("limit must be 1–{MAX_LIMIT}, got '{value}'"))
                    })?;
            }
            "cursor" if !value.is_empty() => {
                let cursor = value
                    .parse::<i64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| {
                        ServiceError::invalid(format!(
                            "cursor '{value}' is not valid; pass nextCursor from a previous page"
                        ))
                    })?;
                self.cursor = Some(cursor);
            }
            "cursor" => {}
            _ => return Ok(false),
        }
        Ok(true)
    }
}
