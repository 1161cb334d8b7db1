//! `attacks`: the holes an adversarial run from outside found, attacked again against the
//! server binary on loopback, each with the figure that says whether it held. The racing calls
//! start together behind a barrier, as they did then. Prints one table; fails if any hole is
//! open (docs/RELIABILITY.md).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use assetlib_test_support::{Origin, Proc, Serve};
use base64::Engine as _;
use serde_json::{Value, json};
use tokio::sync::Barrier;

use crate::mix;

/// One attack and what it found.
pub struct Finding {
    pub attack: &'static str,
    pub held: bool,
    pub figure: String,
}

/// A running server with its keys.
struct Node {
    proc: Proc,
    base: String,
    data: PathBuf,
    bin: PathBuf,
}

impl Node {
    fn start(bin: &Path, work: &Path, name: &str, args: &[&str]) -> anyhow::Result<Self> {
        let data = work.join(format!("attacks-{name}-{}", std::process::id()));
        let proc = Serve::new(bin, &data)
            .args(args.iter().copied())
            .start()
            .with_context(|| format!("starting the server for {name}"))?;
        let base = proc.base.clone();
        Ok(Self {
            proc,
            base,
            data,
            bin: bin.to_path_buf(),
        })
    }

    /// A new key of `tenant` with `role`; the secret.
    fn key(&self, tenant: &str, role: &str) -> anyhow::Result<String> {
        let data = self.data.display().to_string();
        let (code, out) = assetlib_test_support::run(
            &self.bin,
            &[
                "keys",
                "create",
                "--tenant",
                tenant,
                "--role",
                role,
                "--data-dir",
                &data,
            ],
        )?;
        let key = out.lines().last().unwrap_or_default().trim().to_owned();
        anyhow::ensure!(code == 0 && !key.is_empty(), "keys create: {out}");
        Ok(key)
    }

    /// A new access key pair of `tenant` for the Volcengine face: (id, secret).
    fn volc_key(&self, tenant: &str) -> anyhow::Result<(String, String)> {
        let data = self.data.display().to_string();
        let (code, out) = assetlib_test_support::run(
            &self.bin,
            &[
                "keys",
                "create",
                "--tenant",
                tenant,
                "--volc",
                "--data-dir",
                &data,
            ],
        )?;
        anyhow::ensure!(code == 0, "keys create --volc: {out}");
        let mut id = None;
        let mut secret = None;
        for line in out.lines() {
            let line = line.trim();
            if let Some(rest) = line.strip_prefix("AccessKeyId") {
                id = Some(rest.trim_start_matches([':', ' ', '=']).trim().to_owned());
            }
            if let Some(rest) = line.strip_prefix("SecretAccessKey") {
                secret = Some(rest.trim_start_matches([':', ' ', '=']).trim().to_owned());
            }
        }
        match (id, secret) {
            (Some(id), Some(secret)) => Ok((id, secret)),
            _ => bail!("keys create --volc printed no key pair: {out}"),
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.proc.terminate(Duration::from_secs(20));
    }
}

/// `(status, JSON body)` of a request (`Null` for an empty or non-JSON body).
async fn send(request: reqwest::RequestBuilder) -> anyhow::Result<(u16, Value)> {
    let response = request.send().await.context("sending a request")?;
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

/// Sends every request at once: each waits at a barrier until all are ready to go, as racing
/// clients would. Their answers, in order.
async fn together(requests: Vec<reqwest::RequestBuilder>) -> anyhow::Result<Vec<(u16, Value)>> {
    let barrier = Arc::new(Barrier::new(requests.len()));
    let calls: Vec<_> = requests
        .into_iter()
        .map(|request| {
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                barrier.wait().await;
                send(request).await
            })
        })
        .collect();
    let mut answers = Vec::new();
    for call in calls {
        answers.push(call.await??);
    }
    Ok(answers)
}

/// Sets `tenant`'s quota to `quota` with an admin key of `node`.
async fn set_quota(
    http: &reqwest::Client,
    node: &Node,
    admin: &str,
    tenant: &str,
    quota: Value,
) -> anyhow::Result<()> {
    let (status, set) = send(
        http.put(format!("{}/v1/tenants/{tenant}/quota", node.base))
            .bearer_auth(admin)
            .json(&quota),
    )
    .await?;
    anyhow::ensure!(status == 200, "setting a quota: {status} {set}");
    Ok(())
}

