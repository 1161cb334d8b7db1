//! What an operator watches: Prometheus metrics at `/metrics` (admin key, or `--metrics-listen`
//! without one) with conventional names and bounded labels, and JSON logs
//! (`ASSETLIB_LOG_FORMAT=json`) in which every line of a request — and of the job that
//! processes its upload — carries the request's `x-request-id`, echoed in the answer.

use std::time::Duration;

use assetlib_test_support::Serve;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{BIN, Origin, client, media, wait_settled};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The JSON log lines whose spans carry `request_id`.
fn lines_of(logs: &[String], request_id: &str) -> Vec<Value> {
    logs.iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|line| {
            line["spans"]
                .as_array()
                .is_some_and(|spans| spans.iter().any(|s| s["request_id"] == request_id))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_json_logs_follow_each_request_and_its_job() {
    let dir = tempfile::tempdir().expect("dir");
    let metrics_port = free_port();
    let server = Serve::new(BIN, dir.path())
        .args(["--metrics-listen", &format!("127.0.0.1:{metrics_port}")])
        .log("info,sqlx=warn")
        .env("ASSETLIB_LOG_FORMAT", "json")
        .start()
        .expect("the server starts");
    let admin = server
        .printed_key
        .clone()
        .expect("the first start prints a key");
    let http = client();
    let base = &server.base;
    let origin = Origin::start().await;

    let key = tenant_key(&http, base, &admin, "studio").await;

    // The client's id is echoed; without one, one is made.
    let url = origin.put("a.png", media::png(400, 400), "image/png");
    let answer = http
        .post(format!("{base}/v1/assets"))
        .bearer_auth(&key)
        .header("x-request-id", "req-observe-1")
        .json(&json!({"assetType": "Image", "url": url}))
        .send()
        .await
        .expect("upload");
    assert_eq!(answer.status(), StatusCode::CREATED);
    assert_eq!(answer.headers()["x-request-id"], "req-observe-1");
    let asset: Value = answer.json().await.expect("json");
    let id = asset["assetId"].as_str().expect("id").to_owned();
    let made = http
        .get(format!("{base}/v1/assets/{id}"))
        .bearer_auth(&key)
        .send()
        .await
        .expect("details");
    let made_id = made.headers()["x-request-id"].to_str().expect("ascii");
    assert_eq!(made_id.len(), 32, "{made_id}");
    wait_settled(&http, base, &key, &id).await;
    let refused = http
        .post(format!("{base}/v1/assets"))
        .bearer_auth(&key)
        .json(&json!({"assetType": "Picture", "url": url}))
        .send()
        .await
        .expect("refused upload");
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);

    // Logs: every line is JSON; the request's lines and its job's carry its id. The job's
    // line is the last written: once it has been read, so have the others.
    assert!(
        server.saw_line(
            |l| l.contains("req-observe-1") && l.contains("asset processed"),
            Duration::from_secs(10)
        ),
        "the job's line arrives: {:#?}",
        server.logs()
    );
    let logs = server.logs();
    assert!(!logs.is_empty());
    for line in &logs {
        let parsed: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(parsed["level"].is_string(), "{line}");
    }
    let traced = lines_of(&logs, "req-observe-1");
    let said = |what: &str| traced.iter().any(|l| l["message"] == what);
    assert!(said("asset registered"), "the request's line: {traced:?}");
    assert!(said("asset processed"), "the job's line: {traced:?}");
    let job_line = traced
        .iter()
        .find(|l| l["message"] == "asset processed")
        .expect("job line");
    assert!(
        job_line["spans"]
            .as_array()
            .is_some_and(|s| s.iter().any(|s| s["name"] == "job")),
        "{job_line}"
    );

    // Metrics: admin key on the API's address; a tenant key is refused; the operator's
    // address needs none.
    let forbidden = http
        .get(format!("{base}/metrics"))
        .bearer_auth(&key)
        .send()
        .await
        .expect("metrics");
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    let scraped = http
        .get(format!("{base}/metrics"))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("metrics");
    assert_eq!(scraped.status(), StatusCode::OK);
    assert!(
        scraped.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("application/openmetrics-text")
    );
    let text = scraped.text().await.expect("text");
    let open = http
        .get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .send()
        .await
        .expect("metrics listener");
    assert_eq!(open.status(), StatusCode::OK);
    assert!(
        open.text()
            .await
            .expect("text")
            .contains("assetlib_uploads_total")
    );
    for wanted in [
        "assetlib_http_requests_total{route=\"/v1/assets\",method=\"POST\",status=\"201\"}",
        "assetlib_http_requests_total{route=\"/v1/assets/{asset_id}\",method=\"GET\",status=\"200\"}",
        "assetlib_http_request_duration_seconds_bucket{",
        "assetlib_uploads_total{type=\"Image\",outcome=\"accepted\"} 1",
        "assetlib_uploads_total{type=\"unknown\",outcome=\"invalid-asset-type\"} 1",
        "assetlib_stage_duration_seconds_count{stage=\"fetch\"} 1",
        "assetlib_stage_duration_seconds_count{stage=\"face_check\"} 1",
        "assetlib_time_to_settle_seconds_count{type=\"Image\",status=\"Active\"} 1",
        "assetlib_fetched_bytes_total ",
        "assetlib_job_queue_depth 0",
        "assetlib_job_queue_oldest_age_seconds ",
        "assetlib_db_connections ",
        "assetlib_content_cache_bytes ",
        "# EOF",
    ] {
        assert!(text.contains(wanted), "{wanted} in\n{text}");
    }
    assert!(!text.contains(&id), "no asset id is a label value");
}

/// The access-log lines (`target` `assetlib::access`).
fn access_lines(logs: &[String]) -> Vec<Value> {
    logs.iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|line| line["target"] == "assetlib::access")
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_leaves_an_access_line_and_refusals_warn_without_secrets() {
    let dir = tempfile::tempdir().expect("dir");
    let server = Serve::new(BIN, dir.path())
        .log("info,sqlx=warn")
        .env("ASSETLIB_LOG_FORMAT", "json")
        .start()
        .expect("the server starts");
    let admin = server.printed_key.clone().expect("a key");
    let http = client();
    let base = &server.base;
    let origin = Origin::start().await;
    let key = tenant_key(&http, base, &admin, "studio").await;

    // An accepted upload; a details call (its path has the id, its line the template).
    let url = origin.put("a.png", media::png(400, 400), "image/png");
    let asset: Value = http
        .post(format!("{base}/v1/assets"))
        .bearer_auth(&key)
        .header("x-request-id", "req-access-ok")
        .json(&json!({"assetType": "Image", "url": url}))
        .send()
        .await
        .expect("upload")
        .json()
        .await
        .expect("json");
    let id = asset["assetId"].as_str().expect("id").to_owned();
    wait_settled(&http, base, &key, &id).await;
    // Refusals: a bad type, a missing asset, a wrong key, a failed console sign-in.
    let wrong_key = "alk_this-secret-must-never-be-logged";
    let refusals = [
        http.post(format!("{base}/kyyReactApiServer/kyyVideo2/asset/upload"))
            .bearer_auth(&key)
            .header("x-request-id", "req-refused-type")
            .json(&json!({"assetType": "Picture", "url": url})),
        http.get(format!("{base}/v1/assets/asset-20200101000000-zzzzz"))
            .bearer_auth(&key)
            .header("x-request-id", "req-refused-missing"),
        http.get(format!("{base}/v1/assets"))
            .bearer_auth(wrong_key)
            .header("x-request-id", "req-refused-key"),
        http.post(format!("{base}/console/session"))
            .header("x-assetlib-console", "1")
            .header("x-request-id", "req-refused-console")
            .json(&json!({"key": wrong_key})),
    ];
    for request in refusals {
        let answer = request.send().await.expect("sent");
        assert!(answer.status().is_client_error(), "{}", answer.status());
    }

    // Each request's access line is written once it is answered: waited for.
    for request_id in [
        "req-access-ok",
        "req-refused-type",
        "req-refused-missing",
        "req-refused-key",
        "req-refused-console",
    ] {
        assert!(
            server.saw_line(
                |l| l.contains("assetlib::access") && l.contains(request_id),
                Duration::from_secs(10)
            ),
            "the access line of {request_id} arrives: {:#?}",
            server.logs()
        );
    }
    let logs = server.logs();
    for line in &logs {
        assert!(!line.contains(wrong_key), "a secret in the log: {line}");
        assert!(!line.contains(&key), "a key in the log: {line}");
    }
    let access = access_lines(&logs);
    let of = |request_id: &str| {
        access
            .iter()
            .find(|l| l["request_id"] == request_id)
            .unwrap_or_else(|| panic!("no access line of {request_id} in {access:?}"))
            .clone()
    };
    let ok = of("req-access-ok");
    assert_eq!(ok["level"], "INFO", "{ok}");
    assert_eq!(ok["method"], "POST", "{ok}");
    assert_eq!(ok["route"], "/v1/assets", "{ok}");
    assert_eq!(ok["status"], 201, "{ok}");
    assert_eq!(ok["tenant"], "studio", "{ok}");
    assert!(
        ok["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0),
        "{ok}"
    );
    let details = access
        .iter()
        .find(|l| l["route"] == "/v1/assets/{asset_id}" && l["status"] == 200)
        .unwrap_or_else(|| panic!("the details' line: {access:?}"));
    assert!(
        !details.to_string().contains(&id),
        "the template, not the id: {details}"
    );
    for (request_id, status, code, tenant) in [
        ("req-refused-type", 400, "invalid-asset-type", "studio"),
        ("req-refused-missing", 404, "not-found", "studio"),
        ("req-refused-key", 401, "unauthorized", "-"),
        ("req-refused-console", 401, "unauthorized", "-"),
    ] {
        let line = of(request_id);
        assert_eq!(line["level"], "WARN", "{line}");
        assert_eq!(line["status"], status, "{line}");
        assert_eq!(line["code"], code, "{line}");
        assert_eq!(line["tenant"], tenant, "{line}");
    }
    assert_eq!(of("req-refused-console")["route"], "/console/session");

    // The review backlog and the process's own figures are on /metrics.
    let text = http
        .get(format!("{base}/metrics"))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    for wanted in [
        "assetlib_review_backlog 0",
        "assetlib_review_backlog_oldest_age_seconds 0",
        "process_resident_memory_bytes ",
        "process_open_fds ",
        "process_cpu_seconds_total ",
    ] {
        assert!(text.contains(wanted), "{wanted} in\n{text}");
    }
    let figure = |name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} in\n{text}"))
    };
    assert!(figure("process_resident_memory_bytes") > 1e6);
    assert!(figure("process_open_fds") >= 3.0);
    assert!(figure("process_cpu_seconds_total") > 0.0);
}

/// A new tenant key, made by the admin over HTTP: its secret.
async fn tenant_key(http: &reqwest::Client, base: &str, admin: &str, tenant: &str) -> String {
    let created: Value = http
        .post(format!("{base}/v1/keys"))
        .bearer_auth(admin)
        .json(&json!({"tenant": tenant}))
        .send()
        .await
        .expect("create a key")
        .json()
        .await
        .expect("json");
    created["secret"].as_str().expect("secret").to_owned()
}
