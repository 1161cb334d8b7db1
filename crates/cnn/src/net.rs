//! A net: the graph's nodes as steps, checked when parsed, run in order.

use std::collections::HashMap;

use crate::conv::Conv;
use crate::error::{Error, bail};
use crate::onnx::{self, Node};
use crate::ops::{self, Padding};
use crate::quant_conv::{InputRange, QuantConv};
use crate::tensor::Tensor;

/// One operator with its constant operands.
enum Op {
    Conv(Conv),
    /// `Conv` on a value held channels-last.
    ConvLast(Conv),
    /// `Conv` on a value held channels-last, in 8-bit integers (`Net::with_int8`).
    ConvInt8(QuantConv),
    PRelu(Tensor),
    /// `PRelu` with one slope per channel (or one for all) on a value held channels-last.
    PReluLast(Vec<f32>),
    MaxPool {
        kernel: [usize; 2],
        strides: [usize; 2],
        padding: Padding,
    },
    /// `MaxPool` on a value held channels-last.
    MaxPoolLast {
        kernel: [usize; 2],
        strides: [usize; 2],
        padding: Padding,
    },
    /// A transpose that the layout below makes unnecessary.
    Identity,
    Transpose(Vec<usize>),
    Flatten(usize),
    MatMul(Tensor),
    Add(Tensor),
    Softmax(i64),
}

/// A node: its operator, the value it reads and the one it writes (slots of the run's values).
struct Step {
    op: Op,
    input: usize,
    output: usize,
    /// Whether this step is the last to read its input (which is then freed).
    last_read: bool,
}

/// How a value is held. Nets converted from channels-last frameworks transpose their input
/// to ONNX's `[N, C, H, W]` first and back before their dense layers; the convolutions,
/// activations and pooling between run channels-last instead (`conv.rs`), and the two
/// transposes are skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// As the graph says.
    Graph,
    /// A value the graph has as `[N, C, H, W]`, held as `[N, H, W, C]`.
    ChannelsLast,
}

/// To channels-first from channels-last (and the graph's own input transpose).
const TO_CHANNELS_FIRST: [usize; 4] = [0, 3, 1, 2];
/// To channels-last from channels-first.
const TO_CHANNELS_LAST: [usize; 4] = [0, 2, 3, 1];

/// A net read from ONNX, ready to run on inputs of any shape its operators accept.
pub struct Net {
    steps: Vec<Step>,
    slots: usize,
    input: usize,
    outputs: Vec<usize>,
}

impl Net {
    /// Reads a net of one input from ONNX bytes. Operators and attributes are checked here:
    /// a net that parses fails at run time only on an input of a shape it cannot take.
    pub fn parse(model: &[u8]) -> Result<Self, Error> {
        Self::from_graph(&onnx::graph(model)?)
    }

