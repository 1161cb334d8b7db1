//! `ls --limit N`: the server sends at most 100 assets a page, so the listing follows
//! `nextCursor` page after page until it has N or the library ends; when a page fails it keeps
//! what it has and says on stderr where it stopped (the cursor to continue with `--cursor`).

use serde_json::Value;

use super::api::Api;

/// The most the server sends in one page.
pub const PAGE: u32 = 100;

/// What a listing gathered, and how it ended.
pub struct Listed {
    pub items: Vec<Value>,
    pub wanted: u32,
    /// The cursor after the last item, when the library has more.
    pub next: Option<String>,
    /// Why it stopped before `wanted`, when a page failed.
    pub failure: Option<anyhow::Error>,
}

impl Listed {
    /// Says on stderr where the listing stopped (a failed page, or more left than asked for);
    /// `false` when a page failed.
    pub fn report(&self) -> bool {
        let got = self.items.len();
        match (&self.failure, &self.next) {
            (Some(e), next) => {
                let resume = next
                    .as_deref()
                    .map_or_else(String::new, |c| format!("; continue with --cursor {c}"));
                errln!(
                    "ls: stopped after {got} of {} assets: {e:#}{resume}",
                    self.wanted
                );
                false
            }
            (None, Some(next)) => {
                errln!("ls: {got} assets shown; more with --cursor {next}");
                true
            }
            (None, None) => true,
        }
    }
}

/// Up to `wanted` assets matching `filters`, from `cursor` on, page by page.
pub async fn assets(
    api: &Api,
    filters: &[(&str, Option<String>)],
    wanted: u32,
    cursor: Option<String>,
) -> Listed {
    let wanted = wanted.max(1);
    let mut listed = Listed {
        items: Vec::new(),
        wanted,
        next: cursor,
        failure: None,
    };
    loop {
        let left = wanted.saturating_sub(u32::try_from(listed.items.len()).unwrap_or(u32::MAX));
        if left == 0 {
            break;
        }
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.append_pair("limit", &left.min(PAGE).to_string());
        for (key, value) in filters {
            if let Some(value) = value {
                query.append_pair(key, value);
            }
        }
        if let Some(cursor) = &listed.next {
            query.append_pair("cursor", cursor);
        }
        let page = match api.get(&format!("/v1/assets?{}", query.finish())).await {
            Ok(page) => page,
            Err(e) => {
                listed.failure = Some(e);
                break;
            }
        };
        listed
            .items
            .extend(page["items"].as_array().into_iter().flatten().cloned());
        listed.next = page["nextCursor"].as_str().map(str::to_owned);
        if listed.next.is_none() {
            break;
        }
    }
    listed
}
