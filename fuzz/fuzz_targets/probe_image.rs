//! The image probe, as the processing job runs it: sniff the head, then probe the whole file
//! if it is of the image family, then check the facts against the default rules.
#![no_main]

use assetlib::domain::AssetType;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| assetlib_fuzz::probe_as(AssetType::Image, data));
