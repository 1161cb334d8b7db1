//! Reads TensorFlow.js weight files: a `*-weights_manifest.json` naming every tensor (name,
//! shape, and for quantized tensors a `uint8` scale and minimum) and the `.bin` shards it lists,
//! concatenated in the manifest's order.

use std::collections::HashMap;

use crate::error::{Error, bail};
use crate::tensor::Tensor;

/// Every tensor of a manifest, dequantized to `f32` (value = q · scale + min), by name.
pub fn read_weights(manifest: &str, bin: &[u8]) -> Result<HashMap<String, Tensor>, Error> {
    let groups: serde_json::Value = serde_json::from_str(manifest)
        .map_err(|e| Error::new(format!("the weights manifest is not JSON: {e}")))?;
    let Some(groups) = groups.as_array() else {
        bail!("the weights manifest is not a list of weight groups");
    };
    let mut at = 0usize;
    let mut out = HashMap::new();
    for group in groups {
        let Some(weights) = group.get("weights").and_then(|w| w.as_array()) else {
            bail!("a weight group without weights");
        };
        for w in weights {
            let name = w.get("name").and_then(|n| n.as_str()).unwrap_or_default();
            let shape: Option<Vec<usize>> = w.get("shape").and_then(|s| s.as_array()).map(|s| {
                s.iter()
                    .filter_map(|d| d.as_u64().map(|d| d as usize))
                    .collect()
            });
            let Some(shape) = shape else {
                bail!("tensor {name:?} has no shape");
            };
            let cells = shape
                .iter()
                .try_fold(1usize, |n, &d| n.checked_mul(d))
                .ok_or_else(|| Error::new(format!("tensor {name:?} is too large")))?;
            let dtype = w.get("dtype").and_then(|d| d.as_str()).unwrap_or_default();
            if dtype != "float32" {
                bail!("tensor {name:?} is of type {dtype:?}, not float32");
            }
            let data = match w.get("quantization") {
                Some(q) => {
                    let qtype = q.get("dtype").and_then(|d| d.as_str()).unwrap_or_default();
                    let (Some(scale), Some(min)) = (
                        q.get("scale").and_then(|s| s.as_f64()),
                        q.get("min").and_then(|m| m.as_f64()),
                    ) else {
                        bail!("tensor {name:?}: a quantization without scale and min");
                    };
                    if qtype != "uint8" {
                        bail!("tensor {name:?} is quantized as {qtype:?}, not uint8");
                    }
                    let Some(bytes) = bin.get(at..at + cells) else {
                        bail!("the weights end inside tensor {name:?}");
                    };
                    at += cells;
                    let (scale, min) = (scale as f32, min as f32);
                    bytes.iter().map(|&q| f32::from(q) * scale + min).collect()
                }
                None => {
                    let Some(bytes) = bin.get(at..at + cells * 4) else {
                        bail!("the weights end inside tensor {name:?}");
                    };
                    at += cells * 4;
                    bytes
                        .chunks_exact(4)
                        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                        .collect()
                }
            };
            out.insert(name.to_owned(), Tensor::new(&shape, data)?);
        }
    }
    if at != bin.len() {
        bail!(
            "the manifest names {at} bytes of weights, the files hold {}",
            bin.len()
        );
    }
    Ok(out)
}
