//! Runs small convolutional nets stored as ONNX on the CPU, for the face detector.
//!
//! A net is read from its ONNX bytes (`Net::parse`) and run node by node in the file's order
//! (`Net::run`). Only the operators MTCNN's nets use are known — `Conv` (stride 1 or more, no
//! padding), `PRelu`, `MaxPool` (`VALID` or `SAME_UPPER`), `Transpose`, `Flatten`, `MatMul`,
//! `Add` and `Softmax` — and a net with any other is refused when it is parsed, not run.
//! Convolutions run channels-last, one product per kernel row with no copy of the windows
//! (`conv.rs`, over the AVX2 + FMA kernel of `pointwise.rs`); dense layers are one matrix
//! product (`matrixmultiply`). `Net::with_int8` turns chosen convolutions into 8-bit ones
//! (`quant_conv.rs`, over the exact integer kernels of `int_product.rs`: AVX-512 VNNI, AVX2,
//! or plain Rust, all giving the same bits), each over an input range measured beforehand
//! with `Net::run_recording`.
//!
//! `tiny_face` runs one more net written out by hand rather than read as a graph: face-api's
//! tiny face detector, from its TensorFlow.js weight files (`tfjs`).
//!
//! Any input shape is taken: a net has no plan to make per shape, so the first image of a new
//! size costs what every other costs.

mod conv;
mod error;
mod int_product;
mod net;
mod onnx;
mod ops;
mod pointwise;
mod proto;
mod quant_conv;
mod tensor;
mod tfjs;
pub mod tiny_face;

pub use error::Error;
pub use net::Net;
pub use quant_conv::InputRange;
pub use tensor::Tensor;
