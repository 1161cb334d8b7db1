//! The task families the gateway forwards, as data: where a client posts a task on the kyy face,
//! where it goes upstream, how its body is laid out, and where the upstream's answer names the
//! task. Every family is resolved, forwarded, recorded and tenant-checked the same way
//! (`GatewayService`); adding one is adding a row here (and to docs/API.md's table).

use serde_json::Value;

use crate::domain::AssetType;

/// How a family's task body is laid out, as its public documentation shows it. The gateway
/// resolves every `asset://` wherever it appears, so the shape only documents the family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskShape {
    /// Seedance 2.0 fields: `first_image`, `last_image`, `referenceImages[]`,
    /// `referenceVideos[]`, `referenceAudios[]` (SD2 Manxue also the legacy `image` and
    /// `lastFrameImage`).
    Fields,
    /// A `content[]` array of `text`, `image_url`, `video_url` and `audio_url` items with a
    /// `role` (Seedance 1.5).
    Content,
    /// An image task: `prompt`, `model` and the reference images in `image_urls[]` (Banana).
    Images,
    /// Not publicly documented: the body is forwarded as it comes, references resolved.
    Undocumented,
}

/// One task family.
#[derive(Debug)]
pub struct TaskFamily {
    /// Its name in logs and documentation.
    pub name: &'static str,
    /// Below `/kyyReactApiServer`: `POST {path}` submits, `GET {path}/{id}` reads a task.
    pub path: &'static str,
    /// Below the upstream's base URL: where the task is posted and `{upstream_path}/{id}` read.
    pub upstream_path: &'static str,
    pub shape: TaskShape,
    /// Top-level arrays of references of a type that only this family names (the arrays every
    /// family shares are the walk's own: `referenceImages`, `reference_images`…).
    pub reference_arrays: &'static [(&'static str, AssetType)],
    /// JSON pointers into the upstream's answer to a submit; the first that holds a string
    /// (or a number) is the task id.
    pub id_at: &'static [&'static str],
}

/// The largest task body the gateway takes (a task may carry inline data); larger ones are
/// refused `body-too-large` before they are read.
pub const MAX_TASK_BODY_BYTES: usize = 12 * 1024 * 1024;

/// Where any family's task status is read, on both sides: `GET /v1/result/{id}`.
pub const RESULT_PATH: &str = "/v1/result";

/// JSON pointers into an upstream answer where a task's status may be.
const STATUS_AT: [&str; 2] = ["/status", "/data/status"];

/// Every family the gateway serves. The paths are the kyy face's own, so the upstream path is
/// the same; they are kept apart so that a family can be mapped elsewhere.
pub static TASK_FAMILIES: [TaskFamily; 7] = [
    TaskFamily {
        name: "kyyvideo2",
        path: "/v1/kyyvideo2/videos",
        upstream_path: "/v1/kyyvideo2/videos",
        shape: TaskShape::Fields,
        reference_arrays: &[],
        id_at: &["/id"],
    },
    TaskFamily {
        name: "seedance",
        path: "/v1/seedance/videos",
        upstream_path: "/v1/seedance/videos",
        shape: TaskShape::Content,
        reference_arrays: &[],
        id_at: &["/id", "/data/projectId"],
    },
    TaskFamily {
        name: "seedance-discount",
        path: "/v1/seedance-discount/videos",
        upstream_path: "/v1/seedance-discount/videos",
        shape: TaskShape::Undocumented,
        reference_arrays: &[],
        id_at: &["/id", "/data/projectId"],
    },
    TaskFamily {
        name: "seedance-special",
        path: "/v1/seedance-special/videos",
        upstream_path: "/v1/seedance-special/videos",
        shape: TaskShape::Undocumented,
        reference_arrays: &[],
        id_at: &["/id", "/data/projectId"],
    },
    TaskFamily {
        name: "sd2_manxue",
        path: "/v1/sd2_manxue/videos",
        upstream_path: "/v1/sd2_manxue/videos",
        shape: TaskShape::Fields,
        reference_arrays: &[],
        id_at: &["/data/projectId", "/id"],
    },
    TaskFamily {
        name: "model-center",
        path: "/v2/model-center/tasks",
        upstream_path: "/v2/model-center/tasks",
        shape: TaskShape::Undocumented,
        reference_arrays: &[],
        id_at: &[
            "/id",
            "/data/taskId",
            "/data/task_id",
            "/data/id",
            "/task_id",
        ],
    },
    TaskFamily {
        name: "banana",
        path: "/v1/banana/images",
        upstream_path: "/v1/banana/images",
        shape: TaskShape::Images,
        reference_arrays: &[("image_urls", AssetType::Image)],
        id_at: &["/id", "/data/id", "/data/task_id", "/task_id", "/data/0/id"],
    },
];

/// The string (or number) at the first of `pointers` that holds one.
fn first_scalar(body: &Value, pointers: &[&str]) -> Option<String> {
    pointers.iter().find_map(|p| match body.pointer(p)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

impl TaskFamily {
    /// The task id the upstream's answer to a submit names, if any.
    pub fn task_id(&self, answer: &Value) -> Option<String> {
        first_scalar(answer, self.id_at)
    }
}

/// The task status an upstream answer carries, if any (`status`, or `data.status` in an
/// envelope).
pub fn task_status(answer: &Value) -> Option<String> {
    first_scalar(answer, &STATUS_AT)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn ids_are_read_where_each_family_puts_them() {
        let by_name = |name: &str| {
            TASK_FAMILIES
                .iter()
                .find(|f| f.name == name)
                .expect("family")
        };
        let plain = json!({"id": "video_1", "status": "queued"});
        let enveloped = json!({"code": "0", "msg": null, "data": {"projectId": "proj_1"}});
        assert_eq!(
            by_name("kyyvideo2").task_id(&plain).as_deref(),
            Some("video_1")
        );
        assert_eq!(by_name("kyyvideo2").task_id(&enveloped), None);
        assert_eq!(
            by_name("sd2_manxue").task_id(&enveloped).as_deref(),
            Some("proj_1")
        );
        let numeric = json!({"code": 0, "data": {"taskId": 42}});
        assert_eq!(
            by_name("model-center").task_id(&numeric).as_deref(),
            Some("42")
        );
        assert_eq!(by_name("seedance").task_id(&json!({"id": ""})), None);
        let listed = json!({"code": 0, "data": [{"id": "img_1", "status": "queued"}]});
        assert_eq!(by_name("banana").task_id(&listed).as_deref(), Some("img_1"));
        assert_eq!(
            by_name("banana").reference_arrays,
            &[("image_urls", AssetType::Image)]
        );
        assert_eq!(task_status(&plain).as_deref(), Some("queued"));
        assert_eq!(
            task_status(&json!({"data": {"status": "completed"}})).as_deref(),
            Some("completed")
        );
    }

    #[test]
    fn paths_are_distinct_and_documented() {
        let readme = include_str!("../../../docs/API.md");
        for (i, family) in TASK_FAMILIES.iter().enumerate() {
            assert!(family.path.starts_with('/') && family.upstream_path.starts_with('/'));
            assert!(family.id_at.iter().all(|p| p.starts_with('/')));
            assert!(
                TASK_FAMILIES[..i].iter().all(|f| f.path != family.path),
                "{} twice",
                family.path
            );
            assert!(
                readme.contains(&format!("`{}`", family.path)),
                "docs/API.md's task family table lacks {}",
                family.path
            );
        }
    }
}
