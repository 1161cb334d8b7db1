//! Media probing: pure functions from bytes to facts. `sniff` decides the family and format
//! from magic bytes; the per-family modules read the real headers.

pub mod image;
pub mod sniff;

pub use sniff::{Sniffed, sniff};
