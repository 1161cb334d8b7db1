use crate::error::{Error, bail};

/// A dense array of `f32` in row-major order.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    shape: Vec<usize>,
    data: Vec<f32>,
}

impl Tensor {
    /// A tensor of `shape` holding `data` (as many values as the shape has cells).
    pub fn new(shape: &[usize], data: Vec<f32>) -> Result<Self, Error> {
        let cells = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
        if cells != Some(data.len()) {
            let cells = cells.map_or_else(|| "too many".to_owned(), |c| c.to_string());
            bail!(
                "a tensor of shape {shape:?} needs {cells} values, not {}",
                data.len()
            );
        }
        Ok(Self {
            shape: shape.to_vec(),
            data,
        })
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    pub fn data(&self) -> &[f32] {
        &self.data
    }

    pub(crate) fn into_data(self) -> Vec<f32> {
        self.data
    }

    /// The same values in another shape of as many cells.
    pub(crate) fn reshaped(self, shape: &[usize]) -> Result<Self, Error> {
        Self::new(shape, self.data)
    }
}
