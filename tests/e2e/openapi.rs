//! The OpenAPI document: it describes every route of the table the router is built from, with
//! the methods each answers (and the live router takes exactly those), and real answers of the
//! routes conform to the schemas it gives them (a small JSON Schema check: types, required and
//! known properties, enums and consts, items, refs).

use std::collections::{BTreeMap, BTreeSet};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{KYY, Origin, TestApp, media, spawn_app};

/// Problems of `value` against `schema` (empty when it conforms). Properties the schema does
/// not name are problems too: an answer carries no undocumented field.
fn check(doc: &Value, schema: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap_or_default();
        let target = &doc["components"]["schemas"][name];
        if target.is_null() {
            out.push(format!("{at}: unknown schema {reference}"));
        } else {
            check(doc, target, value, at, out);
        }
        return;
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(options) = schema[key].as_array() {
            let fits = options.iter().any(|o| {
                let mut problems = Vec::new();
                check(doc, o, value, at, &mut problems);
                problems.is_empty()
            });
            if !fits {
                out.push(format!("{at}: {value} matches none of {key}"));
            }
        }
    }
    if let Some(all) = schema["allOf"].as_array() {
        for s in all {
            check(doc, s, value, at, out);
        }
    }
    if let Some(types) = match &schema["type"] {
        Value::String(t) => Some(vec![t.as_str()]),
        Value::Array(ts) => Some(ts.iter().filter_map(Value::as_str).collect()),
        _ => None,
    } {
        let fits = types.iter().any(|t| match *t {
            "null" => value.is_null(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            _ => false,
        });
        if !fits {
            out.push(format!("{at}: {value} is not {types:?}"));
            return;
        }
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        out.push(format!("{at}: {value} is not one of {allowed:?}"));
    }
    if let Some(constant) = schema.get("const")
        && constant != value
    {
        out.push(format!("{at}: {value} is not {constant}"));
    }
    if let (Some(items), Some(values)) = (schema.get("items"), value.as_array()) {
        for (i, v) in values.iter().enumerate() {
            check(doc, items, v, &format!("{at}[{i}]"), out);
        }
    }
    if let Some(object) = value.as_object() {
        let properties = schema["properties"].as_object();
        for name in schema["required"].as_array().into_iter().flatten() {
            if let Some(name) = name.as_str()
                && !object.contains_key(name)
            {
                out.push(format!("{at}: required {name} is missing"));
            }
        }
        if let Some(properties) = properties {
            for (name, v) in object {
                match properties.get(name) {
                    Some(s) => check(doc, s, v, &format!("{at}.{name}"), out),
                    None => out.push(format!("{at}: {name} is not in the schema")),
                }
            }
        }
    }
}

/// Checks an answer against the document's schema for `method template` at `status` (or its
/// `default` answer).
fn conforms(doc: &Value, method: &str, template: &str, status: StatusCode, body: &Value) {
    let op = &doc["paths"][template][method.to_lowercase()];
    assert!(!op.is_null(), "{method} {template} is not in the document");
    let responses = &op["responses"];
    let response = if responses[status.as_str()].is_null() {
        assert!(
            !status.is_success(),
            "{method} {template}: {status} is not documented"
        );
        &responses["default"]
    } else {
        &responses[status.as_str()]
    };
    let Some(schema) = response["content"]["application/json"].get("schema") else {
        assert!(
            body.is_null(),
            "{method} {template} {status}: a body where none is documented: {body}"
        );
        return;
    };
    let mut problems = Vec::new();
    check(doc, schema, body, "$", &mut problems);
    assert!(
        problems.is_empty(),
        "{method} {template} {status}: {problems:#?}\n{body}"
    );
}