    fn from_graph(graph: &onnx::Graph) -> Result<Self, Error> {
        let [input] = graph.inputs.as_slice() else {
            bail!("a net of {} inputs (one is run)", graph.inputs.len());
        };
        let mut slots: HashMap<String, usize> = HashMap::from([(input.clone(), 0)]);
        // The layout of each slot, by number (inserted transposes write slots without a name).
        let mut layouts = vec![Layout::Graph];
        let mut steps = Vec::with_capacity(graph.nodes.len());
        for node in &graph.nodes {
            let (op, reads) = op(node, &graph.initializers)
                .map_err(|e| Error::new(format!("node {} ({}): {e}", steps.len(), node.op)))?;
            let Some(&read) = slots.get(reads) else {
                bail!(
                    "node {} ({}) reads {reads:?}, which nothing wrote",
                    steps.len(),
                    node.op
                );
            };
            let [written] = node.outputs.as_slice() else {
                bail!(
                    "node {} ({}) writes {} values",
                    steps.len(),
                    node.op,
                    node.outputs.len()
                );
            };
            let (op, input, layout) = match (op, layouts[read]) {
                (Op::Transpose(perm), Layout::Graph) if perm == TO_CHANNELS_FIRST => {
                    (Op::Identity, read, Layout::ChannelsLast)
                }
                (Op::Transpose(perm), Layout::ChannelsLast) if perm == TO_CHANNELS_LAST => {
                    (Op::Identity, read, Layout::Graph)
                }
                (Op::Conv(conv), Layout::ChannelsLast) => {
                    (Op::ConvLast(conv), read, Layout::ChannelsLast)
                }
                (
                    Op::MaxPool {
                        kernel,
                        strides,
                        padding,
                    },
                    Layout::ChannelsLast,
                ) => (
                    Op::MaxPoolLast {
                        kernel,
                        strides,
                        padding,
                    },
                    read,
                    Layout::ChannelsLast,
                ),
                (Op::PRelu(slope), Layout::ChannelsLast) if per_channel(&slope) => (
                    Op::PReluLast(slope.data().to_vec()),
                    read,
                    Layout::ChannelsLast,
                ),
                (op, Layout::ChannelsLast) => {
                    let restored = restore(&mut steps, &mut layouts, read);
                    (op, restored, Layout::Graph)
                }
                (op, Layout::Graph) => (op, read, Layout::Graph),
            };
            let output = match slots.get(written) {
                Some(&slot) => slot,
                None => {
                    layouts.push(layout);
                    slots.insert(written.clone(), layouts.len() - 1);
                    layouts.len() - 1
                }
            };
            layouts[output] = layout;
            steps.push(Step {
                op,
                input,
                output,
                last_read: false,
            });
        }
        let outputs = graph
            .outputs
            .iter()
            .map(|name| {
                let slot = slots
                    .get(name)
                    .copied()
                    .ok_or_else(|| Error::new(format!("output {name:?} is never written")))?;
                Ok(match layouts[slot] {
                    Layout::Graph => slot,
                    Layout::ChannelsLast => restore(&mut steps, &mut layouts, slot),
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        fuse_activations(&mut steps, &outputs)?;
        // A value is freed after its last reader, unless it is an output.
        let mut seen = vec![false; layouts.len()];
        for &o in &outputs {
            seen[o] = true;
        }
        for step in steps.iter_mut().rev() {
            step.last_read = !std::mem::replace(&mut seen[step.input], true);
        }
        Ok(Self {
            steps,
            slots: layouts.len(),
            input: 0,
            outputs,
        })
    }

    /// Runs the net on `input`; its outputs in the order of the graph's outputs.
    pub fn run(&self, input: Tensor) -> Result<Vec<Tensor>, Error> {
        self.run_inner(input, None)
    }

    /// The convolutions the net runs channels-last (the ones [`Net::with_int8`] may turn into
    /// 8-bit ones), in the graph's order.
    pub fn convolutions(&self) -> usize {
        self.steps.iter().filter(|s| s.op.convolution()).count()
    }

    /// [`Net::run`], widening `ranges[i]` to every value the `i`-th of
    /// [`Net::convolutions`] reads (the ranges to give [`Net::with_int8`]).
    pub fn run_recording(
        &self,
        input: Tensor,
        ranges: &mut [Option<InputRange>],
    ) -> Result<Vec<Tensor>, Error> {
        self.check_ranges(ranges.len())?;
        self.run_inner(input, Some(ranges))
    }

    /// The net with its `i`-th convolution in 8-bit integers over `ranges[i]`, where given
    /// (`quant_conv.rs`). Its answers are close to the `f32` net's, not the same.
    pub fn with_int8(mut self, ranges: &[Option<InputRange>]) -> Result<Self, Error> {
        self.check_ranges(ranges.len())?;
        let convolutions = self.steps.iter_mut().filter(|s| s.op.convolution());
        for (step, range) in convolutions.zip(ranges) {
            if let (Op::ConvLast(conv), Some(range)) = (&step.op, range) {
                step.op = Op::ConvInt8(QuantConv::new(conv, *range)?);
            }
        }
        Ok(self)
    }

    /// Whether `count` ranges are one per convolution.
    fn check_ranges(&self, count: usize) -> Result<(), Error> {
        if count != self.convolutions() {
            bail!(
                "{count} ranges for a net of {} convolutions",
                self.convolutions()
            );
        }
        Ok(())
    }

    fn run_inner(
        &self,
        input: Tensor,
        mut ranges: Option<&mut [Option<InputRange>]>,
    ) -> Result<Vec<Tensor>, Error> {
        let mut values: Vec<Option<Tensor>> = (0..self.slots).map(|_| None).collect();
        values[self.input] = Some(input);
        let mut convolution = 0;
        for (i, step) in self.steps.iter().enumerate() {
            let value = if step.last_read {
                values[step.input].take()
            } else {
                values[step.input].clone()
            };
            let Some(x) = value else {
                bail!("step {i} reads a value not written yet");
            };
            if step.op.convolution() {
                if let Some(range) = ranges.as_deref_mut().and_then(|r| r.get_mut(convolution)) {
                    *range = widened(*range, x.data());
                }
                convolution += 1;
            }
            values[step.output] = Some(step.op.run(x)?);
        }
        // Each output is handed over, not copied (unless the graph lists it again later).
        (0..self.outputs.len())
            .map(|i| {
                let o = self.outputs[i];
                let value = if self.outputs[i + 1..].contains(&o) {
                    values[o].clone()
                } else {
                    values[o].take()
                };
                value.ok_or_else(|| Error::new("an output was not written"))
            })
            .collect()
    }
}

/// `range` widened to cover `values`.
fn widened(range: Option<InputRange>, values: &[f32]) -> Option<InputRange> {
    let (lo, hi) = values
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    match range {
        _ if lo > hi => range,
        None => Some(InputRange { lo, hi }),
        Some(r) => Some(InputRange {
            lo: r.lo.min(lo),
            hi: r.hi.max(hi),
        }),
    }
}

impl Op {
    /// Whether this is a convolution on a value held channels-last.
    fn convolution(&self) -> bool {
        matches!(self, Op::ConvLast(_) | Op::ConvInt8(_))
    }

    fn run(&self, x: Tensor) -> Result<Tensor, Error> {
        match self {
            Op::Conv(conv) => conv.run(&x),
            Op::ConvLast(conv) => conv.run_channels_last(&x),
            Op::ConvInt8(conv) => conv.run_channels_last(&x),
            Op::PRelu(slope) => ops::prelu(x, slope),
            Op::PReluLast(slope) => ops::prelu_channels_last(x, slope),
            Op::MaxPool {
                kernel,
                strides,
                padding,
            } => ops::max_pool(&x, *kernel, *strides, *padding),
            Op::MaxPoolLast {
                kernel,
                strides,
                padding,
            } => ops::max_pool_channels_last(&x, *kernel, *strides, *padding),
            Op::Identity => Ok(x),
            Op::Transpose(perm) => ops::transpose(&x, perm),
            Op::Flatten(axis) => ops::flatten(x, *axis),
            Op::MatMul(weight) => ops::mat_mul(&x, weight),
            Op::Add(b) => ops::add(x, b),
            Op::Softmax(axis) => ops::softmax(x, *axis),
        }
    }
}

/// A channels-last convolution read only by the `PRelu` right after it applies the slopes
/// itself; the `PRelu` step becomes an identity.
fn fuse_activations(steps: &mut [Step], outputs: &[usize]) -> Result<(), Error> {
    let mut readers = HashMap::<usize, usize>::new();
    for slot in steps.iter().map(|s| s.input).chain(outputs.iter().copied()) {
        *readers.entry(slot).or_default() += 1;
    }
    for i in 1..steps.len() {
        let (before, after) = steps.split_at_mut(i);
        let (conv, next) = (&mut before[i - 1], &mut after[0]);
        if let (Op::ConvLast(c), Op::PReluLast(slope)) = (&mut conv.op, &next.op)
            && next.input == conv.output
            && readers.get(&conv.output) == Some(&1)
        {
            c.then_prelu(slope)?;
            next.op = Op::Identity;
        }
    }
    Ok(())
}

/// Adds a step that writes the channels-last value of slot `read` channels-first, as the graph
/// has it, to a new slot; that slot.
fn restore(steps: &mut Vec<Step>, layouts: &mut Vec<Layout>, read: usize) -> usize {
    layouts.push(Layout::Graph);
    let output = layouts.len() - 1;
    steps.push(Step {
        op: Op::Transpose(TO_CHANNELS_FIRST.to_vec()),
        input: read,
        output,
        last_read: false,
    });
    output
}

/// Whether a `PRelu` slope of this shape is one per channel of an `[N, C, H, W]` value
/// (`[1, C, 1, 1]`, `[C, 1, 1]`) or one for all.
fn per_channel(slope: &Tensor) -> bool {
    let shape = slope.shape();
    slope.data().len() == 1
        || (shape.len() >= 3
            && shape.len() <= 4
            && shape[shape.len() - 2..] == [1, 1]
            && shape[..shape.len() - 3].iter().all(|&d| d == 1))
}

/// The operator of `node` and the name of the one value it reads (its other inputs are
/// initializers).
fn op<'a>(node: &'a Node, constants: &HashMap<String, Tensor>) -> Result<(Op, &'a str), Error> {
    let Some((first, rest)) = node.inputs.split_first() else {
        bail!("no input");
    };
    let constant = |i: usize| -> Result<Tensor, Error> {
        let name = rest
            .get(i)
            .ok_or_else(|| Error::new(format!("input {} is missing", i + 1)))?;
        constants
            .get(name)
            .cloned()
            .ok_or_else(|| Error::new(format!("input {name:?} is not a constant")))
    };
    let ints = |name: &str| node.attribute(name).map(|a| a.ints.as_slice());
    let pair = |name: &str, default: [usize; 2]| -> Result<[usize; 2], Error> {
        match ints(name) {
            None => Ok(default),
            Some(&[a, b]) if a > 0 && b > 0 => Ok([a as usize, b as usize]),
            Some(other) => bail!("{name} {other:?} (two positive values are taken)"),
        }
    };
    let auto_pad = node.attribute("auto_pad").and_then(|a| a.string.as_deref());
    let no_pads = || match ints("pads") {
        Some(pads) if pads.iter().any(|&p| p != 0) => bail!("explicit pads {pads:?}"),
        _ => Ok(()),
    };
    let op = match node.op.as_str() {
        "Conv" => {
            if !matches!(auto_pad, None | Some("NOTSET" | "VALID")) {
                bail!("auto_pad {auto_pad:?}");
            }
            no_pads()?;
            if pair("dilations", [1, 1])? != [1, 1] {
                bail!("dilations other than 1");
            }
            if node.attribute("group").and_then(|a| a.int).unwrap_or(1) != 1 {
                bail!("grouped convolution");
            }
            let bias = if rest.len() > 1 {
                Some(constant(1)?)
            } else {
                None
            };
            Op::Conv(Conv::new(
                &constant(0)?,
                bias.as_ref(),
                pair("strides", [1, 1])?,
            )?)
        }
        "PRelu" => Op::PRelu(constant(0)?),
        "MaxPool" => {
            let padding = match auto_pad {
                None | Some("NOTSET" | "VALID") => Padding::Valid,
                Some("SAME_UPPER") => Padding::SameUpper,
                Some(other) => bail!("auto_pad {other:?}"),
            };
            no_pads()?;
            if node.attribute("ceil_mode").and_then(|a| a.int).unwrap_or(0) != 0 {
                bail!("ceil_mode");
            }
            if pair("dilations", [1, 1])? != [1, 1] {
                bail!("dilations other than 1");
            }
            if node.outputs.len() != 1 {
                bail!("pooling indices");
            }
            let Ok(kernel) = pair("kernel_shape", [0, 0]) else {
                bail!("kernel_shape {:?}", ints("kernel_shape"));
            };
            if kernel == [0, 0] {
                bail!("no kernel_shape");
            }
            Op::MaxPool {
                kernel,
                strides: pair("strides", [1, 1])?,
                padding,
            }
        }
        "Transpose" => {
            let Some(perm) = ints("perm") else {
                bail!("no perm");
            };
            Op::Transpose(
                perm.iter()
                    .map(|&p| usize::try_from(p).map_err(|_| Error::new(format!("perm {perm:?}"))))
                    .collect::<Result<_, _>>()?,
            )
        }
        "Flatten" => {
            let axis = node.attribute("axis").and_then(|a| a.int).unwrap_or(1);
            Op::Flatten(usize::try_from(axis).map_err(|_| Error::new(format!("axis {axis}")))?)
        }
        "MatMul" => Op::MatMul(constant(0)?),
        "Add" => Op::Add(constant(0)?),
        // Its default axis changed with opset 13: a net must name it.
        "Softmax" => match node.attribute("axis").and_then(|a| a.int) {
            Some(axis) => Op::Softmax(axis),
            None => bail!("Softmax without an axis"),
        },
        other => bail!("operator {other} is not one this runtime knows"),
    };
    Ok((op, first))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::Net;
    use crate::conv::Conv;
    use crate::onnx::{Attribute, Graph, Node};
    use crate::ops;
    use crate::tensor::Tensor;

    fn node(op: &str, inputs: &[&str], output: &str, attributes: Vec<Attribute>) -> Node {
        Node {
            op: op.to_owned(),
            inputs: inputs.iter().map(|&i| i.to_owned()).collect(),
            outputs: vec![output.to_owned()],
            attributes,
        }
    }

    fn ints(name: &str, values: &[i64]) -> Attribute {
        Attribute {
            name: name.to_owned(),
            ints: values.to_vec(),
            ..Attribute::default()
        }
    }

    #[test]
    fn values_held_channels_last_are_restored_for_other_operators_and_outputs() {
        // input [N, H, W, C] → Transpose to channels-first → Conv → PRelu, read by a Flatten
        // (which must see channels-first) and also an output of the net, as is the Conv.
        let kernel = Tensor::new(
            &[4, 3, 2, 2],
            (0..48).map(|v| (v % 7) as f32 * 0.25 - 0.75).collect(),
        )
        .expect("kernel");
        let slope = Tensor::new(&[1, 4, 1, 1], vec![0.1, 0.2, 0.3, 0.4]).expect("slope");
        let graph = Graph {
            nodes: vec![
                node(
                    "Transpose",
                    &["x"],
                    "first",
                    vec![ints("perm", &[0, 3, 1, 2])],
                ),
                node("Conv", &["first", "k"], "conv", vec![]),
                node("PRelu", &["conv", "s"], "act", vec![]),
                node("Flatten", &["act"], "flat", vec![]),
            ],
            initializers: HashMap::from([
                ("k".to_owned(), kernel.clone()),
                ("s".to_owned(), slope.clone()),
            ]),
            inputs: vec!["x".to_owned()],
            outputs: vec!["flat".to_owned(), "act".to_owned(), "conv".to_owned()],
        };
        let net = Net::from_graph(&graph).expect("net");
        let x = Tensor::new(
            &[2, 5, 6, 3],
            (0..180)
                .map(|v| ((v * 13) % 17) as f32 / 8.0 - 1.0)
                .collect(),
        )
        .expect("input");
        let got = net.run(x.clone()).expect("runs");
        // The same, channels-first throughout.
        let first = ops::transpose(&x, &[0, 3, 1, 2]).expect("transpose");
        let conv = Conv::new(&kernel, None, [1, 1])
            .and_then(|c| c.run(&first))
            .expect("conv");
        let act = ops::prelu(conv.clone(), &slope).expect("prelu");
        let flat = ops::flatten(act.clone(), 1).expect("flatten");
        for (got, want) in got.iter().zip([&flat, &act, &conv]) {
            assert_eq!(got.shape(), want.shape());
            assert_eq!(got.data(), want.data());
        }
    }
}
