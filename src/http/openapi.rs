//! The OpenAPI 3.1 document of both faces, built from the code: every body and answer schema is
//! derived from the Rust type the handler reads or writes (`schemars`), the error schemas list
//! every stable code of `domain::codes`, and a test checks that every route the routers record
//! (`http::routes`) is described with its methods. Served at `/openapi.json`, read at `/docs`.

use std::sync::LazyLock;

use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use schemars::generate::{Contract, SchemaSettings};
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{Map, Value, json};

use super::console::{SignIn, Who};
use super::error::KYY_PREFIX;
use super::kyy::dto as kyy;
use super::kyy::manxue;
use super::v1::direct::{CompleteBody, CreateDirectBody, DirectBody};
use super::v1::dto as v1;
use super::v1::keys::{CreateKeyBody, KeyBody, KeyListBody};
use super::v1::quota::{QuotaBody, UsageBody};
use super::v1::reviews::{RejectBody, ReviewItem, ReviewList};
use super::v1::webhooks::{
    CreateBody as WebhookCreate, DeliveryBody, DeliveryListBody, WebhookBody, WebhookListBody,
};
use crate::domain::codes;
use crate::service::{RESULT_PATH, TASK_FAMILIES};

const JSON: &str = "application/json";

/// One operation being described.
struct Op {
    method: &'static str,
    path: String,
    value: Map<String, Value>,
    responses: Map<String, Value>,
}

struct Doc {
    /// Answers: the types as they serialize, shared under `components/schemas`.
    answers: SchemaGenerator,
    /// Request bodies: the types as they deserialize, inlined.
    bodies: SchemaGenerator,
    paths: Map<String, Value>,
}

impl Doc {
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
            paths: Map::new(),
        }
    }

    fn answer<T: JsonSchema>(&mut self) -> Value {
        self.answers.subschema_for::<T>().to_value()
    }

    fn body<T: JsonSchema>(&mut self) -> Value {
        self.bodies.subschema_for::<T>().to_value()
    }

    fn add(&mut self, op: Op) {
        let mut value = op.value;
        value.insert("responses".into(), Value::Object(op.responses));
        let item = self
            .paths
            .entry(op.path)
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(item) = item {
            item.insert(op.method.to_owned(), Value::Object(value));
        }
    }
}

/// Starts an operation of a face (`kyy` or `v1`, whose error envelope it answers in).
fn op(method: &'static str, path: &str, tag: &str, summary: &str) -> Op {
    let mut value = Map::new();
    value.insert("tags".into(), json!([tag]));
    value.insert("summary".into(), json!(summary));
    let params: Vec<Value> = path
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect();
    if !params.is_empty() {
        value.insert("parameters".into(), Value::Array(params));
    }
    let mut responses = Map::new();
    let error = if tag == "kyy" { "KyyError" } else { "V1Error" };
    responses.insert(
        "default".into(),
        json!({"description": "A refusal or a failure, in the face's envelope with a stable code",
               "content": {JSON: {"schema": {"$ref": format!("#/components/schemas/{error}")}}}}),
    );
    Op {
        method,
        path: path.to_owned(),
        value,
        responses,
    }
}

impl Op {
    fn json_body(mut self, schema: Value) -> Self {
        self.value.insert(
            "requestBody".into(),
            json!({"required": true, "content": {JSON: {"schema": schema}}}),
        );
        self
    }

