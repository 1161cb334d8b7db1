use std::net::IpAddr;

/// Why a source URL could not be fetched. Each variant is the caller's to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("'{0}' is not a valid URL")]
    InvalidUrl(String),
    #[error("URL scheme '{0}' is not supported; use http or https")]
    UnsupportedScheme(String),
    #[error(
        "the URL's host {host} resolves to {addr}, which is not a public address; \
         only public http(s) URLs can be fetched (the server's operator can allow this \
         network with --allow-network CIDR, or every private address with \
         --allow-private-networks, for local testing)"
    )]
    Blocked { host: String, addr: IpAddr },
    #[error("the source URL could not be reached: {0}")]
    Unreachable(String),
    #[error("the source server did not deliver the file within {0} seconds")]
    Timeout(u64),
    #[error("the source server answered HTTP {0}")]
    HttpStatus(u16),
    #[error("the source URL redirected to '{0}', which is not an http(s) URL that can be fetched")]
    BadRedirect(String),
    #[error("the source URL redirected more than {0} times")]
    TooManyRedirects(usize),
    #[error("the file is larger than the {limit}-byte limit")]
    TooLarge {
        limit: u64,
        /// The size the server announced, when it announced one.
        declared: Option<u64>,
    },
    #[error("could not store the download: {0}")]
    LocalIo(LocalIo),
}

/// A local write or read that failed, with the kind of the I/O error (a full disk is told
/// apart: `insufficient-storage`, not `internal`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct LocalIo {
    pub kind: std::io::ErrorKind,
    pub message: String,
}

impl From<std::io::Error> for LocalIo {
    fn from(e: std::io::Error) -> Self {
        Self {
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}

impl From<String> for LocalIo {
    fn from(message: String) -> Self {
        Self {
            kind: std::io::ErrorKind::Other,
            message,
        }
    }
}

impl FetchError {
    /// Whether a local write failed because the disk is full (ENOSPC, or a quota: EDQUOT).
    pub fn is_storage_full(&self) -> bool {
        matches!(self, FetchError::LocalIo(io) if io.kind == std::io::ErrorKind::StorageFull
            || io.kind == std::io::ErrorKind::QuotaExceeded)
    }
}
