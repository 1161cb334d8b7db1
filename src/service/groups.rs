//! Groups: create, read, list, change and delete a tenant's folders of assets; the check that
//! a group named by an upload or an update is the caller's.

use std::sync::Arc;

use chrono::Utc;

use super::ServiceError;
use crate::domain::{Caller, Group, GroupId, codes, parse_group_description, parse_group_name};
use crate::repo::{GroupDeletion, GroupPage, GroupRepo, GroupUpdate};

/// The most groups one page lists.
pub const MAX_GROUP_PAGE: u32 = 100;

#[derive(Clone)]
pub struct GroupService {
    groups: Arc<dyn GroupRepo>,
}

/// `group-not-found`, naming the id; other tenants' groups answer the same.
fn group_not_found(raw: &str) -> ServiceError {
    ServiceError::client(
        &codes::GROUP_NOT_FOUND,
        format!("there is no group {raw} (create one with POST /v1/groups)"),
    )
}

/// A group of `tenant`: `group-not-found` for any other id, well-formed or not.
async fn find(groups: &dyn GroupRepo, tenant: &str, raw: &str) -> Result<Group, ServiceError> {
    let id = GroupId::parse(raw.trim()).ok_or_else(|| group_not_found(raw))?;
    groups
        .get_group(tenant, id.as_str())
        .await
        .map_err(|e| ServiceError::internal("reading a group", e))?
        .ok_or_else(|| group_not_found(raw))
}

/// The id of a group of `tenant`, checked: `group-not-found` otherwise.
pub(super) async fn owned_group(
    groups: &dyn GroupRepo,
    tenant: &str,
    raw: &str,
) -> Result<String, ServiceError> {
    find(groups, tenant, raw)
        .await
        .map(|g| g.id.as_str().to_owned())
}

fn invalid_name(message: String) -> ServiceError {
    ServiceError::client(&codes::INVALID_NAME, message)
}

impl GroupService {
    pub fn new(groups: Arc<dyn GroupRepo>) -> Self {
        Self { groups }
    }

    pub async fn create(
        &self,
        caller: &Caller,
        name: Option<&str>,
        description: Option<&str>,
    ) -> Result<Group, ServiceError> {
        let name = parse_group_name(name.unwrap_or_default()).map_err(invalid_name)?;
        let description = description
            .map(parse_group_description)
            .transpose()
            .map_err(ServiceError::invalid)?
            .flatten();
        for _ in 0..8 {
            let now = Utc::now();
            let group = Group {
                id: GroupId::generate(now),
                tenant: caller.tenant.clone(),
                name: name.clone(),
                description: description.clone(),
                asset_count: 0,
                create_time: now,
                update_time: now,
            };
            let inserted = self
                .groups
                .insert_group(&group)
                .await
                .map_err(|e| ServiceError::internal("creating a group", e))?;
            if inserted {
                tracing::info!(group = %group.id, tenant = %caller.tenant, "group created");
                return Ok(group);
            }
        }
        Err(ServiceError::internal(
            "creating a group",
            anyhow::anyhow!("could not find a free group id"),
        ))
    }

    pub async fn get(&self, caller: &Caller, raw_id: &str) -> Result<Group, ServiceError> {
        find(self.groups.as_ref(), &caller.tenant, raw_id).await
    }

    /// Newest first; `limit` at most `MAX_GROUP_PAGE`.
    pub async fn list(
        &self,
        caller: &Caller,
        name: Option<&str>,
        offset: u64,
        limit: u32,
    ) -> Result<GroupPage, ServiceError> {
        let name = name.map(str::trim).filter(|n| !n.is_empty());
        self.groups
            .list_groups(&caller.tenant, name, offset, limit.clamp(1, MAX_GROUP_PAGE))
            .await
            .map_err(|e| ServiceError::internal("listing groups", e))
    }

    /// Renames and/or re-describes a group (`description: Some(None)` or `""` clears it).
    pub async fn update(
        &self,
        caller: &Caller,
        raw_id: &str,
        name: Option<&str>,
        description: Option<Option<&str>>,
    ) -> Result<Group, ServiceError> {
        let id = GroupId::parse(raw_id).ok_or_else(|| group_not_found(raw_id))?;
        let update = GroupUpdate {
            name: name
                .map(parse_group_name)
                .transpose()
                .map_err(invalid_name)?,
            description: description
                .map(|d| parse_group_description(d.unwrap_or_default()))
                .transpose()
                .map_err(ServiceError::invalid)?,
        };
        if update.name.is_none() && update.description.is_none() {
            return Err(ServiceError::invalid(
                "send the fields to change: {\"name\": \"…\", \"description\": \"…\"}",
            ));
        }
        let updated = self
            .groups
            .update_group(&caller.tenant, id.as_str(), &update, Utc::now())
            .await
            .map_err(|e| ServiceError::internal("updating a group", e))?;
        if !updated {
            return Err(group_not_found(raw_id));
        }
        self.get(caller, raw_id).await
    }

    /// Deletes a group; refused while assets are in it unless `cascade`, which deletes them
    /// too (soft, restorable like any delete — a restored asset comes back without a group).
    /// Answers how many assets were deleted with it.
    pub async fn delete(
        &self,
        caller: &Caller,
        raw_id: &str,
        cascade: bool,
    ) -> Result<u64, ServiceError> {
        let id = GroupId::parse(raw_id).ok_or_else(|| group_not_found(raw_id))?;
        let deletion = self
            .groups
            .delete_group(&caller.tenant, id.as_str(), cascade, Utc::now())
            .await
            .map_err(|e| ServiceError::internal("deleting a group", e))?;
        match deletion {
            GroupDeletion::Deleted { assets } => {
                tracing::info!(group = %id, tenant = %caller.tenant, assets, "group deleted");
                Ok(assets)
            }
            GroupDeletion::NotEmpty { assets } => Err(ServiceError::client(
                &codes::GROUP_NOT_EMPTY,
                format!(
                    "group {id} still holds {assets} asset{}; move or delete {} first, or delete with ?cascade=true to delete {} too",
                    if assets == 1 { "" } else { "s" },
                    if assets == 1 { "it" } else { "them" },
                    if assets == 1 { "it" } else { "them" },
                ),
            )),
            GroupDeletion::Missing => Err(group_not_found(raw_id)),
        }
    }
}