    fn raw_body(mut self, content_type: &str, note: &str) -> Self {
        self.value.insert(
            "requestBody".into(),
            json!({"required": true, "description": note,
                   "content": {content_type: {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}}}}),
        );
        self
    }

    /// Also `multipart/form-data` with these parts (the file as `file`).
    fn multipart(mut self, parts: &[&str]) -> Self {
        let mut properties = Map::new();
        for part in parts {
            let schema = if *part == "file" {
                json!({"type": "string", "contentMediaType": "application/octet-stream"})
            } else {
                json!({"type": "string"})
            };
            properties.insert((*part).to_owned(), schema);
        }
        let form =
            json!({"schema": {"type": "object", "properties": properties, "required": ["file"]}});
        if let Some(Value::Object(body)) = self.value.get_mut("requestBody")
            && let Some(Value::Object(content)) = body.get_mut("content")
        {
            content.insert("multipart/form-data".into(), form);
        }
        self
    }

    fn query(mut self, names: &[&str]) -> Self {
        let params = self
            .value
            .entry("parameters")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(params) = params {
            for name in names {
                params.push(json!({"name": name, "in": "query", "required": false, "schema": {"type": "string"}}));
            }
        }
        self
    }

    fn answers(mut self, status: u16, description: &str, schema: Option<Value>) -> Self {
        let mut response = json!({"description": description});
        if let Some(schema) = schema {
            response["content"] = json!({JSON: {"schema": schema}});
        }
        self.responses.insert(status.to_string(), response);
        self
    }

    fn bytes(mut self, status: u16, description: &str) -> Self {
        self.responses.insert(
            status.to_string(),
            json!({"description": description,
                   "content": {"application/octet-stream": {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}}}}),
        );
        self
    }
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

