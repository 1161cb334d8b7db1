//! The id of the request being served (`x-request-id`, accepted or generated), reachable by the
//! code it runs without being passed along: a task-local the HTTP layer sets around each request.
//! Uploads store it with their job, so the job's log lines carry it too.

use std::future::Future;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The header that carries it, both ways.
pub const HEADER: &str = "x-request-id";

/// The id of the request this task serves, if any.
pub fn current() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// Runs `work` as part of request `id`.
pub async fn scope<F: Future>(id: String, work: F) -> F::Output {
    REQUEST_ID.scope(id, work).await
}

/// A client's id when it is usable (1–128 visible ASCII characters), else a fresh one.
pub fn accept_or_generate(sent: Option<&str>) -> String {
    match sent.map(str::trim) {
        Some(id)
            if !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            id.to_owned()
        }
        _ => format!("{:032x}", rand::random::<u128>()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_kept_when_sane_and_made_otherwise() {
        assert_eq!(accept_or_generate(Some(" abc-123 ")), "abc-123");
        for bad in [None, Some(""), Some("has space"), Some("é")] {
            let made = accept_or_generate(bad);
            assert_eq!(made.len(), 32, "{bad:?}");
        }
        assert_eq!(accept_or_generate(Some(&"x".repeat(129))).len(), 32);
    }

    #[tokio::test]
    async fn the_id_is_seen_inside_its_scope_only() {
        assert_eq!(current(), None);
        let inside = scope("r1".to_owned(), async { current() }).await;
        assert_eq!(inside.as_deref(), Some("r1"));
    }
}
