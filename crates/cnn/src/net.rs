//! A net: the graph's nodes as steps, checked when parsed, run in order.

use std::collections::HashMap;

use crate::error::{Error, bail};
use crate::onnx::{self, Node};
use crate::ops::{self, Padding};
use crate::tensor::Tensor;

/// One operator with its constant operands.
enum Op {
    Conv {
        weight: Tensor,
        bias: Option<Tensor>,
        strides: [usize; 2],
    },
    PRelu(Tensor),
    MaxPool {
        kernel: [usize; 2],
        strides: [usize; 2],
        padding: Padding,
    },
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
        let graph = onnx::graph(model)?;
        let [input] = graph.inputs.as_slice() else {
            bail!("a net of {} inputs (one is run)", graph.inputs.len());
        };
        let mut slots: HashMap<String, usize> = HashMap::from([(input.clone(), 0)]);
        let mut steps = Vec::with_capacity(graph.nodes.len());
        for node in &graph.nodes {
            let (op, reads) = op(node, &graph.initializers)
                .map_err(|e| Error::new(format!("node {} ({}): {e}", steps.len(), node.op)))?;
            let Some(&input) = slots.get(reads) else {
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
            let next = slots.len();
            let output = *slots.entry(written.clone()).or_insert(next);
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
                slots
                    .get(name)
                    .copied()
                    .ok_or_else(|| Error::new(format!("output {name:?} is never written")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        // A value is freed after its last reader, unless it is an output.
        let mut seen = vec![false; slots.len()];
        for &o in &outputs {
            seen[o] = true;
        }
        for step in steps.iter_mut().rev() {
            step.last_read = !std::mem::replace(&mut seen[step.input], true);
        }
        Ok(Self {
            steps,
            slots: slots.len(),
            input: 0,
            outputs,
        })
    }

    /// Runs the net on `input`; its outputs in the order of the graph's outputs.
    pub fn run(&self, input: Tensor) -> Result<Vec<Tensor>, Error> {
        let mut values: Vec<Option<Tensor>> = (0..self.slots).map(|_| None).collect();
        values[self.input] = Some(input);
        for (i, step) in self.steps.iter().enumerate() {
            let value = if step.last_read {
                values[step.input].take()
            } else {
                values[step.input].clone()
            };
            let Some(x) = value else {
                bail!("step {i} reads a value not written yet");
            };
            values[step.output] = Some(step.op.run(x)?);
        }
        self.outputs
            .iter()
            .map(|&o| {
                values[o]
                    .clone()
                    .ok_or_else(|| Error::new("an output was not written"))
            })
            .collect()
    }
}

impl Op {
    fn run(&self, x: Tensor) -> Result<Tensor, Error> {
        match self {
            Op::Conv {
                weight,
                bias,
                strides,
            } => ops::conv(&x, weight, bias.as_ref(), *strides),
            Op::PRelu(slope) => ops::prelu(x, slope),
            Op::MaxPool {
                kernel,
                strides,
                padding,
            } => ops::max_pool(&x, *kernel, *strides, *padding),
            Op::Transpose(perm) => ops::transpose(&x, perm),
            Op::Flatten(axis) => ops::flatten(x, *axis),
            Op::MatMul(weight) => ops::mat_mul(&x, weight),
            Op::Add(b) => ops::add(x, b),
            Op::Softmax(axis) => ops::softmax(x, *axis),
        }
    }
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
            Op::Conv {
                weight: constant(0)?,
                bias: if rest.len() > 1 {
                    Some(constant(1)?)
                } else {
                    None
                },
                strides: pair("strides", [1, 1])?,
            }
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
