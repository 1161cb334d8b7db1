//! Signed, expiring content URLs: what a generation task is handed in place of `asset://`.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::domain::codes;
use crate::domain::{AssetId, same_secret};
use crate::fetch::hex;
use crate::service::ServiceError;

/// Signs and checks content URLs: HMAC-SHA256 over `{assetId}\n{expiry}` with a server secret.
#[derive(Clone)]
pub struct ContentSigner {
    secret: Vec<u8>,
    ttl: Duration,
    base: String,
    /// Hand out the blob store's presigned URLs instead (S3-compatible stores).
    presign: bool,
}

impl std::fmt::Debug for ContentSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContentSigner")
            .field("ttl", &self.ttl)
            .field("base", &self.base)
            .field("presign", &self.presign)
            .finish()
    }
}

impl ContentSigner {
    pub fn new(secret: Vec<u8>, ttl: Duration, base: impl Into<String>) -> Self {
        Self {
            secret,
            ttl,
            base: base.into().trim_end_matches('/').to_owned(),
            presign: false,
        }
    }

    /// Resolve to the blob store's presigned URLs instead of this server's /content URLs.
    pub fn presigning(mut self, presign: bool) -> Self {
        self.presign = presign;
        self
    }

    /// Whether references resolve to the blob store's presigned URLs.
    pub fn presigns(&self) -> bool {
        self.presign
    }

    /// How long a handed-out URL stays valid.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Reads the secret at `path`, creating a random one (mode 0600) on first use.
    pub fn load_or_create_secret(path: &Path) -> std::io::Result<Vec<u8>> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        if let Ok(text) = std::fs::read_to_string(path) {
            return Ok(text.trim().as_bytes().to_vec());
        }
        let secret: [u8; 32] = rand::random();
        let text = hex(&secret);
        let mut file = std::fs::File::options()
            .create_new(true)
            .write(true)
            .mode(0o600)
            .open(path)?;
        writeln!(file, "{text}")?;
        Ok(text.into_bytes())
    }

    fn signature(&self, id: &str, expires: i64) -> String {
        // HMAC accepts keys of any length.
        let mut mac = match <Hmac<Sha256> as KeyInit>::new_from_slice(&self.secret) {
            Ok(mac) => mac,
            Err(_) => return String::new(),
        };
        mac.update(id.as_bytes());
        mac.update(b"\n");
        mac.update(expires.to_string().as_bytes());
        hex(&mac.finalize().into_bytes())
    }

    /// A URL for `id` valid until now + ttl.
    pub fn url(&self, id: &AssetId, now: DateTime<Utc>) -> String {
        let expires = now.timestamp() + i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX / 2);
        let sig = self.signature(id.as_str(), expires);
        format!("{}/content/{id}?exp={expires}&sig={sig}", self.base)
    }

    /// A URL of this node where the bytes of direct upload `upload` are sent (`PUT`), valid
    /// until now + ttl; and that expiry. Signed apart from content URLs (`upload:` + id).
    pub fn upload_url(&self, upload: &str, now: DateTime<Utc>) -> (String, DateTime<Utc>) {
        let expires = now.timestamp() + i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX / 2);
        let sig = self.signature(&format!("upload:{upload}"), expires);
        let at = DateTime::from_timestamp(expires, 0).unwrap_or(now);
        (
            format!("{}/uploads/{upload}?exp={expires}&sig={sig}", self.base),
            at,
        )
    }

    /// Checks the signature of an upload URL (`upload_url`).
    pub fn verify_upload(
        &self,
        upload: &str,
        expires: &str,
        sig: &str,
        now: DateTime<Utc>,
    ) -> Result<(), ServiceError> {
        self.verify(&format!("upload:{upload}"), expires, sig, now)
    }

    /// Checks a presented signature; expired or tampered answers `forbidden`.
    pub fn verify(
        &self,
        id: &str,
        expires: &str,
        sig: &str,
        now: DateTime<Utc>,
    ) -> Result<(), ServiceError> {
        let denied = |why: &str| ServiceError::client(&codes::FORBIDDEN, why.to_owned());
        let expires: i64 = expires
            .parse()
            .map_err(|_| denied("the content URL is not valid"))?;
        let expected = self.signature(id, expires);
        if !same_secret(&expected, sig) {
            return Err(denied("the content URL's signature is not valid"));
        }
        if now.timestamp() > expires {
            return Err(denied(
                "the content URL has expired; resolve the asset again for a new one",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_bind_id_and_expiry() {
        let signer = ContentSigner::new(b"secret".to_vec(), Duration::from_secs(60), "http://h/");
        let id = AssetId::parse("asset-20260101000000-abcde").expect("id");
        let now = Utc::now();
        let url = signer.url(&id, now);
        assert!(
            url.starts_with("http://h/content/asset-20260101000000-abcde?exp="),
            "{url}"
        );
        let query = url.split_once('?').expect("query").1;
        let mut exp = "";
        let mut sig = "";
        for pair in query.split('&') {
            match pair.split_once('=') {
                Some(("exp", v)) => exp = v,
                Some(("sig", v)) => sig = v,
                _ => {}
            }
        }
        assert!(signer.verify(id.as_str(), exp, sig, now).is_ok());
        assert!(
            signer
                .verify("asset-20260101000000-abcdf", exp, sig, now)
                .is_err()
        );
        let later: i64 = exp.parse::<i64>().expect("exp") + 1;
        assert!(
            signer
                .verify(id.as_str(), &later.to_string(), sig, now)
                .is_err()
        );
        assert!(
            signer
                .verify(id.as_str(), exp, &sig.replace('a', "b"), now)
                .is_err()
                || !sig.contains('a')
        );
        let future = now + chrono::Duration::seconds(61);
        assert!(
            signer.verify(id.as_str(), exp, sig, future).is_err(),
            "expired"
        );
        let other = ContentSigner::new(b"other".to_vec(), Duration::from_secs(60), "http://h");
        assert!(other.verify(id.as_str(), exp, sig, now).is_err());
    }
}
