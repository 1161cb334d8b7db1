//! The metadata contract, one file per area; every case runs on every metadata backend.

mod assets;
mod groups;
mod jobs;
mod lifecycle;
mod names;
mod reviews;
mod sessions;
mod sorted;
mod tenants;

use assetlib::domain::{AssetId, AssetType, MediaFacts, Status};
use assetlib::repo::{NewAsset, NewJob, StatusChange};
use chrono::{TimeZone, Utc};

fn new_asset(id: &str, tenant: &str, seconds: u32, t: AssetType, name: &str) -> NewAsset {
    NewAsset {
        id: AssetId::parse(id).expect("id"),
        tenant: tenant.to_owned(),
        name: Some(name.to_owned()),
        asset_type: t,
        url: format!("https://example.com/{id}"),
        sha256: format!("{:064x}", seconds),
        bytes: 1234,
        format: Some("png".to_owned()),
        group_id: None,
        created_at: Utc
            .with_ymd_and_hms(2026, 1, 1, 0, 0, seconds)
            .single()
            .expect("time"),
    }
}

fn job() -> NewJob {
    NewJob {
        kind: "process-asset".to_owned(),
        max_attempts: 3,
        request_id: None,
    }
}

fn active() -> StatusChange {
    StatusChange {
        to: Status::Active,
        format: Some("png".into()),
        facts: Some(MediaFacts {
            width: Some(640),
            height: Some(480),
            ..MediaFacts::default()
        }),
        failure: None,
        moderation: None,
        at: Utc::now(),
    }
}
