//! The route table. Each route is declared once — method, path, handler, the layers it takes and
//! what the OpenAPI document says of it (summary, body, answers with their statuses, query
//! parameters) — in its face's `routes()`; `http::table` lists every face's, and both the router
//! (`routes::router`) and the document's paths (`http::openapi`) are folded from that list.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::Method;
use axum::middleware::from_fn_with_state;
use axum::routing::{MethodFilter, MethodRouter, on};
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::Value;

use super::error::Face;
use super::{idempotency, upload_body};
use crate::state::AppState;

/// A schema of the document: derived from a Rust type (`schemars`) or written out.
pub enum Schema {
    Of(fn(&mut SchemaGenerator) -> schemars::Schema),
    Literal(Value),
}

impl Schema {
    pub fn of<T: JsonSchema>() -> Self {
        Self::Of(|g| g.subschema_for::<T>())
    }

    /// Any JSON object (a body or answer passed through as it is).
    pub fn any_object() -> Self {
        Self::Literal(serde_json::json!({"type": "object"}))
    }
}

/// What a route reads.
pub enum Body {
    /// A JSON body (also `multipart/form-data` with these parts when any are named).
    Json {
        schema: Schema,
        multipart: &'static [&'static str],
    },
    /// Bytes of this content type.
    Raw {
        content_type: &'static str,
        note: &'static str,
    },
}

/// What an answer of one status carries.
pub enum Content {
    None,
    Json(Schema),
    /// Bytes (a file, a range of one).
    Bytes,
}

pub struct Answer {
    pub status: u16,
    pub description: &'static str,
    pub content: Content,
}

/// What the document says of a route.
pub struct Doc {
    /// `None`: the tag of the route's face.
    pub tag: Option<&'static str>,
    pub summary: String,
    pub body: Option<Body>,
    pub query: &'static [&'static str],
    /// The statuses it answers when it succeeds; every refusal is in its face's error envelope.
    pub answers: Vec<Answer>,
}

/// One method of one path.
pub struct Route {
    pub method: Method,
    /// Under the face's prefix.
    pub path: String,
    handler: MethodRouter<AppState>,
    /// Honours `Idempotency-Key` (`http::idempotency`).
    once: bool,
    /// Reads bodies up to the largest file (`upload_body::body_limit`), not the router's limit.
    file_body: bool,
    /// Reads bodies up to `service::MAX_TASK_BODY_BYTES` (a task for the gateway).
    task_body: bool,
    pub doc: Doc,
}

macro_rules! methods {
    ($($name:ident $method:ident),*) => {$(
        pub fn $name<H, T>(path: impl Into<String>, handler: H, summary: impl Into<String>) -> Self
        where
            H: Handler<T, AppState>,
            T: 'static,
        {
            Self::new(Method::$method, MethodFilter::$method, path, handler, summary)
        }
    )*};
}

impl Route {
    methods!(get GET, post POST, put PUT, patch PATCH, delete DELETE, head HEAD, options OPTIONS);