/// Every asset id of the tenant of `key`, through the v1 list.
async fn asset_ids(http: &reqwest::Client, base: &str, key: &str) -> anyhow::Result<Vec<String>> {
    let mut ids = Vec::new();
    let mut cursor = String::new();
    loop {
        let url = format!("{base}/v1/assets?limit=100&cursor={cursor}");
        let (status, body) = send(http.get(url).bearer_auth(key)).await?;
        anyhow::ensure!(status == 200, "listing assets: {status} {body}");
        for item in body["items"].as_array().into_iter().flatten() {
            ids.push(item["assetId"].as_str().unwrap_or_default().to_owned());
        }
        match body["nextCursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => return Ok(ids),
        }
    }
}

/// Runs every attack; `Ok(true)` when every hole held.
pub async fn run(bin: &Path, work: &Path) -> anyhow::Result<bool> {
    let http = mix::client()?;
    let origin = Origin::try_start().await.context("starting the origin")?;
    let node = Node::start(bin, work, "main", &[])?;
    let mut findings = Vec::new();
    let mut found = |finding: Finding| {
        eprintln!(
            "{}: {} ({})",
            finding.attack,
            if finding.held { "held" } else { "OPEN" },
            finding.figure
        );
        findings.push(finding);
    };
    found(direct_completions(&http, &node).await?);
    found(tus_completions(&http, &node).await?);
    found(quota_race(&http, &node, &origin).await?);
    found(open_uploads(&http, &node).await?);
    found(volc_replay(&http, &node, &origin).await?);
    found(sign_out(&http, &node).await?);
    found(security_headers(&http, &node, &origin).await?);
    found(unparseable(&node).await?);
    found(delivery_ids(&http, &node, &origin).await?);
    drop(node);
    let slow = Node::start(bin, work, "slow", &["--write-timeout-secs", "2"])?;
    found(slow_readers(&http, &slow, &origin).await?);
    drop(slow);
    let short_lock = Node::start(bin, work, "lock", &["--idempotency-lock-secs", "1"])?;
    found(idempotency_lapse(&http, &short_lock, &origin).await?);
    drop(short_lock);

    println!("| attack | held | figure |\n|---|---|---|");
    for f in &findings {
        println!(
            "| {} | {} | {} |",
            f.attack,
            if f.held { "yes" } else { "**NO**" },
            f.figure
        );
    }
    let open = findings.iter().filter(|f| !f.held).count();
    println!(
        "\n{} attacks, {} held, {open} open",
        findings.len(),
        findings.len() - open
    );
    Ok(open == 0)
}

/// 8 `complete` calls of one direct upload at once: one asset.
async fn direct_completions(http: &reqwest::Client, node: &Node) -> anyhow::Result<Finding> {
    let key = node.key("completer", "tenant")?;
    let file = mix::png(410, 400)?;
    let (status, created) = send(
        http.post(format!("{}/v1/uploads", node.base))
            .bearer_auth(&key)
            .json(&json!({"assetType": "Image", "length": file.len()})),
    )
    .await?;
    anyhow::ensure!(
        status == 201,
        "creating a direct upload: {status} {created}"
    );
    let url = created["url"].as_str().unwrap_or_default().to_owned();
    let put = http.put(url).body(file).send().await?;
    anyhow::ensure!(put.status().is_success(), "PUT: {}", put.status());
    let complete = format!(
        "{}{}",
        node.base,
        created["completeUrl"].as_str().unwrap_or_default()
    );
    let requests = (0..8)
        .map(|_| http.post(&complete).bearer_auth(&key).json(&json!({})))
        .collect();
    let statuses: Vec<u16> = together(requests)
        .await?
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    let assets = asset_ids(http, &node.base, &key).await?.len();
    Ok(Finding {
        attack: "8 concurrent completions of one direct upload",
        held: assets == 1 && statuses.iter().all(|s| matches!(s, 201 | 409)),
        figure: format!("{assets} asset(s); answers {statuses:?}"),
    })
}

