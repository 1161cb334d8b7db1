//! Every route the server answers, recorded as the routers are built, so a test can check that
//! the OpenAPI document describes each one (`http::openapi`).

use std::collections::BTreeSet;
use std::sync::{Mutex, PoisonError};

use axum::Router;
use axum::routing::MethodRouter;

static ROUTES: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// `Router::route`, recording the route's full path (`prefix` is where the router is nested).
pub trait At<S> {
    fn at(self, prefix: &str, path: &str, route: MethodRouter<S>) -> Self;
}

impl<S: Clone + Send + Sync + 'static> At<S> for Router<S> {
    fn at(self, prefix: &str, path: &str, route: MethodRouter<S>) -> Self {
        ROUTES
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(format!("{prefix}{path}"));
        self.route(path, route)
    }
}

/// The full paths of every route built so far in this process.
pub fn recorded() -> BTreeSet<String> {
    ROUTES
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}
