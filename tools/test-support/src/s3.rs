//! Buckets on the S3-compatible test server: each test makes its own, with a request signed
//! (AWS Signature V4) by the key in the `AWS_*` variables, as a real store wants it. A mock may
//! take an anonymous `PUT /bucket`; Garage (the test cluster of `scripts/garage-cluster.sh`),
//! MinIO and AWS refuse it. On Garage the key needs the create-bucket permission, which the
//! script grants; the bucket then belongs to that key.

use std::fmt::Write;

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// The credentials and region a bucket is made with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key: String,
    pub secret_key: String,
    pub region: String,
}

impl Credentials {
    /// From `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_REGION` (`us-east-1` when
    /// unset), the variables the server's S3 blob store reads too.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Self {
            access_key: var("AWS_ACCESS_KEY_ID").unwrap_or_default(),
            secret_key: var("AWS_SECRET_ACCESS_KEY").unwrap_or_default(),
            region: var("AWS_REGION")
                .or_else(|| var("AWS_DEFAULT_REGION"))
                .unwrap_or_else(|| "us-east-1".to_owned()),
        }
    }
}

/// Creates `bucket` on the path-style S3 `endpoint` (`http://host:port`); an error names the
/// store's answer. The caller installs the TLS crypto provider first (as for any client).
pub async fn create_bucket(
    endpoint: &str,
    bucket: &str,
    credentials: &Credentials,
) -> anyhow::Result<()> {
    let endpoint = endpoint.trim_end_matches('/');
    let host = endpoint
        .split_once("://")
        .map_or(endpoint, |(_, rest)| rest)
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let path = format!("/{bucket}");
    let headers = sign_empty_put(&host, &path, credentials, chrono::Utc::now());
    let mut request = reqwest::Client::new().put(format!("{endpoint}{path}"));
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let response = request.send().await?;
    let status = response.status();
    if !status.is_success() {
        let body = response.text().await.unwrap_or_default();
        anyhow::bail!("create bucket {bucket} at {endpoint}: {status}: {body}");
    }
    Ok(())
}

/// The headers that sign an empty-bodied `PUT path` to `host` at `now` (AWS Signature V4,
/// service `s3`): `x-amz-date`, `x-amz-content-sha256` and `authorization`.
pub fn sign_empty_put(
    host: &str,
    path: &str,
    credentials: &Credentials,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<(&'static str, String)> {
    let amz_date = now.format("%Y%m%dT%H%M%SZ").to_string();
    let date = &amz_date[..8];
    let payload = hex(&Sha256::digest(b""));
    let signed_headers = "host;x-amz-content-sha256;x-amz-date";
    let canonical = format!(
        "PUT\n{path}\n\nhost:{host}\nx-amz-content-sha256:{payload}\nx-amz-date:{amz_date}\n\n\
         {signed_headers}\n{payload}"
    );
    let scope = format!("{date}/{}/s3/aws4_request", credentials.region);
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let mut key = hmac(
        format!("AWS4{}", credentials.secret_key).as_bytes(),
        date.as_bytes(),
    );
    for part in [credentials.region.as_str(), "s3", "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    let signature = hex(&hmac(&key, to_sign.as_bytes()));
    vec![
        ("x-amz-date", amz_date.clone()),
        ("x-amz-content-sha256", payload),
        (
            "authorization",
            format!(
                "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, \
                 Signature={signature}",
                credentials.access_key
            ),
        ),
    ]
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes a key of any length.
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(key) else {
        return Vec::new();
    };
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The signing steps checked against AWS's published example key derivation
    /// (`wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY`, 20120215, us-east-1, iam).
    #[test]
    fn the_signing_key_is_derived_as_aws_documents() {
        let mut key = hmac(b"AWS4wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", b"20120215");
        for part in ["us-east-1", "iam", "aws4_request"] {
            key = hmac(&key, part.as_bytes());
        }
        assert_eq!(
            hex(&key),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }

    #[test]
    fn a_put_is_signed_for_its_host_path_and_region() {
        let credentials = Credentials {
            access_key: "GKexample".into(),
            secret_key: "secret".into(),
            region: "garage".into(),
        };
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-07T01:02:03Z")
            .expect("date")
            .with_timezone(&chrono::Utc);
        let headers = sign_empty_put("127.0.0.1:39000", "/b", &credentials, now);
        let auth = &headers[2].1;
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=GKexample/20261207/garage/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature="),
            "{auth}"
        );
        assert_eq!(headers[0], ("x-amz-date", "20261207T010203Z".to_owned()));
        // Another path signs differently.
        let other = sign_empty_put("127.0.0.1:39000", "/c", &credentials, now);
        assert_ne!(other[2].1, headers[2].1);
    }
}
