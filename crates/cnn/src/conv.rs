//! `Conv` without padding, run channels-last. Each output row is one product of the input's
//! windows — for each kernel row, `kw · c` consecutive values of a channels-last image row,
//! one window every `stride · c` values — by the kernel's weights, summed in registers over
//! all the kernel's rows (`pointwise::Taps`): no copy of the windows is made (an
//! image-to-columns copy of MTCNN's P-Net is nine times the image, and a general matrix
//! product packs it again), and each output row is written once, while it is in the nearest
//! cache.

use crate::error::{Error, bail};
use crate::pointwise::{self, Taps};
use crate::tensor::Tensor;

/// Outputs are computed in blocks of this many channels (the product's column block); the
/// weights and biases of the last block are padded with zeros.
const LANES: usize = 16;

/// A convolution's weights, laid out for the channels-last product.
pub struct Conv {
    /// `[kh, kw · c, lanes]`: for each kernel row, the weight of each of its inputs (`kx`, then
    /// the channel) for each output (`m` padded to `lanes`).
    pub(crate) packed: Vec<f32>,
    /// `lanes` biases (zeros past `m`).
    pub(crate) bias: Vec<f32>,
    /// `lanes` slopes of a `PRelu` applied to each output row as soon as it is summed (while
    /// it is in the nearest cache), when the net's next step is one.
    pub(crate) prelu: Option<Vec<f32>>,
    /// Outputs, input channels, kernel height and width, padded outputs.
    pub(crate) m: usize,
    pub(crate) c: usize,
    pub(crate) kh: usize,
    pub(crate) kw: usize,
    pub(crate) lanes: usize,
    pub(crate) strides: [usize; 2],
}

impl Conv {
    /// From ONNX's `weight` `[M, C, kh, kw]` and `bias` `[M]`.
    pub fn new(weight: &Tensor, bias: Option<&Tensor>, strides: [usize; 2]) -> Result<Self, Error> {
        let &[m, c, kh, kw] = weight.shape() else {
            bail!("a kernel of shape {:?}", weight.shape());
        };
        if m == 0 || c == 0 || kh == 0 || kw == 0 || strides.contains(&0) {
            bail!(
                "a kernel of shape {:?}, strides {strides:?}",
                weight.shape()
            );
        }
        let lanes = m.div_ceil(LANES) * LANES;
        let mut bias_padded = vec![0f32; lanes];
        if let Some(bias) = bias {
            if bias.data().len() != m {
                bail!("{} biases for {m} outputs", bias.data().len());
            }
            bias_padded[..m].copy_from_slice(bias.data());
        }
        let mut packed = vec![0f32; kh * kw * c * lanes];
        for (i, &v) in weight.data().iter().enumerate() {
            let (o, ci, ky, kx) = (i / (c * kh * kw), i / (kh * kw) % c, i / kw % kh, i % kw);
            packed[((ky * kw + kx) * c + ci) * lanes + o] = v;
        }
        Ok(Self {
            packed,
            bias: bias_padded,
            prelu: None,
            m,
            c,
            kh,
            kw,
            lanes,
            strides,
        })
    }

    /// Applies `PRelu` with `slope` (one per output, or one for all) to the outputs.
    pub fn then_prelu(&mut self, slope: &[f32]) -> Result<(), Error> {
        let mut padded = vec![0f32; self.lanes];
        match slope {
            [one] => padded.fill(*one),
            _ if slope.len() == self.m => padded[..self.m].copy_from_slice(slope),
            _ => bail!("{} slopes for {} outputs", slope.len(), self.m),
        }
        self.prelu = Some(padded);
        Ok(())
    }

