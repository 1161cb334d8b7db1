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
         only public http(s) URLs can be fetched"
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
    LocalIo(String),
}