fn build() -> Value {
    let mut d = Doc::new();
    let k = |p: &str| format!("{KYY_PREFIX}{p}");
    let any_object = json!({"type": "object"});

    // The kyy face.
    let upload = d.body::<kyy::UploadBody>();
    let answer = d.answer::<kyy::Envelope<kyy::UploadData>>();
    d.add(
        op(
            "post",
            &k("/kyyVideo2/asset/upload"),
            "kyy",
            "Upload by URL (JSON, url may be a data: URI) or a file (multipart)",
        )
        .json_body(upload)
        .multipart(&["file", "assetType", "name", "groupId"])
        .query(&["dedupe"])
        .answers(200, "The new asset's id", Some(answer)),
    );
    let list = d.answer::<kyy::Envelope<kyy::ListData>>();
    d.add(
        op(
            "get",
            &k("/kyyVideo2/asset/list"),
            "kyy",
            "List assets, by page",
        )
        .query(&["pageNum", "pageSize", "assetType", "status", "name"])
        .answers(200, "A page", Some(list)),
    );
    let detail = d.answer::<kyy::Envelope<kyy::AssetDetail>>();
    d.add(
        op(
            "get",
            &k("/kyyVideo2/asset/{asset_id}"),
            "kyy",
            "An asset's details",
        )
        .query(&["wait"])
        .answers(
            200,
            "The asset (msg: the failure sentence when Failed)",
            Some(detail),
        ),
    );
    let deleted = d.answer::<kyy::DeleteEnvelope>();
    d.add(
        op(
            "delete",
            &k("/kyyVideo2/asset/{asset_id}"),
            "kyy",
            "Delete an asset",
        )
        .query(&["force"])
        .answers(
            200,
            "Deleted: {\"code\":\"0\",\"msg\":\"success\",\"data\":null} (a string code)",
            Some(deleted),
        ),
    );
    let batch = d.body::<manxue::UploadBody>();
    let batch_answer = d.answer::<manxue::BatchEnvelope<manxue::UploadData>>();
    d.add(
        op(
            "post",
            &k("/asset/sd2Manxue/assetUpload"),
            "kyy",
            "Upload many URLs at once (partial success)",
        )
        .json_body(batch)
        .answers(200, "Submitted items and failed ones", Some(batch_answer)),
    );
    let status = d.body::<manxue::StatusBody>();
    let status_answer = d.answer::<manxue::BatchEnvelope<manxue::StatusData>>();
    d.add(
        op(
            "post",
            &k("/asset/sd2Manxue/assetStatus"),
            "kyy",
            "Statuses of many assets",
        )
        .json_body(status)
        .answers(200, "Statuses and unknown ids", Some(status_answer)),
    );
    d.add(
        op(
            "get",
            &k(&format!("{RESULT_PATH}/{{id}}")),
            "kyy",
            "A generation task's status (the upstream's answer)",
        )
        .answers(
            200,
            "The upstream's answer, passed through",
            Some(any_object.clone()),
        ),
    );
    for family in &TASK_FAMILIES {
        d.add(
            op(
                "post",
                &k(family.path),
                "kyy",
                &format!(
                    "Submit a {} task: asset:// resolved, forwarded upstream",
                    family.name
                ),
            )
            .json_body(any_object.clone())
            .answers(
                200,
                "The upstream's answer, passed through",
                Some(any_object.clone()),
            ),
        );
        d.add(
            op(
                "get",
                &k(&format!("{}/{{id}}", family.path)),
                "kyy",
                &format!("A {} task's status", family.name),
            )
            .answers(
                200,
                "The upstream's answer, passed through",
                Some(any_object.clone()),
            ),
        );
    }

    // The v1 face: assets.
    let create = d.body::<v1::CreateBody>();
    let asset = d.answer::<v1::AssetBody>();
    d.add(
        op(
            "post",
            "/v1/assets",
            "v1",
            "Create an asset from a URL (JSON) or a file (multipart)",
        )
        .json_body(create)
        .multipart(&["file", "assetType", "name", "groupId"])
        .query(&["dedupe"])
        .answers(201, "The new asset", Some(asset.clone()))
        .answers(
            200,
            "With dedupe: the live asset of the same bytes (deduplicatedFrom)",
            Some(asset.clone()),
        ),
    );
    let list = d.answer::<v1::ListBody>();
    d.add(
        op(
            "get",
            "/v1/assets",
            "v1",
            "List assets, newest first (keyset pages)",
        )
        .query(&[
            "limit",
            "cursor",
            "assetType",
            "status",
            "name",
            "sha256",
            "groupId",
            "deleted",
        ])
        .answers(200, "A page", Some(list)),
    );
    d.add(
        op(
            "put",
            "/v1/assets/{asset_id}",
            "v1",
            "Upload a file as the body; the path names it",
        )
        .raw_body(
            "application/octet-stream",
            "The file (Content-Length required)",
        )
        .query(&["assetType", "groupId", "dedupe"])
        .answers(201, "The new asset", Some(asset.clone())),
    );
    d.add(
        op("get", "/v1/assets/{asset_id}", "v1", "An asset")
            .query(&["wait"])
            .answers(200, "The asset", Some(asset.clone())),
    );
    let update = d.body::<v1::UpdateBody>();
    d.add(
        op(
            "patch",
            "/v1/assets/{asset_id}",
            "v1",
            "Rename an asset and/or file it in a group",
        )
        .json_body(update)
        .answers(200, "The asset", Some(asset.clone())),
    );
    d.add(
        op(
            "delete",
            "/v1/assets/{asset_id}",
            "v1",
            "Delete an asset (restorable for the retention)",
        )
        .query(&["force"])
        .answers(204, "Deleted", None),
    );
    d.add(
        op(
            "post",
            "/v1/assets/{asset_id}/restore",
            "v1",
            "Restore a deleted asset",
        )
        .answers(200, "The asset, back", Some(asset.clone())),
    );
    d.add(
        op(
            "get",
            "/v1/assets/{asset_id}/preview",
            "v1",
            "A small JPEG preview (ETag: the content's sha256)",
        )
        .bytes(200, "image/jpeg")
        .answers(304, "Not modified", None),
    );
    d.add(
        op(
            "get",
            "/v1/assets/{asset_id}/content",
            "v1",
            "The asset's bytes (one Range)",
        )
        .bytes(200, "The bytes")
        .bytes(206, "The range"),
    );
    d.add(
        op(
            "get",
            "/content/{asset_id}",
            "v1",
            "The bytes through a signed, expiring URL (no key)",
        )
        .query(&["exp", "sig"])
        .bytes(200, "The bytes")
        .bytes(206, "The range"),
    );

    // Uploads that bypass the JSON API.
    let tus_note = "tus 1.0 (creation, termination): headers carry the protocol";
    d.add(
        op("post", "/v1/uploads/tus", "v1", "Create a resumable upload")
            .answers(201, tus_note, None),
    );
    d.add(op("options", "/v1/uploads/tus", "v1", "tus capabilities").answers(204, tus_note, None));
    d.add(
        op(
            "head",
            "/v1/uploads/tus/{upload_id}",
            "v1",
            "A resumable upload's offset",
        )
        .answers(200, tus_note, None),
    );
    d.add(
        op(
            "patch",
            "/v1/uploads/tus/{upload_id}",
            "v1",
            "Append bytes to a resumable upload",
        )
        .raw_body("application/offset+octet-stream", "The next bytes")
        .answers(204, tus_note, None),
    );
    d.add(
        op(
            "delete",
            "/v1/uploads/tus/{upload_id}",
            "v1",
            "End a resumable upload",
        )
        .answers(204, tus_note, None),
    );
    d.add(
        op(
            "options",
            "/v1/uploads/tus/{upload_id}",
            "v1",
            "tus capabilities",
        )
        .answers(204, tus_note, None),
    );
    let direct = d.body::<CreateDirectBody>();
    let direct_answer = d.answer::<DirectBody>();
    d.add(
        op(
            "post",
            "/v1/uploads",
            "v1",
            "Start a direct upload: a URL to PUT the bytes to",
        )
        .json_body(direct)
        .answers(201, "Where to PUT the bytes", Some(direct_answer)),
    );
    let complete = d.body::<CompleteBody>();
    d.add(
        op(
            "post",
            "/v1/uploads/{upload_id}/complete",
            "v1",
            "Complete a direct upload",
        )
        .json_body(complete)
        .answers(201, "The new asset", Some(asset.clone())),
    );
    d.add(
        op(
            "put",
            "/uploads/{upload_id}",
            "v1",
            "The bytes of a direct upload (signed URL, no key)",
        )
        .query(&["exp", "sig"])
        .raw_body("application/octet-stream", "The file")
        .answers(200, "Stored", None),
    );

    // Groups, webhooks, keys, quotas.
    let group_create = d.body::<v1::GroupCreateBody>();
    let group = d.answer::<v1::GroupBody>();
    let groups = d.answer::<v1::GroupListBody>();
    d.add(
        op("post", "/v1/groups", "v1", "Create a group")
            .json_body(group_create)
            .answers(201, "The group", Some(group.clone())),
    );
    d.add(
        op("get", "/v1/groups", "v1", "List groups")
            .query(&["name", "limit", "cursor"])
            .answers(200, "A page", Some(groups)),
    );
    d.add(op("get", "/v1/groups/{group_id}", "v1", "A group").answers(
        200,
        "The group",
        Some(group.clone()),
    ));
    let group_update = d.body::<v1::GroupUpdateBody>();
    d.add(
        op(
            "patch",
            "/v1/groups/{group_id}",
            "v1",
            "Rename or re-describe a group",
        )
        .json_body(group_update)
        .answers(200, "The group", Some(group)),
    );
    let group_deleted = d.answer::<v1::GroupDeletedBody>();
    d.add(
        op(
            "delete",
            "/v1/groups/{group_id}",
            "v1",
            "Delete a group (cascade: with its assets)",
        )
        .query(&["cascade"])
        .answers(200, "Deleted", Some(group_deleted)),
    );
    let webhook_create = d.body::<WebhookCreate>();
    let webhook = d.answer::<WebhookBody>();
    let webhooks = d.answer::<WebhookListBody>();
    d.add(
        op(
            "post",
            "/v1/webhooks",
            "v1",
            "Register a webhook endpoint (its secret shown once)",
        )
        .json_body(webhook_create)
        .answers(201, "The endpoint and its secret", Some(webhook.clone())),
    );
    d.add(
        op("get", "/v1/webhooks", "v1", "The tenant's endpoints").answers(
            200,
            "The endpoints",
            Some(webhooks),
        ),
    );
    d.add(
        op("get", "/v1/webhooks/{webhook_id}", "v1", "An endpoint").answers(
            200,
            "The endpoint",
            Some(webhook),
        ),
    );
    d.add(
        op(
            "delete",
            "/v1/webhooks/{webhook_id}",
            "v1",
            "Remove an endpoint and its log",
        )
        .answers(204, "Removed", None),
    );
    let deliveries = d.answer::<DeliveryListBody>();
    d.add(
        op(
            "get",
            "/v1/webhooks/{webhook_id}/deliveries",
            "v1",
            "An endpoint's delivery log",
        )
        .query(&["limit", "cursor"])
        .answers(200, "Newest first", Some(deliveries)),
    );
    let delivery = d.answer::<DeliveryBody>();
    d.add(
        op(
            "post",
            "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
            "v1",
            "Send an event again",
        )
        .answers(202, "The new delivery", Some(delivery)),
    );
    let key_create = d.body::<CreateKeyBody>();
    let key = d.answer::<KeyBody>();
    let keys = d.answer::<KeyListBody>();
    d.add(op("get", "/v1/keys", "admin", "API keys (admin)").answers(
        200,
        "The keys, never their secrets",
        Some(keys),
    ));
    d.add(
        op(
            "post",
            "/v1/keys",
            "admin",
            "Create a key (admin; the secret shown once)",
        )
        .json_body(key_create)
        .answers(201, "The key and its secret", Some(key)),
    );
    d.add(
        op(
            "delete",
            "/v1/keys/{key_id}",
            "admin",
            "Revoke a key (admin)",
        )
        .answers(204, "Revoked", None),
    );
    let usage = d.answer::<UsageBody>();
    d.add(
        op(
            "get",
            "/v1/usage",
            "v1",
            "The tenant's use against its quota",
        )
        .answers(200, "Use and limits", Some(usage.clone())),
    );
    let quota = d.body::<QuotaBody>();
    d.add(
        op(
            "get",
            "/v1/tenants/{tenant}/quota",
            "admin",
            "A tenant's quota and use (admin)",
        )
        .answers(200, "Use and limits", Some(usage.clone())),
    );
    d.add(
        op(
            "put",
            "/v1/tenants/{tenant}/quota",
            "admin",
            "Set a tenant's quota at run time (admin)",
        )
        .json_body(quota)
        .answers(200, "Use and limits", Some(usage.clone())),
    );
    d.add(
        op(
            "delete",
            "/v1/tenants/{tenant}/quota",
            "admin",
            "Remove a tenant's run-time quota (admin)",
        )
        .answers(200, "Use and the configuration's limits", Some(usage)),
    );

    // Resolution and review.
    d.add(
        op(
            "post",
            "/v1/resolve",
            "v1",
            "Resolve a generation task's asset:// references",
        )
        .json_body(any_object.clone())
        .answers(
            200,
            "The task with signed URLs (refused with invalid-references and every violation)",
            Some(any_object.clone()),
        ),
    );
    let queue = d.answer::<ReviewList>();
    let _ = d.answer::<ReviewItem>();
    d.add(
        op(
            "get",
            "/v1/reviews",
            "review",
            "Held assets, oldest first (reviewer or admin)",
        )
        .query(&["limit", "cursor"])
        .answers(200, "A page", Some(queue)),
    );
    d.add(
        op(
            "post",
            "/v1/reviews/{asset_id}/approve",
            "review",
            "Approve a held asset",
        )
        .answers(200, "The asset, Active", Some(asset.clone())),
    );
    let reject = d.body::<RejectBody>();
    d.add(
        op(
            "post",
            "/v1/reviews/{asset_id}/reject",
            "review",
            "Reject a held asset with a reason",
        )
        .json_body(reject)
        .answers(200, "The asset, Failed", Some(asset)),
    );

    // The Volcengine-style face: one path, the action in the query.
    let volc = json!({"type": "object", "required": ["ResponseMetadata"], "properties": {
        "ResponseMetadata": {"type": "object", "required": ["RequestId", "Action", "Version", "Service", "Region"],
            "properties": {"RequestId": {"type": "string"}, "Action": {"type": "string"}, "Version": {"type": "string"},
                "Service": {"type": "string"}, "Region": {"type": "string"},
                "Error": {"type": "object", "properties": {"Code": {"type": "string"}, "Message": {"type": "string"}}}}},
        "Result": {"type": "object"}}});
    for method in ["post", "get"] {
        d.add(
            op(method, "/", "volc", "Volcengine OpenAPI: ?Action=CreateAssetGroup|GetAssetGroup|ListAssetGroups|UpdateAssetGroup|DeleteAssetGroup|CreateAsset|GetAsset|ListAssets|UpdateAsset|DeleteAsset&Version=2024-01-01, signed HMAC-SHA256 (or a bearer key)")
                .query(&["Action", "Version"])
                .json_body(any_object.clone())
                .answers(200, "{ResponseMetadata, Result}; refusals carry ResponseMetadata.Error{Code, Message}", Some(volc.clone())),
        );
    }

    // Operating the server.
    let health = json!({"type": "object", "properties": {"status": {"type": "string"}}});
    d.add(op("get", "/healthz", "ops", "Liveness").answers(200, "Up", Some(health.clone())));
    d.add(
        op(
            "get",
            "/readyz",
            "ops",
            "Readiness (database and blob store)",
        )
        .answers(200, "Ready", Some(health))
        .answers(503, "Not ready", Some(any_object.clone())),
    );
    d.add(
        op("get", "/metrics", "ops", "Prometheus metrics (admin key)").answers(
            200,
            "OpenMetrics text",
            None,
        ),
    );
    d.add(op("get", "/openapi.json", "ops", "This document").answers(
        200,
        "OpenAPI 3.1",
        Some(any_object),
    ));
    d.add(op("get", "/docs", "ops", "This document, to read").answers(200, "HTML", None));
    let sign_in = d.body::<SignIn>();
    let who = d.answer::<Who>();
    d.add(op("get", "/console", "console", "The web console").answers(200, "HTML", None));
    d.add(
        op("get", "/console/app.js", "console", "The console's script").answers(
            200,
            "JavaScript",
            None,
        ),
    );
    d.add(
        op("get", "/console/app.css", "console", "The console's style").answers(200, "CSS", None),
    );
    d.add(
        op(
            "post",
            "/console/session",
            "console",
            "Sign in: a key for a session cookie",
        )
        .json_body(sign_in)
        .answers(200, "Signed in (Set-Cookie)", Some(who.clone())),
    );
    d.add(
        op("get", "/console/session", "console", "Who is signed in").answers(
            200,
            "The session's caller",
            Some(who),
        ),
    );
    d.add(op("delete", "/console/session", "console", "Sign out").answers(204, "Signed out", None));

    let mut schemas = d.answers.take_definitions(true);
    schemas.extend(error_schemas());
    json!({
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
        "paths": d.paths,
    })
}

/// The document, built once.
pub static DOCUMENT: LazyLock<Value> = LazyLock::new(build);

/// `GET /openapi.json`.
pub async fn document() -> Response {
    (
        [(header::CACHE_CONTROL, "no-cache")],
        axum::Json(DOCUMENT.clone()),
    )
        .into_response()
}

/// `GET /docs`: a page that reads `/openapi.json` (no CDN, nothing to build).
pub async fn docs() -> Html<&'static str> {
    Html(include_str!("openapi_viewer.html"))
}