    /// Runs on `x` `[N, C, H, W]`; the output is `[N, M, OH, OW]`.
    pub fn run(&self, x: &Tensor) -> Result<Tensor, Error> {
        let &[n, c, h, w] = x.shape() else {
            bail!("Conv: an input of shape {:?}", x.shape());
        };
        let (oh, ow) = self.output_size(c, h, w, x.shape())?;
        let mut out = Vec::with_capacity(n * self.m * oh * ow);
        let mut image = vec![0f32; h * w * c];
        let mut acc = vec![0f32; oh * ow * self.lanes];
        for planes in x.data().chunks_exact(c * h * w) {
            for (ci, plane) in planes.chunks_exact(h * w).enumerate() {
                for (cell, &v) in image[ci..].iter_mut().step_by(c).zip(plane) {
                    *cell = v;
                }
            }
            for (oy, row) in acc.chunks_exact_mut(ow * self.lanes).enumerate() {
                self.row(&image, w, oy, row);
            }
            for o in 0..self.m {
                out.extend(acc[o..].iter().step_by(self.lanes));
            }
        }
        Tensor::new(&[n, self.m, oh, ow], out)
    }

    /// Runs on `x` `[N, H, W, C]` (channels-last); the output is `[N, OH, OW, M]`.
    pub fn run_channels_last(&self, x: &Tensor) -> Result<Tensor, Error> {
        let &[n, h, w, c] = x.shape() else {
            bail!("Conv: an input of shape {:?}", x.shape());
        };
        let (oh, ow) = self.output_size(c, h, w, x.shape())?;
        let (m, lanes) = (self.m, self.lanes);
        // Each output row is summed in a row of its own, which stays in the nearest cache,
        // then appended (without the padding lanes).
        let mut out = Vec::with_capacity(n * oh * ow * m);
        let mut row = vec![0f32; ow * lanes];
        for image in x.data().chunks_exact(h * w * c) {
            for oy in 0..oh {
                self.row(image, w, oy, &mut row);
                if lanes == m {
                    out.extend_from_slice(&row);
                } else {
                    unpad(&row, lanes, m, &mut out);
                }
            }
        }
        Tensor::new(&[n, oh, ow, m], out)
    }

    /// Sets each pixel of `acc` (`lanes` values a pixel) to the biases.
    fn fill_biases(&self, acc: &mut [f32]) {
        // In blocks of `LANES` (a size known here, so each copy is a few vector moves).
        for (block, bias) in acc
            .chunks_exact_mut(LANES)
            .zip(self.bias.chunks_exact(LANES).cycle())
        {
            block.copy_from_slice(bias);
        }
    }

    /// The output's height and width for an input of `c` channels, `h`×`w`.
    fn output_size(
        &self,
        c: usize,
        h: usize,
        w: usize,
        shape: &[usize],
    ) -> Result<(usize, usize), Error> {
        output_size_of((self.c, self.kh, self.kw, self.strides), (c, h, w), shape)
    }

    /// Output row `oy` of one channels-last image `[h, w, c]`, into `row` (`lanes` values a
    /// pixel): the biases plus one product over all the kernel's rows, then the `PRelu`.
    fn row(&self, image: &[f32], w: usize, oy: usize, row: &mut [f32]) {
        let (c, lanes) = (self.c, self.lanes);
        let [sh, sw] = self.strides;
        self.fill_biases(row);
        let taps = Taps {
            count: self.kh,
            stride: w * c,
        };
        pointwise::strided(
            row.len() / lanes,
            self.kw * c,
            sw * c,
            taps,
            lanes,
            &image[oy * sh * w * c..],
            &self.packed,
            row,
        );
        if let Some(slope) = &self.prelu {
            prelu_row(row, slope);
        }
    }
}

/// The output's height and width of a kernel of `kernel_c` channels, `kh`×`kw`, at `strides`,
/// on an input of `c` channels, `h`×`w` (of `shape`, named in the error).
pub(crate) fn output_size_of(
    (kernel_c, kh, kw, strides): (usize, usize, usize, [usize; 2]),
    (c, h, w): (usize, usize, usize),
    shape: &[usize],
) -> Result<(usize, usize), Error> {
    if c != kernel_c || kh > h || kw > w {
        bail!("Conv: a {kh}×{kw} kernel over {kernel_c} channels on input {shape:?}");
    }
    let [sh, sw] = strides;
    Ok(((h - kh) / sh + 1, (w - kw) / sw + 1))
}

