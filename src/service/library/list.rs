//! Listing a tenant's assets: filters, offset pages (kyy) and keyset pages (v1).

use super::LibraryService;
use crate::domain::codes;
use crate::domain::{Asset, AssetType, Caller, Status};
use crate::repo::{AssetFilter, OffsetPage};
use crate::service::ServiceError;

/// The largest page of an offset-paged list.
pub const MAX_PAGE_SIZE: u32 = 100;

/// Raw list filters as a face receives them.
#[derive(Debug, Clone, Default)]
pub struct ListParams {
    pub asset_type: Option<String>,
    pub status: Option<String>,
    pub name: Option<String>,
    /// Lowercase or uppercase hex sha256 of the content.
    pub sha256: Option<String>,
    /// List deleted (restorable) assets instead of live ones.
    pub deleted: bool,
    /// Only the assets filed in this group.
    pub group_id: Option<String>,
    /// The v1 list's order (`newest`, `oldest`, `name`, `size`; none: newest).
    pub sort: Option<String>,
}

impl ListParams {
    /// Validates the filters. `processing_includes_review` makes `Processing` also match
    /// `PendingReview` (the kyy face shows held assets as Processing).
    pub fn to_filter(&self, processing_includes_review: bool) -> Result<AssetFilter, ServiceError> {
        let asset_type = match non_empty(&self.asset_type) {
            None => None,
            Some(raw) => Some(AssetType::parse(raw).ok_or_else(|| {
                ServiceError::client(
                    &codes::INVALID_ASSET_TYPE,
                    format!(
                        "assetType '{raw}' is not valid; use one of Image, Video, Audio, Document"
                    ),
                )
            })?),
        };
        let statuses = match non_empty(&self.status) {
            None => Vec::new(),
            Some(raw) => {
                let status = Status::parse(raw).ok_or_else(|| {
                    ServiceError::invalid(format!(
                        "status '{raw}' is not valid; use one of Processing, PendingReview, Active, Failed"
                    ))
                })?;
                if status == Status::Processing && processing_includes_review {
                    vec![Status::Processing, Status::PendingReview]
                } else {
                    vec![status]
                }
            }
        };
        let sha256 = match non_empty(&self.sha256) {
            None => None,
            Some(raw) => {
                let hex = raw.to_ascii_lowercase();
                if !crate::blob::is_sha256_hex(&hex) {
                    return Err(ServiceError::invalid(format!(
                        "sha256 '{raw}' is not valid; give the content's SHA-256 as 64 hex digits"
                    )));
                }
                Some(hex)
            }
        };
        Ok(AssetFilter {
            asset_type,
            statuses,
            name_contains: non_empty(&self.name).map(str::to_owned),
            sha256,
            deleted: self.deleted,
            group_id: non_empty(&self.group_id).map(|g| g.trim().to_owned()),
            ..AssetFilter::default()
        })
    }
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

impl LibraryService {
    /// Newest first, by page number (1-based) and size.
    pub async fn list_page(
        &self,
        caller: &Caller,
        filter: &AssetFilter,
        page_num: u64,
        page_size: u32,
    ) -> Result<OffsetPage, ServiceError> {
        if page_num == 0 {
            return Err(ServiceError::invalid("pageNum must be 1 or more"));
        }
        if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
            return Err(ServiceError::invalid(format!(
                "pageSize must be 1–{MAX_PAGE_SIZE}, got {page_size}"
            )));
        }
        let offset = page_num
            .saturating_sub(1)
            .saturating_mul(u64::from(page_size));
        self.assets
            .list_assets_offset(&caller.tenant, filter, offset, page_size)
            .await
            .map_err(|e| ServiceError::internal("listing assets", e))
    }

    /// In the order `params.sort` names, continuing after the opaque `cursor` of a previous
    /// page of the same order; answers the page and the next page's cursor.
    pub async fn list_sorted(
        &self,
        caller: &Caller,
        filter: &AssetFilter,
        params: &ListParams,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<Asset>, Option<String>), ServiceError> {
        let sort = super::sort::parse_sort(params.sort.as_deref())?;
        let after = match cursor.filter(|c| !c.is_empty()) {
            None => None,
            Some(raw) => Some(super::sort::decode_cursor(raw, sort)?),
        };
        let page = self
            .assets
            .list_assets_sorted(&caller.tenant, filter, sort, after.as_ref(), limit)
            .await
            .map_err(|e| ServiceError::internal("listing assets", e))?;
        Ok((
            page.items,
            page.next.as_ref().map(super::sort::encode_cursor),
        ))
    }
}
