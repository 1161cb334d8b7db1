use std::fmt;
use std::str::FromStr;

/// What an API key may do. `tenant` keys manage their own tenant's assets; `reviewer` keys
/// also review held assets of every tenant; `admin` keys may do everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Tenant,
    Reviewer,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Tenant => "tenant",
            Role::Reviewer => "reviewer",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        match raw {
            "tenant" => Ok(Role::Tenant),
            "reviewer" => Ok(Role::Reviewer),
            "admin" => Ok(Role::Admin),
            other => Err(format!(
                "unknown role '{other}'; expected tenant, reviewer or admin"
            )),
        }
    }
}

/// The authenticated caller of a request: which key, which tenant, which role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub key_id: String,
    pub tenant: String,
    pub role: Role,
    /// The key's name (who it belongs to), when it has one.
    pub key_name: Option<String>,
}
