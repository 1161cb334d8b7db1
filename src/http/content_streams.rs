//! How many answers stream through one signed content URL at once. A signed URL needs no key,
//! so whoever holds one could otherwise open as many slow downloads as the node has connection
//! places (each holding an open blob); past the cap the URL answers `503 unavailable` with
//! `Retry-After`. A place is held by the answer's body and given back when hyper drops it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// The open streams per signed URL (`--max-streams-per-content-url`).
#[derive(Clone)]
pub struct ContentStreams {
    cap: usize,
    open: Arc<Mutex<HashMap<String, usize>>>,
}

/// One stream's place, given back when dropped.
pub struct StreamPlace {
    url: String,
    open: Arc<Mutex<HashMap<String, usize>>>,
}

impl ContentStreams {
    pub fn new(cap: usize) -> Self {
        Self {
            cap: cap.max(1),
            open: Arc::default(),
        }
    }

    pub fn cap(&self) -> usize {
        self.cap
    }

    /// A place for one more stream through `url` (its asset id, expiry and signature), if the
    /// URL has one left.
    pub fn claim(&self, url: String) -> Option<StreamPlace> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(url.clone()).or_insert(0);
        if *count >= self.cap {
            return None;
        }
        *count += 1;
        Some(StreamPlace {
            url,
            open: Arc::clone(&self.open),
        })
    }
}

impl Drop for StreamPlace {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.url) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.url);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_streams_to_its_cap_and_gets_places_back() {
        let streams = ContentStreams::new(2);
        let a = streams.claim("x".into()).expect("first");
        let _b = streams.claim("x".into()).expect("second");
        assert!(streams.claim("x".into()).is_none());
        let _y = streams.claim("y".into()).expect("another URL");
        drop(a);
        let _c = streams.claim("x".into()).expect("a freed place");
        drop(_c);
        drop(_b);
        assert!(!streams.open.lock().expect("lock").contains_key("x"));
    }
}