/// `PRelu` with `slope` (`lanes` values, a multiple of 16) on a row of `lanes` values a pixel.
fn prelu_row(row: &mut [f32], slope: &[f32]) {
    for (block, slope) in row
        .chunks_exact_mut(LANES)
        .zip(slope.chunks_exact(LANES).cycle())
    {
        for (v, &s) in block.iter_mut().zip(slope) {
            // Branch-free, so that it is computed eight or sixteen at a time.
            *v = v.min(0.0) * s + v.max(0.0);
        }
    }
}

/// Each pixel's first `m` of `lanes` values of `acc`, appended to `out` (`m` a pixel). The
/// usual widths are copied at a length known at compile time: a call to copy 8 or 40 bytes,
/// once a pixel, costs more than the copy.
pub(crate) fn unpad(acc: &[f32], lanes: usize, m: usize, out: &mut Vec<f32>) {
    fn fixed<const M: usize>(acc: &[f32], lanes: usize, out: &mut Vec<f32>) {
        for padded in acc.chunks_exact(lanes) {
            if let Some(Ok(values)) = padded.get(..M).map(<&[f32; M]>::try_from) {
                out.extend_from_slice(values);
            }
        }
    }
    match m {
        2 => fixed::<2>(acc, lanes, out),
        4 => fixed::<4>(acc, lanes, out),
        10 => fixed::<10>(acc, lanes, out),
        _ => {
            for padded in acc.chunks_exact(lanes) {
                out.extend_from_slice(&padded[..m]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Conv;
    use crate::tensor::Tensor;

    fn t(shape: &[usize], data: &[f32]) -> Tensor {
        Tensor::new(shape, data.to_vec()).expect("shape")
    }

    /// The definition, one output at a time.
    fn plain(x: &Tensor, k: &Tensor, bias: &[f32], [sh, sw]: [usize; 2]) -> Vec<f32> {
        let (&[n, c, h, w], &[m, _, kh, kw]) = (x.shape(), k.shape()) else {
            panic!("shapes")
        };
        let (oh, ow) = ((h - kh) / sh + 1, (w - kw) / sw + 1);
        let (xd, kd) = (x.data(), k.data());
        let mut out = Vec::new();
        for b in 0..n {
            for o in 0..m {
                for oy in 0..oh {
                    for ox in 0..ow {
                        let mut sum = bias[o];
                        for ci in 0..c {
                            for ky in 0..kh {
                                for kx in 0..kw {
                                    sum += xd[((b * c + ci) * h + oy * sh + ky) * w + ox * sw + kx]
                                        * kd[((o * c + ci) * kh + ky) * kw + kx];
                                }
                            }
                        }
                        out.push(sum);
                    }
                }
            }
        }
        out
    }

    #[test]
    fn a_convolution_is_the_sum_over_its_window() {
        // One 3×3 image, one 2×2 kernel of ones and a bias of 10.
        let x = t(&[1, 1, 3, 3], &[1., 2., 3., 4., 5., 6., 7., 8., 9.]);
        let k = t(&[1, 1, 2, 2], &[1.; 4]);
        let y = Conv::new(&k, Some(&t(&[1], &[10.])), [1, 1])
            .and_then(|conv| conv.run(&x))
            .expect("conv");
        assert_eq!(y.shape(), [1, 1, 2, 2]);
        assert_eq!(y.data(), [22., 26., 34., 38.]);
        let strided = Conv::new(&k, None, [2, 2])
            .and_then(|conv| conv.run(&x))
            .expect("conv");
        assert_eq!(strided.data(), [12.]);
        // 1×1 over two channels: a weighted sum per pixel.
        let two = t(&[1, 2, 1, 2], &[1., 2., 3., 4.]);
        let y = Conv::new(&t(&[1, 2, 1, 1], &[1., 10.]), None, [1, 1])
            .and_then(|conv| conv.run(&two))
            .expect("conv");
        assert_eq!(y.data(), [31., 42.]);
        let wrong_channels = Conv::new(&t(&[1, 2, 2, 2], &[1.; 8]), None, [1, 1]).expect("conv");
        assert!(wrong_channels.run(&x).is_err());
        assert!(Conv::new(&k, Some(&t(&[2], &[0.; 2])), [1, 1]).is_err());
    }

    #[test]
    fn every_shape_and_stride_gives_the_definition() {
        // MTCNN's shapes (3 → 10, 10 → 16, 16 → 32, 28 → 48, 2×2 kernels, 1×1 heads of 2 and
        // 4) and odd sizes that leave partial blocks of pixels and of channels.
        let cases = [
            (2, 3, 13, 11, 10, 3, [1, 1]),
            (1, 10, 9, 17, 16, 3, [1, 1]),
            (1, 16, 7, 9, 32, 3, [1, 1]),
            (3, 28, 6, 6, 48, 3, [1, 1]),
            (2, 48, 4, 4, 64, 2, [1, 1]),
            (1, 32, 5, 7, 2, 1, [1, 1]),
            (2, 32, 5, 6, 4, 1, [1, 1]),
            (1, 5, 11, 12, 20, 3, [2, 2]),
            (1, 4, 9, 10, 7, 2, [2, 3]),
        ];
        for (n, c, h, w, m, kk, strides) in cases {
            let x: Vec<f32> = (0..n * c * h * w)
                .map(|v| ((v * 37) % 101) as f32 / 50.0 - 1.0)
                .collect();
            let k: Vec<f32> = (0..m * c * kk * kk)
                .map(|v| ((v * 53) % 97) as f32 / 48.0 - 1.0)
                .collect();
            let bias: Vec<f32> = (0..m).map(|v| v as f32 * 0.25 - 1.0).collect();
            let (x, k) = (t(&[n, c, h, w], &x), t(&[m, c, kk, kk], &k));
            let y = Conv::new(&k, Some(&t(&[m], &bias)), strides)
                .and_then(|conv| conv.run(&x))
                .expect("conv");
            let want = plain(&x, &k, &bias, strides);
            // The same input channels-last gives the same output channels-last.
            let last = crate::ops::transpose(&x, &[0, 2, 3, 1]).expect("transpose");
            let y_last = Conv::new(&k, Some(&t(&[m], &bias)), strides)
                .and_then(|conv| conv.run_channels_last(&last))
                .and_then(|y| crate::ops::transpose(&y, &[0, 3, 1, 2]))
                .expect("conv");
            assert_eq!(y_last.data(), y.data());
            // With a PRelu after it.
            let slopes: Vec<f32> = (0..m).map(|v| 0.1 + v as f32 * 0.05).collect();
            let mut fused = Conv::new(&k, Some(&t(&[m], &bias)), strides).expect("conv");
            fused.then_prelu(&slopes).expect("slopes");
            let y_fused = fused
                .run_channels_last(&last)
                .and_then(|y| crate::ops::transpose(&y, &[0, 3, 1, 2]))
                .expect("conv");
            let activated =
                crate::ops::prelu(y.clone(), &t(&[1, m, 1, 1], &slopes)).expect("prelu");
            assert_eq!(y_fused.data(), activated.data());
            assert_eq!(
                y.data().len(),
                want.len(),
                "{:?} by {:?}",
                x.shape(),
                k.shape()
            );
            for (i, (got, want)) in y.data().iter().zip(&want).enumerate() {
                assert!(
                    (got - want).abs() <= 1e-4 * want.abs().max(1.0),
                    "{:?} by {:?}, stride {strides:?}, cell {i}: {got} against {want}",
                    x.shape(),
                    k.shape()
                );
            }
        }
    }
}
