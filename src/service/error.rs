use std::fmt;

use crate::domain::codes::{self, Code};

/// When a client is told to come back after the blob store failed a request.
const BLOB_RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(5);

/// A use case's failure: the caller's fault (with a stable code from `domain::codes` and a
/// sentence they can act on), a service we depend on that failed (the caller may retry), or
/// ours. The HTTP faces map codes to bodies in `http::error`.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{message}")]
    Client {
        code: &'static Code,
        message: String,
    },
    /// The metadata database or the upstream generation service is down or failing: nothing
    /// was done, and the same request may succeed later.
    #[error("{message}")]
    Dependency {
        code: &'static Code,
        message: String,
    },
    /// Refused for now to keep the server responsive (too many uploads in flight, a full
    /// queue): the same request may be sent again after `retry_after`.
    #[error("{message}")]
    Busy {
        code: &'static Code,
        message: String,
        retry_after: std::time::Duration,
    },
    /// Logged with its context; clients only see a generic sentence.
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

impl ServiceError {
    /// A refusal with `code`, which must be one a request can be refused with.
    pub fn client(code: &'static Code, message: impl fmt::Display) -> Self {
        debug_assert!(code.refusal.is_some(), "{code} is not a refusal code");
        ServiceError::Client {
            code,
            message: message.to_string(),
        }
    }

    /// The metadata database cannot be reached.
    pub fn unavailable(message: impl fmt::Display) -> Self {
        ServiceError::Dependency {
            code: &codes::UNAVAILABLE,
            message: message.to_string(),
        }
    }

    /// The upstream generation service could not be reached.
    pub fn upstream(message: impl fmt::Display) -> Self {
        ServiceError::Dependency {
            code: &codes::UPSTREAM_ERROR,
            message: message.to_string(),
        }
    }

    /// Refused under load; answered with `Retry-After`.
    pub fn busy(
        code: &'static Code,
        message: impl fmt::Display,
        retry_after: std::time::Duration,
    ) -> Self {
        ServiceError::Busy {
            code,
            message: message.to_string(),
            retry_after,
        }
    }

    pub fn invalid(message: impl fmt::Display) -> Self {
        Self::client(&codes::INVALID_REQUEST, message)
    }

    pub fn not_found() -> Self {
        Self::client(&codes::NOT_FOUND, "asset not found")
    }

    /// Our failure, logged with `context`. A database that cannot be reached is not a bug:
    /// it becomes `unavailable` (503), which clients may retry, and so does a blob store that
    /// cannot be reached or fails on its side (with `Retry-After`); nor is a full disk: a write
    /// that failed with ENOSPC (or a disk quota) anywhere in `error`'s chain becomes
    /// `insufficient-storage` (507).
    pub fn internal(context: &str, error: impl Into<anyhow::Error>) -> Self {
        let error = error.into();
        if error.downcast_ref::<crate::blob::BlobError>().is_some() {
            crate::metrics::METRICS.blob_errors.inc();
        }
        if let Some(repo) = error.downcast_ref::<crate::repo::RepoError>()
            && repo.is_unavailable()
        {
            tracing::warn!(error = %repo, "{context}: database unavailable");
            return Self::unavailable("the metadata database is unavailable; try again shortly");
        }
        if error
            .chain()
            .filter_map(|cause| cause.downcast_ref::<crate::blob::BlobError>())
            .any(crate::blob::BlobError::is_unavailable)
        {
            tracing::warn!(error = %format!("{error:#}"), "{context}: blob store unavailable");
            return Self::busy(
                &codes::UNAVAILABLE,
                "the blob store is unavailable; try again shortly",
                BLOB_RETRY_AFTER,
            );
        }
        if storage_full(&error) {
            tracing::warn!(error = %format!("{error:#}"), "{context}: no space left");
            return ServiceError::Dependency {
                code: &codes::INSUFFICIENT_STORAGE,
                message: "no space left on the server's storage; the request was not \
                          completed (nothing was created); retry later"
                    .to_owned(),
            };
        }
        ServiceError::Internal(error.context(context.to_owned()))
    }

    /// The stable code: the client's, or `internal`.
    pub fn code(&self) -> &'static Code {
        match self {
            ServiceError::Client { code, .. }
            | ServiceError::Dependency { code, .. }
            | ServiceError::Busy { code, .. } => code,
            ServiceError::Internal(_) => &codes::INTERNAL,
        }
    }
}

/// Whether a write in `error`'s chain failed for want of space: an I/O error of kind
/// `StorageFull` (ENOSPC) or `QuotaExceeded` (EDQUOT), directly, inside a blob store error, or
/// as a spool's `LocalIo`.
pub(crate) fn storage_full(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        let io_full = |kind: std::io::ErrorKind| {
            matches!(
                kind,
                std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
            )
        };
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return io_full(io.kind());
        }
        if let Some(fetch) = cause.downcast_ref::<crate::fetch::FetchError>() {
            return fetch.is_storage_full();
        }
        false
    })
}

#[cfg(test)]
mod tests {
    use std::io::{ErrorKind, Write};

    use super::*;

    /// A real ENOSPC: Linux's `/dev/full` refuses every write with it.
    fn real_enospc() -> std::io::Error {
        let mut full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full");
        full.write_all(b"x")
            .and_then(|()| full.flush())
            .expect_err("/dev/full is always full")
    }

    #[test]
    fn a_full_disk_anywhere_in_the_chain_is_insufficient_storage() {
        let enospc = real_enospc();
        assert_eq!(enospc.kind(), ErrorKind::StorageFull);
        let cases: Vec<anyhow::Error> = vec![
            anyhow::Error::new(real_enospc()),
            anyhow::Error::new(crate::fetch::FetchError::LocalIo(real_enospc().into())),
            anyhow::Error::new(crate::blob::BlobError::Io(real_enospc())),
            anyhow::Error::new(crate::blob::BlobError::Store(
                object_store::Error::Generic {
                    store: "LocalFileSystem",
                    source: Box::new(real_enospc()),
                },
            )),
            anyhow::Error::new(real_enospc()).context("writing a part"),
            anyhow::Error::new(std::io::Error::from(ErrorKind::QuotaExceeded)),
        ];
        for error in cases {
            let shown = format!("{error:#}");
            let mapped = ServiceError::internal("storing", error);
            assert_eq!(mapped.code(), &codes::INSUFFICIENT_STORAGE, "{shown}");
            assert!(mapped.to_string().contains("no space left"), "{mapped}");
        }
        for other in [
            anyhow::Error::new(std::io::Error::from(ErrorKind::PermissionDenied)),
            anyhow::Error::new(crate::fetch::FetchError::LocalIo(
                "cannot build the HTTP client".to_owned().into(),
            )),
            anyhow::anyhow!("no space left on device, says a message"),
        ] {
            let mapped = ServiceError::internal("storing", other);
            assert_eq!(mapped.code(), &codes::INTERNAL, "{mapped}");
        }
    }
}
