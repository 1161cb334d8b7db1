//! What differs between the databases the SQL adapter runs on.

use std::future::Future;
use std::sync::Arc;

use sqlx::{Database, IntoArguments, Pool};
use tokio::sync::Notify;

use crate::repo::RepoResult;

/// A database the SQL adapter runs on, beyond what sqlx already abstracts. Queries are
/// written once with `$n` placeholders, which both databases accept.
pub trait Dialect: Database<Arguments: IntoArguments<Self>> {
    /// Whether this is the embedded single-node database.
    const EMBEDDED: bool;

    /// The function giving the 1-based position of a string in another (0 when absent):
    /// `FN(haystack, needle)`.
    const POSITION_FN: &'static str;

    /// Appended to a text expression so that it compares and sorts by code point (bytes of
    /// UTF-8) on every database, whatever the database's own collation.
    const BYTE_ORDER: &'static str;

    /// Appended to the sub-query that picks the job to claim, so that concurrent claimers
    /// skip each other's row instead of waiting for it (empty when writes are serialised).
    const CLAIM_SUFFIX: &'static str;

    /// Rows changed by a statement (sqlx gives this per database, not through a trait).
    fn rows_affected(done: &Self::QueryResult) -> u64;

    /// Announces a new job to the other nodes, inside the transaction that enqueues it (so the
    /// announcement is delivered only if the job is committed). Nothing when there is one node.
    fn announce_job(tx: &mut Self::Connection) -> impl Future<Output = RepoResult<()>> + Send;

    /// Keeps every other transaction that locks `tenant` waiting until this one ends, so a
    /// check of the tenant's use and the insert it allows are one step. Nothing on the
    /// embedded database, whose one writer runs transactions one at a time.
    fn lock_tenant(
        tx: &mut Self::Connection,
        tenant: &str,
    ) -> impl Future<Output = RepoResult<()>> + Send;

    /// Wakes `wake` whenever any node announces a job. The embedded database has a single node,
    /// which wakes its workers itself: nothing to forward.
    fn forward_wakeups(pool: &Pool<Self>, wake: Arc<Notify>);
}