/// Sends a request and checks its answer against the document.
async fn call(
    app: &TestApp,
    doc: &Value,
    key: &str,
    method: Method,
    template: &str,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = app
        .client
        .request(method.clone(), format!("{}{path}", app.base))
        .bearer_auth(key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let (status, answer) = app.send(request).await;
    conforms(doc, method.as_str(), template, status, &answer);
    (status, answer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_describes_every_route_with_its_methods() {
    let app = spawn_app().await;
    let (status, doc) = app.get("", "/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    let documented: BTreeMap<String, BTreeSet<String>> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .map(|(path, ops)| {
            let methods = ops
                .as_object()
                .expect("operations")
                .keys()
                .map(|m| m.to_uppercase())
                .collect();
            (path.clone(), methods)
        })
        .collect();
    // The route table the router is folded from: each of its routes is described with its
    // method, and the document describes nothing else.
    let table: BTreeSet<(String, String)> = assetlib::http::endpoints()
        .into_iter()
        .map(|(method, path)| (path, method.as_str().to_owned()))
        .collect();
    let described: BTreeSet<(String, String)> = documented
        .iter()
        .flat_map(|(path, methods)| methods.iter().map(|m| (path.clone(), m.clone())))
        .collect();
    let undocumented: Vec<_> = table.difference(&described).collect();
    assert!(
        undocumented.is_empty(),
        "routes the document does not describe: {undocumented:?}"
    );
    let stale: Vec<_> = described.difference(&table).collect();
    assert!(
        stale.is_empty(),
        "documented routes the table does not have: {stale:?}"
    );

    // The live router: every documented path is routed, and a method no route takes answers
    // 405 with exactly the documented methods in `Allow`.
    for (path, methods) in &documented {
        let concrete = path
            .split('/')
            .map(|seg| {
                if seg.starts_with('{') {
                    "asset-20260101000000-zzzzz"
                } else {
                    seg
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let answer = app
            .client
            .request(Method::TRACE, format!("{}{concrete}", app.base))
            .send()
            .await
            .expect("sent");
        assert_eq!(answer.status(), StatusCode::METHOD_NOT_ALLOWED, "{path}");
        let allow: BTreeSet<String> = answer.headers()["allow"]
            .to_str()
            .expect("ascii")
            .split(',')
            .map(|m| m.trim().to_owned())
            .filter(|m| m != "HEAD" || !methods.contains("GET"))
            .collect();
        assert_eq!(&allow, methods, "the methods of {path}");
    }

    // Every stable refusal code is in the error schemas; the docs page reads the document.
    let v1_codes = &doc["components"]["schemas"]["V1Error"]["properties"]["error"]["properties"]["code"]
        ["enum"];
    for code in assetlib::domain::codes::ALL
        .iter()
        .filter(|c| c.refusal.is_some())
    {
        assert!(
            v1_codes
                .as_array()
                .is_some_and(|a| a.contains(&json!(code.name))),
            "{code}"
        );
    }
    let page = app
        .client
        .get(format!("{}/docs", app.base))
        .send()
        .await
        .expect("docs");
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.expect("html").contains("/openapi.json"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_answers_conform_to_their_schemas() {
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let (_, doc) = app.get("", "/openapi.json").await;
    let key = app.create_key("studio").await;
    let admin = app.admin_key.clone();
    let url = origin.put("a.png", media::png(400, 400), "image/png");

    // The kyy face: upload, details, list, errors, delete (the string "0").
    let upload = format!("{KYY}/upload");
    let kyy_body = json!({"assetType": "Image", "url": url, "name": "one"});
    let (status, up) = call(
        &app,
        &doc,
        &key,
        Method::POST,
        &upload,
        &upload,
        Some(kyy_body),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{up}");
    let id = up["data"]["assetId"].as_str().expect("id").to_owned();
    app.wait_settled(&key, &id).await;
    let detail_t = format!("{KYY}/{{asset_id}}");
    call(
        &app,
        &doc,
        &key,
        Method::GET,
        &detail_t,
        &format!("{KYY}/{id}"),
        None,
    )
    .await;
    let list_t = format!("{KYY}/list");
    call(
        &app,
        &doc,
        &key,
        Method::GET,
        &list_t,
        &format!("{KYY}/list?pageSize=5"),
        None,
    )
    .await;
    let (status, _) = call(
        &app,
        &doc,
        &key,
        Method::GET,
        &detail_t,
        &format!("{KYY}/asset-20260101000000-zzzzz"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let bad = json!({"assetType": "Picture", "url": url});
    let (status, _) = call(&app, &doc, &key, Method::POST, &upload, &upload, Some(bad)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let batch_t = format!(
        "{}/asset/sd2Manxue/assetUpload",
        assetlib::http::error::KYY_PREFIX
    );
    let (_, batch) = call(
        &app,
        &doc,
        &key,
        Method::POST,
        &batch_t,
        &batch_t,
        Some(json!({"imageUrls": [url, "ftp://x"]})),
    )
    .await;
    let batch_id = batch["data"]["items"][0]["assetId"]
        .as_str()
        .expect("id")
        .to_owned();
    let status_t = format!(
        "{}/asset/sd2Manxue/assetStatus",
        assetlib::http::error::KYY_PREFIX
    );
    call(
        &app,
        &doc,
        &key,
        Method::POST,
        &status_t,
        &status_t,
        Some(json!({"assetIds": [batch_id, "nope"]})),
    )
    .await;

    // The v1 face: assets.
    let (status, created) = call(
        &app,
        &doc,
        &key,
        Method::POST,
        "/v1/assets",
        "/v1/assets",
        Some(json!({"assetType": "Image", "url": url})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let v1_id = created["assetId"].as_str().expect("id").to_owned();
    let one = format!("/v1/assets/{v1_id}");
    call(
        &app,
        &doc,
        &key,
        Method::GET,
        "/v1/assets/{asset_id}",
        &format!("{one}?wait=30"),
        None,
    )
    .await;
    call(
        &app,
        &doc,
        &key,
        Method::GET,
        "/v1/assets",
        "/v1/assets?limit=2",
        None,
    )
    .await;
    let (status, _) = call(
        &app,
        &doc,
        &key,
        Method::GET,
        "/v1/assets/{asset_id}",
        "/v1/assets/asset-20260101000000-zzzzz",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Groups.
    let (_, group) = call(
        &app,
        &doc,
        &key,
        Method::POST,
        "/v1/groups",
        "/v1/groups",
        Some(json!({"name": "G", "description": "d"})),
    )
    .await;
    let gid = group["groupId"].as_str().expect("id").to_owned();
    call(
        &app,
        &doc,
        &key,
        Method::GET,
        "/v1/groups",
        "/v1/groups",
        None,
    )
    .await;
    call(
        &app,
        &doc,
        &key,
        Method::GET,
        "/v1/groups/{group_id}",
        &format!("/v1/groups/{gid}"),
        None,
    )
    .await;
    call(
        &app,
        &doc,
        &key,
        Method::PATCH,
        "/v1/groups/{group_id}",
        &format!("/v1/groups/{gid}"),
        Some(json!({"name": "H"})),
    )
    .await;
    call(
        &app,
        &doc,
        &key,
        Method::PATCH,
        "/v1/assets/{asset_id}",
        &one,
        Some(json!({"groupId": gid, "name": "n"})),
    )
    .await;
    let (status, _) = call(
        &app,
        &doc,
        &key,
        Method::DELETE,
        "/v1/groups/{group_id}",
        &format!("/v1/groups/{gid}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    call(
        &app,
        &doc,
        &key,
        Method::PATCH,
        "/v1/assets/{asset_id}",
        &one,
        Some(json!({"groupId": null})),
    )
    .await;
    call(
        &app,
        &doc,
        &key,
        Method::DELETE,
        "/v1/groups/{group_id}",
        &format!("/v1/groups/{gid}"),
        None,
    )
    .await;
    let (status, _) = call(
        &app,
        &doc,
        &key,
        Method::DELETE,
        "/v1/assets/{asset_id}",
        &one,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    call(
        &app,
        &doc,
        &key,
        Method::POST,
        "/v1/assets/{asset_id}/restore",
        &format!("{one}/restore"),
        None,
    )
    .await;

    // Webhooks, keys, usage, quotas.
    let (_, hook) = call(
        &app,
        &doc,
        &key,
        Method::POST,
        "/v1/webhooks",
        "/v1/webhooks",
        Some(json!({"url": "https://example.com/h"})),
    )
    .await;
    let hid = hook["webhookId"].as_str().expect("id").to_owned();
    call(
        &app,
        &doc,
        &key,
        Method::GET,
        "/v1/webhooks",
        "/v1/webhooks",
        None,
    )
    .await;
    call(
        &app,
        &doc,
        &key,
        Method::GET,
        "/v1/webhooks/{webhook_id}",
        &format!("/v1/webhooks/{hid}"),
        None,
    )
    .await;
    call(
        &app,
        &doc,
        &key,
        Method::GET,
        "/v1/webhooks/{webhook_id}/deliveries",
        &format!("/v1/webhooks/{hid}/deliveries"),
        None,
    )
    .await;
    call(
        &app,
        &doc,
        &admin,
        Method::GET,
        "/v1/keys",
        "/v1/keys",
        None,
    )
    .await;
    call(
        &app,
        &doc,
        &admin,
        Method::POST,
        "/v1/keys",
        "/v1/keys",
        Some(json!({"tenant": "other"})),
    )
    .await;
    let (status, _) = call(&app, &doc, &key, Method::GET, "/v1/keys", "/v1/keys", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    call(
        &app,
        &doc,
        &key,
        Method::GET,
        "/v1/usage",
        "/v1/usage",
        None,
    )
    .await;
    let quota = "/v1/tenants/studio/quota";
    call(
        &app,
        &doc,
        &admin,
        Method::PUT,
        "/v1/tenants/{tenant}/quota",
        quota,
        Some(json!({"maxAssets": 100})),
    )
    .await;
    call(
        &app,
        &doc,
        &admin,
        Method::GET,
        "/v1/tenants/{tenant}/quota",
        quota,
        None,
    )
    .await;
    call(
        &app,
        &doc,
        &admin,
        Method::DELETE,
        "/v1/tenants/{tenant}/quota",
        quota,
        None,
    )
    .await;

    // Resolve and review.
    let task = json!({"first_image": format!("asset://{v1_id}")});
    call(
        &app,
        &doc,
        &key,
        Method::POST,
        "/v1/resolve",
        "/v1/resolve",
        Some(task),
    )
    .await;
    let broken = json!({"first_image": "asset://asset-20260101000000-zzzzz"});
    let (status, _) = call(
        &app,
        &doc,
        &key,
        Method::POST,
        "/v1/resolve",
        "/v1/resolve",
        Some(broken),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let face = origin.put("astronaut.png", media::photo("astronaut.png"), "image/png");
    let held = app.upload_ok(&key, "Image", &face).await;
    app.wait_settled(&key, &held).await;
    call(
        &app,
        &doc,
        &admin,
        Method::GET,
        "/v1/reviews",
        "/v1/reviews",
        None,
    )
    .await;
    call(
        &app,
        &doc,
        &admin,
        Method::POST,
        "/v1/reviews/{asset_id}/approve",
        &format!("/v1/reviews/{held}/approve"),
        None,
    )
    .await;
    call(
        &app,
        &doc,
        &admin,
        Method::POST,
        "/v1/reviews/{asset_id}/reopen",
        &format!("/v1/reviews/{held}/reopen"),
        Some(json!({"reason": "a second look"})),
    )
    .await;
    call(
        &app,
        &doc,
        &admin,
        Method::POST,
        "/v1/reviews/decisions",
        "/v1/reviews/decisions",
        Some(json!({"decisions": [{"assetId": held, "decision": "approve"}]})),
    )
    .await;
    call(
        &app,
        &doc,
        &admin,
        Method::GET,
        "/v1/reviews/history",
        "/v1/reviews/history",
        None,
    )
    .await;
    let (status, gone) = call(
        &app,
        &doc,
        &key,
        Method::DELETE,
        &detail_t,
        &format!("{KYY}/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{gone}");
    assert_eq!(gone["code"], "0");
    let (_, who) = call(
        &app,
        &doc,
        &key,
        Method::GET,
        "/console/session",
        "/console/session",
        None,
    )
    .await;
    assert_eq!(who["tenant"], "studio");
}
