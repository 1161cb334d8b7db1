//! Whose library a call acts on: the key's own tenant, or — for admin keys, and reviewer keys
//! on reads — another named with `?tenant=`.

use crate::domain::codes;
use crate::domain::{Caller, Role};

use super::{ServiceError, validate_tenant};

/// The caller as it acts on `tenant`'s library (`None`: its own). An admin key may act on any
/// tenant, a reviewer key may read any tenant (`write` is `false`), a tenant key only on its own:
/// anything else is `forbidden`.
pub fn acting_for(
    caller: &Caller,
    tenant: Option<&str>,
    write: bool,
) -> Result<Caller, ServiceError> {
    let Some(tenant) = tenant.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(caller.clone());
    };
    if tenant == caller.tenant {
        return Ok(caller.clone());
    }
    validate_tenant(tenant).map_err(ServiceError::invalid)?;
    let allowed = match caller.role {
        Role::Admin => true,
        Role::Reviewer => !write,
        Role::Tenant => false,
    };
    if !allowed {
        let why = match caller.role {
            Role::Reviewer => "a reviewer key may read another tenant's library, not change it",
            _ => "a tenant key reaches only its own tenant's library",
        };
        return Err(ServiceError::client(
            &codes::FORBIDDEN,
            format!("?tenant={tenant}: {why}"),
        ));
    }
    Ok(Caller {
        tenant: tenant.to_owned(),
        ..caller.clone()
    })
}

/// The `tenant` query parameter, if any.
pub fn tenant_param(query: Option<&str>) -> Option<String> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .filter(|(k, _)| k == "tenant")
        .last()
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(role: Role) -> Caller {
        Caller {
            key_id: "key_x".into(),
            tenant: "home".into(),
            role,
            key_name: None,
        }
    }

    #[test]
    fn who_may_act_on_another_tenant() {
        for write in [false, true] {
            assert_eq!(
                acting_for(&key(Role::Admin), Some("studio"), write)
                    .expect("admin")
                    .tenant,
                "studio"
            );
            assert_eq!(
                acting_for(&key(Role::Tenant), Some("home"), write)
                    .expect("own")
                    .tenant,
                "home"
            );
            let refused =
                acting_for(&key(Role::Tenant), Some("studio"), write).expect_err("a tenant key");
            assert_eq!(refused.code(), &codes::FORBIDDEN);
        }
        assert_eq!(
            acting_for(&key(Role::Reviewer), Some("studio"), false)
                .expect("a reviewer reads")
                .tenant,
            "studio"
        );
        let write =
            acting_for(&key(Role::Reviewer), Some("studio"), true).expect_err("a reviewer writes");
        assert_eq!(write.code(), &codes::FORBIDDEN);
        assert_eq!(
            acting_for(&key(Role::Tenant), None, true)
                .expect("none")
                .tenant,
            "home"
        );
        let bad = acting_for(&key(Role::Admin), Some("no/such"), false).expect_err("a bad name");
        assert_eq!(bad.code(), &codes::INVALID_REQUEST);
    }
}
