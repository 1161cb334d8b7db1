//! A small W3C WebDriver client over chromedriver: enough to drive headless Chromium through
//! the web console (open a page, find, click, type, press keys, read, run a script, take a
//! screenshot). chromedriver runs as a child process on a free loopback port and is killed with
//! the driver.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use base64::Engine as _;
use serde_json::{Value, json};

use crate::opt_in::Browser;

/// The key of an element reference in WebDriver answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How long `find` waits for an element to appear.
pub const WAIT: Duration = Duration::from_secs(15);

/// A headless Chromium session.
pub struct Driver {
    chromedriver: Child,
    client: reqwest::Client,
    session: String,
}

/// An element of the page.
#[derive(Debug, Clone)]
pub struct Element {
    id: String,
}

impl Driver {
    /// Starts chromedriver and a headless Chromium at 1280×720.
    pub async fn start(browser: &Browser) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let chromedriver = Command::new(&browser.chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", browser.chromedriver.display()))?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?;
        let base = format!("http://127.0.0.1:{port}");
        let mut driver = Self {
            chromedriver,
            client,
            session: String::new(),
        };
        let started = Instant::now();
        loop {
            let ready = driver
                .client
                .get(format!("{base}/status"))
                .send()
                .await
                .is_ok();
            if ready {
                break;
            }
            if started.elapsed() > Duration::from_secs(20) {
                bail!("chromedriver did not start within 20 s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": browser.chromium.display().to_string(),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,720",
                         "--force-device-scale-factor=1"],
            },
        }}});
        let answer = driver
            .call("POST", &format!("{base}/session"), &capabilities)
            .await?;
        let session = answer["sessionId"]
            .as_str()
            .ok_or_else(|| anyhow!("no session id in {answer}"))?;
        driver.session = format!("{base}/session/{session}");
        Ok(driver)
    }

    async fn call(&self, method: &str, url: &str, body: &Value) -> anyhow::Result<Value> {
        let request = match method {
            "GET" => self.client.get(url),
            "DELETE" => self.client.delete(url),
            _ => self
                .client
                .post(url)
                .header("content-type", "application/json")
                .body(serde_json::to_vec(body)?),
        };
        let response = request
            .send()
            .await
            .with_context(|| format!("{method} {url}"))?;
        let status = response.status();
        let text = response.text().await?;
        let value: Value = serde_json::from_str(&text)
            .with_context(|| format!("{method} {url} answered {status}: {text}"))?;
        if !status.is_success() {
            bail!(
                "{method} {url}: {} ({})",
                value["value"]["error"],
                value["value"]["message"]
            );
        }
        Ok(value["value"].clone())
    }

    async fn session_call(&self, method: &str, path: &str, body: &Value) -> anyhow::Result<Value> {
        self.call(method, &format!("{}{path}", self.session), body)
            .await
    }

    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.session_call("POST", "/url", &json!({ "url": url }))
            .await
            .map(|_| ())
    }

    pub async fn set_window_size(&self, width: u32, height: u32) -> anyhow::Result<()> {
        self.session_call(
            "POST",
            "/window/rect",
            &json!({ "width": width, "height": height }),
        )
        .await
        .map(|_| ())
    }

    /// Makes the page's viewport (`innerWidth` × `innerHeight`) exactly `width` × `height`
    /// (Chromium's device metrics, through chromedriver's DevTools bridge): a phone when at
    /// most 500 px wide (its scrollbars overlay the page, as on a phone).
    pub async fn set_viewport_size(&self, width: u32, height: u32) -> anyhow::Result<()> {
        self.set_window_size(width.max(500), height + 200).await?;
        self.session_call(
            "POST",
            "/goog/cdp/execute",
            &json!({"cmd": "Emulation.setDeviceMetricsOverride", "params": {
                "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width <= 500,
            }}),
        )
        .await
        .map(|_| ())
    }

    /// The elements matching a CSS selector now.
    pub async fn find_all(&self, css: &str) -> anyhow::Result<Vec<Element>> {
        let found = self
            .session_call(
                "POST",
                "/elements",
                &json!({ "using": "css selector", "value": css }),
            )
            .await?;
        Ok(found
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e[ELEMENT].as_str())
            .map(|id| Element { id: id.to_owned() })
            .collect())
    }

    /// The first element matching a CSS selector that is displayed, waiting up to `WAIT`.
    pub async fn find(&self, css: &str) -> anyhow::Result<Element> {
        self.wait_for(css, WAIT).await
    }

    pub async fn wait_for(&self, css: &str, timeout: Duration) -> anyhow::Result<Element> {
        let started = Instant::now();
        loop {
            for element in self.find_all(css).await? {
                if self.displayed(&element).await.unwrap_or(false) {
                    return Ok(element);
                }
            }
            if started.elapsed() > timeout {
                bail!("no visible element matches {css} after {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until `script` (a function body returning a value) returns something truthy.
    pub async fn wait_until(&self, script: &str, timeout: Duration) -> anyhow::Result<Value> {
        let started = Instant::now();
        loop {
            let value = self.execute(script, vec![]).await?;
            let truthy = match &value {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::String(s) => !s.is_empty(),
                Value::Array(a) => !a.is_empty(),
                _ => true,
            };
            if truthy {
                return Ok(value);
            }
            if started.elapsed() > timeout {
                bail!("still false after {timeout:?}: {script}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn displayed(&self, element: &Element) -> anyhow::Result<bool> {
        let shown = self
            .session_call(
                "GET",
                &format!("/element/{}/displayed", element.id),
                &Value::Null,
            )
            .await?;
        Ok(shown.as_bool().unwrap_or(false))
    }

    pub async fn click(&self, element: &Element) -> anyhow::Result<()> {
        self.session_call(
            "POST",
            &format!("/element/{}/click", element.id),
            &json!({}),
        )
        .await
        .map(|_| ())
    }

    /// Types `text` into an element (after clearing it).
    pub async fn type_into(&self, element: &Element, text: &str) -> anyhow::Result<()> {
        self.session_call(
            "POST",
            &format!("/element/{}/clear", element.id),
            &json!({}),
        )
        .await?;
        self.session_call(
            "POST",
            &format!("/element/{}/value", element.id),
            &json!({ "text": text }),
        )
        .await
        .map(|_| ())
    }

    pub async fn text(&self, element: &Element) -> anyhow::Result<String> {
        let text = self
            .session_call(
                "GET",
                &format!("/element/{}/text", element.id),
                &Value::Null,
            )
            .await?;
        Ok(text.as_str().unwrap_or_default().to_owned())
    }

    /// Presses and releases one key (e.g. `"a"`) on whatever has the focus.
    pub async fn press(&self, key: &str) -> anyhow::Result<()> {
        let actions = json!({"actions": [{"type": "key", "id": "keyboard", "actions": [
            {"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}]}]});
        self.session_call("POST", "/actions", &actions)
            .await
            .map(|_| ())
    }

    /// Runs a script (a function body; `arguments` holds `args`) and returns its value.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> anyhow::Result<Value> {
        self.session_call(
            "POST",
            "/execute/sync",
            &json!({ "script": script, "args": args }),
        )
        .await
    }

    /// Runs an asynchronous script (a function body whose last argument is the callback that
    /// ends it) and returns the value passed to the callback.
    pub async fn execute_async(&self, script: &str, args: Vec<Value>) -> anyhow::Result<Value> {
        self.session_call(
            "POST",
            "/execute/async",
            &json!({ "script": script, "args": args }),
        )
        .await
    }

    /// A PNG of the viewport.
    pub async fn screenshot(&self) -> anyhow::Result<Vec<u8>> {
        let encoded = self
            .session_call("GET", "/screenshot", &Value::Null)
            .await?;
        let encoded = encoded
            .as_str()
            .ok_or_else(|| anyhow!("no screenshot in the answer"))?;
        Ok(base64::engine::general_purpose::STANDARD.decode(encoded)?)
    }

    /// Ends the session and chromedriver.
    pub async fn quit(mut self) {
        let _ = self.session_call("DELETE", "", &Value::Null).await;
        let _ = self.chromedriver.kill();
        let _ = self.chromedriver.wait();
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.chromedriver.kill();
    }
}
