use std::fmt;

/// What kind of client error happened; each has a stable kebab-case code. The HTTP faces map
/// kinds to statuses and envelopes in `http::error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    InvalidRequest,
    InvalidAssetType,
    InvalidUrl,
    InvalidName,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    AssetInUse,
    UpstreamError,
    SourceUnreachable,
    SourceTimeout,
    SourceHttpError,
    UrlNotAllowed,
    TooManyRedirects,
    TooLarge,
    TypeMismatch,
    Unavailable,
}

impl ErrorKind {
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest => "invalid-request",
            ErrorKind::InvalidAssetType => "invalid-asset-type",
            ErrorKind::InvalidUrl => "invalid-url",
            ErrorKind::InvalidName => "invalid-name",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::NotFound => "not-found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::AssetInUse => "asset-in-use",
            ErrorKind::UpstreamError => "upstream-error",
            ErrorKind::SourceUnreachable => "source-unreachable",
            ErrorKind::SourceTimeout => "source-timeout",
            ErrorKind::SourceHttpError => "source-http-error",
            ErrorKind::UrlNotAllowed => "url-not-allowed",
            ErrorKind::TooManyRedirects => "too-many-redirects",
            ErrorKind::TooLarge => "too-large",
            ErrorKind::TypeMismatch => "type-mismatch",
            ErrorKind::Unavailable => "unavailable",
        }
    }
}

/// A use case's failure: the caller's fault (with a sentence they can act on), or ours.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{message}")]
    Client { kind: ErrorKind, message: String },
    /// Logged with its context; clients only see a generic sentence.
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

impl ServiceError {
    pub fn client(kind: ErrorKind, message: impl fmt::Display) -> Self {
        ServiceError::Client {
            kind,
            message: message.to_string(),
        }
    }

    pub fn invalid(message: impl fmt::Display) -> Self {
        Self::client(ErrorKind::InvalidRequest, message)
    }

    pub fn not_found() -> Self {
        Self::client(ErrorKind::NotFound, "asset not found")
    }

    /// Our failure, logged with `context`. A database that cannot be reached is not a bug:
    /// it becomes `Unavailable` (503), which clients may retry.
    pub fn internal(context: &str, error: impl Into<anyhow::Error>) -> Self {
        let error = error.into();
        if let Some(repo) = error.downcast_ref::<crate::repo::RepoError>()
            && repo.is_unavailable()
        {
            tracing::warn!(error = %repo, "{context}: database unavailable");
            return Self::client(
                ErrorKind::Unavailable,
                "the metadata database is unavailable; try again shortly",
            );
        }
        ServiceError::Internal(error.context(context.to_owned()))
    }

    pub fn kind(&self) -> Option<ErrorKind> {
        match self {
            ServiceError::Client { kind, .. } => Some(*kind),
            ServiceError::Internal(_) => None,
        }
    }

    pub fn code(&self) -> &'static str {
        self.kind().map_or("internal", ErrorKind::code)
    }
}