/// The last tus `PATCH` raced by 7 empty ones at the end: one asset.
async fn tus_completions(http: &reqwest::Client, node: &Node) -> anyhow::Result<Finding> {
    let key = node.key("patcher", "tenant")?;
    let file = mix::png(412, 400)?;
    let meta = format!(
        "assetType {}",
        base64::engine::general_purpose::STANDARD.encode("Image")
    );
    let created = http
        .post(format!("{}/v1/uploads/tus", node.base))
        .bearer_auth(&key)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", file.len().to_string())
        .header("Upload-Metadata", meta)
        .send()
        .await?;
    anyhow::ensure!(created.status() == 201, "tus create: {}", created.status());
    let location = format!(
        "{}{}",
        node.base,
        created
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    );
    let patch = |offset: usize, bytes: Vec<u8>| {
        http.patch(location.clone())
            .bearer_auth(&key)
            .header("Tus-Resumable", "1.0.0")
            .header("Content-Type", "application/offset+octet-stream")
            .header("Upload-Offset", offset.to_string())
            .body(bytes)
    };
    let first = patch(0, file[..file.len() - 1].to_vec()).send().await?;
    anyhow::ensure!(first.status() == 204, "first PATCH: {}", first.status());
    let length = file.len();
    let mut requests = vec![patch(length - 1, file[length - 1..].to_vec())];
    requests.extend((1..8).map(|_| patch(length, Vec::new())));
    let statuses: Vec<u16> = together(requests)
        .await?
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    let assets = asset_ids(http, &node.base, &key).await?.len();
    Ok(Finding {
        attack: "the last tus PATCH raced by 7 empty PATCHes",
        held: assets == 1 && !statuses.iter().any(|s| *s >= 500),
        figure: format!("{assets} asset(s); answers {statuses:?}"),
    })
}

/// 30 uploads at once against `maxAssets=5`: at most 5.
async fn quota_race(
    http: &reqwest::Client,
    node: &Node,
    origin: &Origin,
) -> anyhow::Result<Finding> {
    let admin = node.key("ops", "admin")?;
    let key = node.key("racer", "tenant")?;
    set_quota(http, node, &admin, "racer", json!({"maxAssets": 5})).await?;
    let url = origin.put("race.png", mix::png(400, 400)?, "image/png");
    let requests = (0..30)
        .map(|i| {
            http.post(format!("{}/v1/assets", node.base))
                .bearer_auth(&key)
                .json(&json!({"assetType": "Image", "url": format!("{url}?v={i}")}))
        })
        .collect();
    let created = together(requests)
        .await?
        .iter()
        .filter(|(status, _)| *status == 201)
        .count();
    let assets = asset_ids(http, &node.base, &key).await?.len();
    Ok(Finding {
        attack: "30 concurrent uploads against maxAssets=5",
        held: created <= 5 && assets <= 5,
        figure: format!("{created} created, {assets} listed"),
    })
}

/// Open uploads against `maxBytes` = 10 MiB: at most 10 MiB reserved, and shown.
async fn open_uploads(http: &reqwest::Client, node: &Node) -> anyhow::Result<Finding> {
    const MIB: u64 = 1024 * 1024;
    let admin = node.key("ops2", "admin")?;
    let key = node.key("reserver", "tenant")?;
    set_quota(
        http,
        node,
        &admin,
        "reserver",
        json!({"maxBytes": 10 * MIB}),
    )
    .await?;
    let meta = format!(
        "assetType {}",
        base64::engine::general_purpose::STANDARD.encode("Video")
    );
    let mut accepted = 0u64;
    for i in 0..20 {
        let ok = if i % 2 == 0 {
            http.post(format!("{}/v1/uploads/tus", node.base))
                .bearer_auth(&key)
                .header("Tus-Resumable", "1.0.0")
                .header("Upload-Length", (4 * MIB).to_string())
                .header("Upload-Metadata", meta.clone())
                .send()
                .await?
                .status()
                == 201
        } else {
            send(
                http.post(format!("{}/v1/uploads", node.base))
                    .bearer_auth(&key)
                    .json(&json!({"assetType": "Video", "length": 4 * MIB})),
            )
            .await?
            .0 == 201
        };
        accepted += u64::from(ok);
    }
    let (_, usage) = send(
        http.get(format!("{}/v1/usage", node.base))
            .bearer_auth(&key),
    )
    .await?;
    let reserved = usage["bytes"]["reserved"].as_u64().unwrap_or(0);
    Ok(Finding {
        attack: "open tus and direct uploads against maxBytes=10 MiB",
        held: accepted * 4 <= 10 && reserved == accepted * 4 * MIB,
        figure: format!(
            "{accepted} of 20 uploads of 4 MiB accepted; /v1/usage: {} MiB reserved",
            reserved / MIB
        ),
    })
}