    fn new<H, T>(
        method: Method,
        filter: MethodFilter,
        path: impl Into<String>,
        handler: H,
        summary: impl Into<String>,
    ) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        Self {
            method,
            path: path.into(),
            handler: on(filter, handler),
            once: false,
            file_body: false,
            task_body: false,
            doc: Doc {
                tag: None,
                summary: summary.into(),
                body: None,
                query: &[],
                answers: Vec::new(),
            },
        }
    }

    /// The call creates: it honours `Idempotency-Key`.
    pub fn once(mut self) -> Self {
        self.once = true;
        self
    }

    /// The body may be a file, up to the largest one.
    pub fn file_body(mut self) -> Self {
        self.file_body = true;
        self
    }

    /// The body is a generation task, up to `service::MAX_TASK_BODY_BYTES`.
    pub fn task_body(mut self) -> Self {
        self.task_body = true;
        self
    }

    pub fn tag(mut self, tag: &'static str) -> Self {
        self.doc.tag = Some(tag);
        self
    }

    pub fn json_body<T: JsonSchema>(self) -> Self {
        self.body(Schema::of::<T>())
    }

    pub fn body(mut self, schema: Schema) -> Self {
        self.doc.body = Some(Body::Json {
            schema,
            multipart: &[],
        });
        self
    }

    /// Also `multipart/form-data` with these parts (the file as `file`).
    pub fn multipart(mut self, parts: &'static [&'static str]) -> Self {
        if let Some(Body::Json { multipart, .. }) = &mut self.doc.body {
            *multipart = parts;
        }
        self
    }

    pub fn raw_body(mut self, content_type: &'static str, note: &'static str) -> Self {
        self.doc.body = Some(Body::Raw { content_type, note });
        self
    }

    pub fn query(mut self, names: &'static [&'static str]) -> Self {
        self.doc.query = names;
        self
    }

    /// Answers `status` with a JSON body of type `T`.
    pub fn answers<T: JsonSchema>(self, status: u16, description: &'static str) -> Self {
        self.answer(status, description, Content::Json(Schema::of::<T>()))
    }

    /// Answers `status` with a JSON body of this schema.
    pub fn answers_json(self, status: u16, description: &'static str, schema: Schema) -> Self {
        self.answer(status, description, Content::Json(schema))
    }

    /// Answers `status` with no body the document describes (headers, or a text or HTML page).
    pub fn answers_empty(self, status: u16, description: &'static str) -> Self {
        self.answer(status, description, Content::None)
    }

    /// Answers `status` with bytes.
    pub fn bytes(self, status: u16, description: &'static str) -> Self {
        self.answer(status, description, Content::Bytes)
    }

    fn answer(mut self, status: u16, description: &'static str, content: Content) -> Self {
        self.doc.answers.push(Answer {
            status,
            description,
            content,
        });
        self
    }
}

/// The routes of one face, nested under its prefix.
pub struct Routes {
    pub prefix: &'static str,
    /// The envelope its refusals take (also the idempotency guard's).
    pub face: Face,
    /// The document's tag for its routes that name none.
    pub tag: &'static str,
    pub routes: Vec<Route>,
}

impl Routes {
    pub fn new(prefix: &'static str, face: Face, tag: &'static str) -> Self {
        Self {
            prefix,
            face,
            tag,
            routes: Vec::new(),
        }
    }

    pub fn route(mut self, route: Route) -> Self {
        self.routes.push(route);
        self
    }

    /// The router of these routes (not yet nested), each with its layers. The layers wrap the
    /// route's own method only: another method is answered 405 without them.
    fn router(self, state: &AppState) -> Router<AppState> {
        let upload_limit = usize::try_from(upload_body::body_limit(state)).unwrap_or(usize::MAX);
        let mut router = Router::new();
        for route in self.routes {
            let mut handler = route.handler;
            if route.file_body {
                handler = handler.route_layer(DefaultBodyLimit::max(upload_limit));
            } else if route.task_body {
                handler =
                    handler.route_layer(DefaultBodyLimit::max(crate::service::MAX_TASK_BODY_BYTES));
            }
            if route.once {
                handler = handler.route_layer(from_fn_with_state(
                    (state.clone(), self.face),
                    idempotency::guard,
                ));
            }
            router = router.route(&route.path, handler);
        }
        router
    }

    /// Each route's method and full path.
    pub fn endpoints(&self) -> impl Iterator<Item = (Method, String)> + '_ {
        self.routes
            .iter()
            .map(|r| (r.method.clone(), format!("{}{}", self.prefix, r.path)))
    }
}

/// The router of a whole table: each face's routes nested under its prefix.
pub fn router(table: Vec<Routes>, state: &AppState) -> Router<AppState> {
    table.into_iter().fold(Router::new(), |router, face| {
        let prefix = face.prefix;
        let routes = face.router(state);
        if prefix.is_empty() {
            router.merge(routes)
        } else {
            router.nest(prefix, routes)
        }
    })
}
