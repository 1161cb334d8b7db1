//! The id of the request being served (`x-request-id`, accepted or generated), reachable by the
//! code it runs without being passed along: a task-local the HTTP layer sets around each request.
//! Uploads store it with their job, so the job's log lines carry it too. Beside it, the notes of
//! the request's access-log line (route template, tenant, refusal code), written by the layers
//! that learn them.

use std::future::Future;
use std::sync::Mutex;

tokio::task_local! {
    static REQUEST_ID: String;
    static NOTES: Mutex<Notes>;
}

/// What the layers of a request learn about it as it is served, for its access-log line: the
/// route template that matched, the tenant of the caller, the stable code of a refusal.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Notes {
    pub route: Option<String>,
    pub tenant: Option<String>,
    pub code: Option<&'static str>,
}

fn note(write: impl FnOnce(&mut Notes)) {
    let _ = NOTES.try_with(|notes| {
        if let Ok(mut notes) = notes.lock() {
            write(&mut notes);
        }
    });
}

/// The route template that matched (never the path with its ids).
pub fn note_route(route: &str) {
    note(|n| n.route = Some(route.to_owned()));
}

/// The tenant of the authenticated caller.
pub fn note_tenant(tenant: &str) {
    note(|n| n.tenant = Some(tenant.to_owned()));
}

/// The stable code of the refusal answered.
pub fn note_code(code: &'static str) {
    note(|n| n.code = Some(code));
}

/// Runs `work` with a fresh set of notes; answers its output and what was noted.
pub async fn with_notes<F: Future>(work: F) -> (F::Output, Notes) {
    NOTES
        .scope(Mutex::new(Notes::default()), async {
            let output = work.await;
            let notes = NOTES
                .try_with(|n| n.lock().map(|n| n.clone()).unwrap_or_default())
                .unwrap_or_default();
            (output, notes)
        })
        .await
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
    async fn notes_are_kept_per_request() {
        note_tenant("outside");
        let ((), notes) = with_notes(async {
            note_route("/v1/assets/{asset_id}");
            note_tenant("studio");
            note_code("not-found");
        })
        .await;
        assert_eq!(notes.route.as_deref(), Some("/v1/assets/{asset_id}"));
        assert_eq!(notes.tenant.as_deref(), Some("studio"));
        assert_eq!(notes.code, Some("not-found"));
        let ((), empty) = with_notes(async {}).await;
        assert_eq!(empty, Notes::default());
    }

    #[tokio::test]
    async fn the_id_is_seen_inside_its_scope_only() {
        assert_eq!(current(), None);
        let inside = scope("r1".to_owned(), async { current() }).await;
        assert_eq!(inside.as_deref(), Some("r1"));
    }
}