/// One signed `CreateAssetGroup` and one signed `CreateAsset`, each sent 4 times: one each.
async fn volc_replay(
    http: &reqwest::Client,
    node: &Node,
    origin: &Origin,
) -> anyhow::Result<Finding> {
    use assetlib::http::volc::sign::{self, Signable};
    let (ak, sk) = node.volc_key("signer")?;
    let at = chrono::Utc::now();
    let signed = |action: &str, body: &Value| {
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        let hash = sign::hex_sha256(&bytes);
        let x_date = at.format("%Y%m%dT%H%M%SZ").to_string();
        let query = vec![
            ("Action".to_owned(), action.to_owned()),
            ("Version".to_owned(), "2024-01-01".to_owned()),
        ];
        let host = node.base.trim_start_matches("http://").to_owned();
        let headers = vec![
            ("content-type".to_owned(), "application/json".to_owned()),
            ("host".to_owned(), host),
            ("x-content-sha256".to_owned(), hash.clone()),
            ("x-date".to_owned(), x_date.clone()),
        ];
        let signature = sign::signature(
            &sk,
            &x_date,
            "cn-beijing",
            "ark",
            &Signable {
                method: "POST",
                path: "/",
                query: &query,
                headers: &headers,
                body_sha256: &hash,
            },
        );
        let authorization = format!(
            "HMAC-SHA256 Credential={ak}/{}/cn-beijing/ark/request, SignedHeaders=content-type;host;x-content-sha256;x-date, Signature={signature}",
            &x_date[..8]
        );
        http.post(format!("{}/?Action={action}&Version=2024-01-01", node.base))
            .header("content-type", "application/json")
            .header("x-content-sha256", hash)
            .header("x-date", x_date)
            .header("authorization", authorization)
            .body(bytes)
    };
    let group_body = json!({"Name": "Replayed"});
    let mut groups = Vec::new();
    for _ in 0..4 {
        let (status, answer) = send(signed("CreateAssetGroup", &group_body)).await?;
        anyhow::ensure!(status == 200, "CreateAssetGroup: {status} {answer}");
        groups.push(
            answer["Result"]["Id"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    groups.dedup();
    let url = origin.put("signed.png", mix::png(400, 400)?, "image/png");
    let body = json!({"GroupId": groups[0], "URL": url, "AssetType": "Image"});
    let mut assets = Vec::new();
    for _ in 0..4 {
        let (status, answer) = send(signed("CreateAsset", &body)).await?;
        anyhow::ensure!(status == 200, "CreateAsset: {status} {answer}");
        assets.push(
            answer["Result"]["Id"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    assets.dedup();
    Ok(Finding {
        attack: "a signed CreateAssetGroup and CreateAsset, each replayed 3 times",
        held: groups.len() == 1 && assets.len() == 1,
        figure: format!("{} group(s), {} asset(s)", groups.len(), assets.len()),
    })
}

/// An import outlasting the claim's lock (1 s here), retried after it: one asset.
async fn idempotency_lapse(
    http: &reqwest::Client,
    node: &Node,
    origin: &Origin,
) -> anyhow::Result<Finding> {
    let key = node.key("retrier", "tenant")?;
    origin.put("slow.png", mix::png(400, 400)?, "image/png");
    let url = format!("{}/delayed/2500/slow.png", origin.base);
    let call = || {
        http.post(format!("{}/v1/assets", node.base))
            .bearer_auth(&key)
            .header("Idempotency-Key", "long-import")
            .json(&json!({"assetType": "Image", "url": url}))
    };
    let started = Instant::now();
    let first = send(call());
    let retry = async {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        send(call()).await
    };
    let (first, retry) = tokio::join!(first, retry);
    let ((first_status, first), (retry_status, retried)) = (first?, retry?);
    let assets = asset_ids(http, &node.base, &key).await?.len();
    Ok(Finding {
        attack: "an import longer than the Idempotency-Key's lock, retried after it",
        held: assets == 1 && first_status == 201 && retry_status == 201 && first == retried,
        figure: format!(
            "{assets} asset(s) in {:.1} s; retry answered {retry_status}",
            started.elapsed().as_secs_f64()
        ),
    })
}

/// A console session used again after its sign-out: refused.
async fn sign_out(http: &reqwest::Client, node: &Node) -> anyhow::Result<Finding> {
    let key = node.key("console", "tenant")?;
    let session = format!("{}/console/session", node.base);
    let signed_in = http
        .post(&session)
        .header("x-assetlib-console", "1")
        .json(&json!({"key": key}))
        .send()
        .await?;
    anyhow::ensure!(
        signed_in.status().is_success(),
        "sign-in: {}",
        signed_in.status()
    );
    let cookie = signed_in
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.split(';').next())
        .unwrap_or_default()
        .to_owned();
    let with_cookie = |request: reqwest::RequestBuilder| {
        request
            .header("cookie", cookie.clone())
            .header("x-assetlib-console", "1")
    };
    let before = with_cookie(http.get(format!("{}/v1/assets", node.base)))
        .send()
        .await?
        .status()
        .as_u16();
    let out = with_cookie(http.delete(&session))
        .send()
        .await?
        .status()
        .as_u16();
    let after = with_cookie(http.get(format!("{}/v1/assets", node.base)))
        .send()
        .await?
        .status()
        .as_u16();
    Ok(Finding {
        attack: "a console session's cookie replayed after sign-out",
        held: before == 200 && after == 401,
        figure: format!("before {before}, sign-out {out}, after {after}"),
    })
}

/// The console page and a stored document as content: the headers that keep them from being
/// framed, sniffed or run.
async fn security_headers(
    http: &reqwest::Client,
    node: &Node,
    origin: &Origin,
) -> anyhow::Result<Finding> {
    let console = http.get(format!("{}/console", node.base)).send().await?;
    let h = console.headers();
    let has = |name: &str| h.contains_key(name);
    let console_ok = has("content-security-policy")
        && has("x-frame-options")
        && h.get("x-content-type-options")
            .is_some_and(|v| v == "nosniff");
    let key = node.key("headers", "tenant")?;
    let url = origin.put("page.txt", "<script>alert(1)</script>", "text/plain");
    let (status, created) = send(
        http.post(format!("{}/v1/assets", node.base))
            .bearer_auth(&key)
            .json(&json!({"assetType": "Document", "url": url})),
    )
    .await?;
    anyhow::ensure!(status == 201, "uploading a document: {status} {created}");
    let id = created["assetId"].as_str().unwrap_or_default().to_owned();
    let mut content_ok = false;
    for _ in 0..100 {
        let answer = http
            .get(format!("{}/v1/assets/{id}/content", node.base))
            .bearer_auth(&key)
            .send()
            .await?;
        if answer.status() == 200 {
            let h = answer.headers();
            content_ok = h
                .get("x-content-type-options")
                .is_some_and(|v| v == "nosniff")
                && h.get("content-disposition")
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.starts_with("attachment"));
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(Finding {
        attack: "the console framed or sniffed; a stored script served as a page",
        held: console_ok && content_ok,
        figure: format!(
            "console headers {console_ok}, document as a sandboxed attachment {content_ok}"
        ),
    })
}

/// Requests hyper cannot parse: answered in the envelope.
async fn unparseable(node: &Node) -> anyhow::Result<Finding> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = node.base.trim_start_matches("http://").to_owned();
    let mut enveloped = 0;
    let payloads: [&[u8]; 3] = [
        b"GARBAGE\xff LINE\r\n\r\n",
        b"GET /\xff HTTP/1.1\r\nHost: x\r\n\r\n",
        b"\xff\xff\xff\r\n\r\n",
    ];
    for payload in payloads {
        let mut socket = tokio::net::TcpStream::connect(&addr).await?;
        socket.write_all(payload).await?;
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), socket.read_to_end(&mut answer)).await;
        let answer = String::from_utf8_lossy(&answer);
        if answer.contains("\"code\":\"invalid-request\"") {
            enveloped += 1;
        }
    }
    Ok(Finding {
        attack: "a malformed request line and raw 0xFF bytes",
        held: enveloped == payloads.len(),
        figure: format!("{enveloped} of {} answered in the envelope", payloads.len()),
    })
}

/// A webhook's delivery ids: opaque, not a counter shared by every tenant.
async fn delivery_ids(
    http: &reqwest::Client,
    node: &Node,
    origin: &Origin,
) -> anyhow::Result<Finding> {
    let key = node.key("hooked", "tenant")?;
    // An endpoint that takes every delivery: the origin answers 404 to a POST, which is
    // recorded as an attempt all the same.
    let (status, hook) = send(
        http.post(format!("{}/v1/webhooks", node.base))
            .bearer_auth(&key)
            .json(&json!({"url": format!("{}/hook", origin.base)})),
    )
    .await?;
    anyhow::ensure!(status == 201, "registering a webhook: {status} {hook}");
    let hook_id = hook["webhookId"].as_str().unwrap_or_default().to_owned();
    let url = origin.put("hooked.png", mix::png(400, 400)?, "image/png");
    let (status, created) = send(
        http.post(format!("{}/v1/assets", node.base))
            .bearer_auth(&key)
            .json(&json!({"assetType": "Image", "url": url})),
    )
    .await?;
    anyhow::ensure!(status == 201, "uploading: {status} {created}");
    let mut ids = Vec::new();
    for _ in 0..100 {
        let (_, listed) = send(
            http.get(format!("{}/v1/webhooks/{hook_id}/deliveries", node.base))
                .bearer_auth(&key),
        )
        .await?;
        ids = listed["items"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| d["deliveryId"].to_string())
            .collect();
        if !ids.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let opaque = !ids.is_empty()
        && ids
            .iter()
            .all(|id| id.trim_matches('"').starts_with("dlv-"));
    Ok(Finding {
        attack: "webhook delivery ids guessed from a global counter",
        held: opaque,
        figure: format!("ids {}", ids.join(", ")),
    })
}

/// 120 sockets asking for one large asset through its signed URL and never reading, against
/// another client's requests (the write clock 2 s here).
async fn slow_readers(
    http: &reqwest::Client,
    node: &Node,
    origin: &Origin,
) -> anyhow::Result<Finding> {
    use tokio::io::AsyncWriteExt;
    let key = node.key("slow", "tenant")?;
    let big = mix::png(3000, 3000)?;
    let url = origin.put("big.png", big, "image/png");
    let (status, created) = send(
        http.post(format!("{}/v1/assets", node.base))
            .bearer_auth(&key)
            .json(&json!({"assetType": "Image", "url": url})),
    )
    .await?;
    anyhow::ensure!(status == 201, "uploading: {status} {created}");
    let id = created["assetId"].as_str().unwrap_or_default().to_owned();
    let mut signed = None;
    for _ in 0..200 {
        let (_, details) = send(
            http.get(format!("{}/v1/assets/{id}", node.base))
                .bearer_auth(&key),
        )
        .await?;
        if details["status"] == "Active" {
            // The signed URL a generation task would read, as the Volcengine face gives it.
            let (_, got) = send(
                http.post(format!("{}/?Action=GetAsset&Version=2024-01-01", node.base))
                    .bearer_auth(&key)
                    .json(&json!({"Id": id})),
            )
            .await?;
            signed = got["Result"]["URL"].as_str().map(str::to_owned);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let Some(signed) = signed else {
        bail!("the large asset did not become Active with a signed URL");
    };
    let addr = node.base.trim_start_matches("http://").to_owned();
    let path = signed
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('/'))
        .map(|(_, p)| format!("/{p}"))
        .unwrap_or_default();
    let mut stalled = Vec::new();
    for _ in 0..120 {
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.set_recv_buffer_size(4096)?;
        let Ok(mut stream) = socket.connect(addr.parse()?).await else {
            continue;
        };
        let _ = stream
            .write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
            .await;
        stalled.push(stream);
    }
    let mut served = 0;
    let mut worst = Duration::ZERO;
    for _ in 0..20 {
        let started = Instant::now();
        let ok = http
            .get(format!("{}/healthz", node.base))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200);
        worst = worst.max(started.elapsed());
        served += usize::from(ok);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(stalled);
    Ok(Finding {
        attack: "120 sockets that ask for a large asset and never read",
        held: served == 20,
        figure: format!(
            "another client served {served} of 20 times meanwhile, slowest {} ms",
            worst.as_millis()
        ),
    })
}
