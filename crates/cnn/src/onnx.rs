//! The parts of an ONNX model (`onnx.proto`) a net is built from: the graph's nodes in order,
//! its float initializers, and the names of its inputs and outputs.

use std::collections::HashMap;

use crate::error::{Error, bail};
use crate::proto::{Value, fields};
use crate::tensor::Tensor;

/// `TensorProto.DataType.FLOAT`.
const FLOAT: u64 = 1;

pub struct Graph {
    pub nodes: Vec<Node>,
    pub initializers: HashMap<String, Tensor>,
    /// Inputs the caller gives (inputs that are not initializers), in order.
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
}

pub struct Node {
    pub op: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub attributes: Vec<Attribute>,
}

#[derive(Default)]
pub struct Attribute {
    pub name: String,
    pub int: Option<i64>,
    pub ints: Vec<i64>,
    pub string: Option<String>,
}

impl Node {
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }
}

/// The graph of an ONNX model (`ModelProto.graph`).
pub fn graph(model: &[u8]) -> Result<Graph, Error> {
    for field in fields(model) {
        if let (7, value) = field? {
            return read_graph(value.bytes("graph")?);
        }
    }
    bail!("the model has no graph")
}

fn read_graph(bytes: &[u8]) -> Result<Graph, Error> {
    let mut graph = Graph {
        nodes: Vec::new(),
        initializers: HashMap::new(),
        inputs: Vec::new(),
        outputs: Vec::new(),
    };
    for field in fields(bytes) {
        match field? {
            (1, v) => graph.nodes.push(read_node(v.bytes("node")?)?),
            (5, v) => {
                let (name, tensor) = read_tensor(v.bytes("initializer")?)?;
                graph.initializers.insert(name, tensor);
            }
            (11, v) => graph.inputs.push(value_info_name(v)?),
            (12, v) => graph.outputs.push(value_info_name(v)?),
            _ => {}
        }
    }
    graph
        .inputs
        .retain(|name| !graph.initializers.contains_key(name));
    Ok(graph)
}

fn value_info_name(value: Value<'_>) -> Result<String, Error> {
    for field in fields(value.bytes("value info")?) {
        if let (1, name) = field? {
            return name.string("value info name");
        }
    }
    bail!("a graph input or output without a name")
}

fn read_node(bytes: &[u8]) -> Result<Node, Error> {
    let mut node = Node {
        op: String::new(),
        inputs: Vec::new(),
        outputs: Vec::new(),
        attributes: Vec::new(),
    };
    for field in fields(bytes) {
        match field? {
            (1, v) => node.inputs.push(v.string("node input")?),
            (2, v) => node.outputs.push(v.string("node output")?),
            (4, v) => node.op = v.string("op type")?,
            (5, v) => node.attributes.push(read_attribute(v.bytes("attribute")?)?),
            _ => {}
        }
    }
    Ok(node)
}

fn read_attribute(bytes: &[u8]) -> Result<Attribute, Error> {
    let mut attribute = Attribute::default();
    for field in fields(bytes) {
        match field? {
            (1, v) => attribute.name = v.string("attribute name")?,
            (3, v) => attribute.int = Some(v.varint("attribute int")? as i64),
            (4, v) => attribute.string = Some(v.string("attribute string")?),
            (8, v) => v.push_ints(&mut attribute.ints, "attribute ints")?,
            _ => {}
        }
    }
    Ok(attribute)
}

/// A float initializer: its name and values (`raw_data` little-endian, or `float_data`).
fn read_tensor(bytes: &[u8]) -> Result<(String, Tensor), Error> {
    let (mut name, mut dims, mut floats) = (String::new(), Vec::new(), Vec::new());
    let mut data_type = 0;
    for field in fields(bytes) {
        match field? {
            (1, v) => v.push_ints(&mut dims, "tensor dims")?,
            (2, v) => data_type = v.varint("tensor data type")?,
            (4, v) => v.push_floats(&mut floats, "tensor float data")?,
            (8, v) => name = v.string("tensor name")?,
            (9, v) => v.push_floats(&mut floats, "tensor raw data")?,
            _ => {}
        }
    }
    if data_type != FLOAT {
        bail!("initializer {name:?}: data type {data_type} (only floats are read)");
    }
    let shape = dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| Error::new(format!("{name:?}: dimension {d}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let tensor = Tensor::new(&shape, floats)
        .map_err(|e| Error::new(format!("initializer {name:?}: {e}")))?;
    Ok((name, tensor))
}
