//! The OpenAPI 3.1 document of every face, folded from the route table (`http::routes`): each
//! route's operation as it declares it, every body and answer schema derived from the Rust type
//! the handler reads or writes (`schemars`), and the error schemas listing every stable code of
//! `domain::codes`. Served at `/openapi.json`, read at `/docs`.

use std::sync::Arc;

use axum::Extension;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use schemars::SchemaGenerator;
use schemars::generate::{Contract, SchemaSettings};
use serde_json::{Map, Value, json};

use super::error::Face;
use super::routes::{Answer, Body, Content, Route, Routes, Schema};
use crate::domain::codes;

const JSON: &str = "application/json";

struct Generators {
    /// Answers: the types as they serialize, shared under `components/schemas`.
    answers: SchemaGenerator,
    /// Request bodies: the types as they deserialize, inlined.
    bodies: SchemaGenerator,
}

impl Generators {
    fn new() -> Self {
        let answers = SchemaSettings::draft2020_12().with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.contract = Contract::Serialize;
            s.meta_schema = None;
        });
        let bodies = SchemaSettings::draft2020_12().with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
        });
        Self {
            answers: answers.into_generator(),
            bodies: bodies.into_generator(),
        }
    }
}

fn schema(generator: &mut SchemaGenerator, schema: &Schema) -> Value {
    match schema {
        Schema::Of(derive) => derive(generator).to_value(),
        Schema::Literal(value) => value.clone(),
    }
}

fn octets() -> Value {
    json!({"type": "string", "contentMediaType": "application/octet-stream"})
}

/// One route's operation object.
fn operation(g: &mut Generators, face: &Routes, route: &Route) -> Value {
    let doc = &route.doc;
    let mut value = Map::new();
    value.insert("tags".into(), json!([doc.tag.unwrap_or(face.tag)]));
    value.insert("summary".into(), json!(doc.summary));
    let mut params: Vec<Value> = route
        .path
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect();
    params.extend(doc.query.iter().map(
        |name| json!({"name": name, "in": "query", "required": false, "schema": {"type": "string"}}),
    ));
    if !params.is_empty() {
        value.insert("parameters".into(), Value::Array(params));
    }
    match &doc.body {
        None => {}
        Some(Body::Json {
            schema: body,
            multipart,
        }) => {
            let mut content = Map::new();
            content.insert(JSON.into(), json!({"schema": schema(&mut g.bodies, body)}));
            if !multipart.is_empty() {
                let properties: Map<String, Value> = multipart
                    .iter()
                    .map(|part| {
                        let schema = if *part == "file" {
                            octets()
                        } else {
                            json!({"type": "string"})
                        };
                        ((*part).to_owned(), schema)
                    })
                    .collect();
                content.insert(
                    "multipart/form-data".into(),
                    json!({"schema": {"type": "object", "properties": properties, "required": ["file"]}}),
                );
            }
            value.insert(
                "requestBody".into(),
                json!({"required": true, "content": content}),
            );
        }
        Some(Body::Raw { content_type, note }) => {
            value.insert(
                "requestBody".into(),
                json!({"required": true, "description": note,
                       "content": {*content_type: {"schema": octets()}}}),
            );
        }
    }
    let error = match face.face {
        Face::Kyy => "KyyError",
        Face::V1 => "V1Error",
    };
    let mut responses = Map::new();
    responses.insert(
        "default".into(),
        json!({"description": "A refusal or a failure, in the face's envelope with a stable code",
               "content": {JSON: {"schema": {"$ref": format!("#/components/schemas/{error}")}}}}),
    );
    for Answer {
        status,
        description,
        content,
    } in &doc.answers
    {
        let mut response = json!({"description": description});
        match content {
            Content::None => {}
            Content::Json(answer) => {
                response["content"] = json!({JSON: {"schema": schema(&mut g.answers, answer)}});
            }
            Content::Bytes => {
                response["content"] = json!({"application/octet-stream": {"schema": octets()}});
            }
        }
        responses.insert(status.to_string(), response);
    }
    value.insert("responses".into(), Value::Object(responses));
    Value::Object(value)
}

/// The error envelopes, each with every stable code it can carry.
fn error_schemas() -> Map<String, Value> {
    let refusals: Vec<&codes::Code> = codes::ALL
        .iter()
        .copied()
        .filter(|c| c.refusal.is_some())
        .collect();
    let names: Vec<&str> = refusals.iter().map(|c| c.name).collect();
    let numbers: Vec<i64> = refusals
        .iter()
        .filter_map(|c| c.refusal.map(|r| r.kyy))
        .collect();
    let violation_codes: Vec<&str> = codes::ALL
        .iter()
        .filter(|c| c.violation)
        .map(|c| c.name)
        .collect();
    // `domain::task_refs::ResolveViolation`: the field's path, the code, the sentence.
    let violations = json!({"type": "array", "items": {"type": "object",
        "properties": {"field": {"type": "string"}, "code": {"type": "string", "enum": violation_codes},
                       "message": {"type": "string"}},
        "required": ["field", "code", "message"]}});
    let mut schemas = Map::new();
    schemas.insert(
        "V1Error".into(),
        json!({"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["code", "message"],
            "properties": {"code": {"type": "string", "enum": names},
                           "message": {"type": "string"},
                           "violations": violations}}}}),
    );
    schemas.insert(
        "KyyError".into(),
        json!({"type": "object", "required": ["code", "msg", "data"], "properties": {
            "code": {"type": "integer", "enum": numbers},
            "msg": {"type": "string"},
            "data": {"anyOf": [{"type": "null"}, {"type": "object", "properties": {"violations": violations}}]}}}),
    );
    schemas
}

/// The document of these routes.
pub fn build(table: &[Routes]) -> Document {
    let mut g = Generators::new();
    let mut paths = Map::new();
    for face in table {
        for route in &face.routes {
            let item = paths
                .entry(format!("{}{}", face.prefix, route.path))
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(item) = item {
                item.insert(
                    route.method.as_str().to_ascii_lowercase(),
                    operation(&mut g, face, route),
                );
            }
        }
    }
    let mut schemas = g.answers.take_definitions(true);
    schemas.extend(error_schemas());
    let document = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "assetlib",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "A self-hostable asset library for AI video generation: the Seedance 2.0 kyy asset API (byte for byte) and the native v1 API. Every route takes `Authorization: Bearer <key>` unless it says otherwise."
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}
        },
        "security": [{"bearer": []}],
        "paths": paths,
    });
    Document(Arc::new(document))
}

/// The document, built once with the router and handed to `/openapi.json` as an extension.
#[derive(Clone)]
pub struct Document(pub Arc<Value>);

/// `GET /openapi.json`.
pub async fn document(Extension(Document(document)): Extension<Document>) -> Response {
    (
        [(header::CACHE_CONTROL, "no-cache")],
        axum::Json(document.as_ref()),
    )
        .into_response()
}
/// `GET /docs`: a page that reads `/openapi.json` (no CDN, nothing to build).
pub async fn docs() -> Html<&'static str> {
    Html(include_str!("openapi_viewer.html"))
}
