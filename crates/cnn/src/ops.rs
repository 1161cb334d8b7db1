//! The operators, on row-major tensors in ONNX's layouts (`[N, C, H, W]` for images).

use crate::error::{Error, bail};
use crate::tensor::Tensor;

/// How a pooling window meets the edges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Padding {
    /// Windows wholly inside the input.
    Valid,
    /// `ceil(in / stride)` outputs; the padding split evenly, any odd cell at the end.
    SameUpper,
}

/// `Conv` without padding: `x` `[N, C, H, W]`, `weight` `[M, C, kh, kw]`, `bias` `[M]`.
pub fn conv(
    x: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    strides: [usize; 2],
) -> Result<Tensor, Error> {
    let &[n, c, h, w] = x.shape() else {
        bail!("Conv: an input of shape {:?}", x.shape());
    };
    let &[m, wc, kh, kw] = weight.shape() else {
        bail!("Conv: a kernel of shape {:?}", weight.shape());
    };
    let [sh, sw] = strides;
    if wc != c || kh > h || kw > w || sh == 0 || sw == 0 {
        bail!(
            "Conv: a {kh}×{kw} kernel over {wc} channels, stride {strides:?}, on input {:?}",
            x.shape()
        );
    }
    let (oh, ow) = ((h - kh) / sh + 1, (w - kw) / sw + 1);
    let (k, p) = (c * kh * kw, oh * ow);
    let mut out = vec![0f32; n * m * p];
    if let Some(bias) = bias {
        if bias.data().len() != m {
            bail!("Conv: {} biases for {m} outputs", bias.data().len());
        }
        for (row, &b) in out.chunks_exact_mut(p).zip(bias.data().iter().cycle()) {
            row.fill(b);
        }
    }
    let direct = kh == 1 && kw == 1 && sh == 1 && sw == 1;
    let mut cols = if direct {
        Vec::new()
    } else {
        vec![0f32; k * p]
    };
    for (image, out) in x
        .data()
        .chunks_exact(c * h * w)
        .zip(out.chunks_exact_mut(m * p))
    {
        if !direct {
            image_to_columns(image, [c, h, w], [kh, kw], strides, [oh, ow], &mut cols);
        }
        let columns = if direct { image } else { &cols };
        gemm(m, k, p, weight.data(), columns, out);
    }
    Tensor::new(&[n, m, oh, ow], out)
}

/// Lays the kernel-sized patches of one `[C, H, W]` image out as columns: row `(c, ky, kx)`,
/// column `(oy, ox)`.
fn image_to_columns(
    image: &[f32],
    [c, h, w]: [usize; 3],
    [kh, kw]: [usize; 2],
    [sh, sw]: [usize; 2],
    [oh, ow]: [usize; 2],
    cols: &mut [f32],
) {
    let p = oh * ow;
    let mut rows = cols.chunks_exact_mut(p);
    for ci in 0..c {
        let plane = &image[ci * h * w..(ci + 1) * h * w];
        for ky in 0..kh {
            for kx in 0..kw {
                let Some(row) = rows.next() else { return };
                for (oy, dst) in row.chunks_exact_mut(ow).enumerate() {
                    let src = &plane[(oy * sh + ky) * w..];
                    if sw == 1 {
                        dst.copy_from_slice(&src[kx..kx + ow]);
                    } else {
                        for (ox, d) in dst.iter_mut().enumerate() {
                            *d = src[ox * sw + kx];
                        }
                    }
                }
            }
        }
    }
}

/// `c += a · b` for row-major `a` `[m, k]`, `b` `[k, n]`, `c` `[m, n]`.
fn gemm(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n);
    // SAFETY: the three slices hold at least the cells the strides reach (asserted above), and
    // `c` is borrowed mutably, so it overlaps neither `a` nor `b`.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            k as isize,
            1,
            b.as_ptr(),
            n as isize,
            1,
            1.0,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

/// `MaxPool` on `[N, C, H, W]`.
pub fn max_pool(
    x: &Tensor,
    kernel: [usize; 2],
    strides: [usize; 2],
    padding: Padding,
) -> Result<Tensor, Error> {
    let &[n, c, h, w] = x.shape() else {
        bail!("MaxPool: an input of shape {:?}", x.shape());
    };
    let [kh, kw] = kernel;
    let [sh, sw] = strides;
    if kh == 0 || kw == 0 || sh == 0 || sw == 0 || h == 0 || w == 0 {
        bail!(
            "MaxPool: kernel {kernel:?}, strides {strides:?}, input {:?}",
            x.shape()
        );
    }
    let (oh, top) = pooled(h, kh, sh, padding)?;
    let (ow, left) = pooled(w, kw, sw, padding)?;
    let mut out = Vec::with_capacity(n * c * oh * ow);
    for plane in x.data().chunks_exact(h * w) {
        for oy in 0..oh {
            let y0 = (oy * sh).saturating_sub(top);
            let y1 = (oy * sh + kh).saturating_sub(top).min(h);
            for ox in 0..ow {
                let x0 = (ox * sw).saturating_sub(left);
                let x1 = (ox * sw + kw).saturating_sub(left).min(w);
                let mut best = f32::NEG_INFINITY;
                for row in plane[y0 * w..y1 * w].chunks_exact(w) {
                    for &v in &row[x0..x1] {
                        best = best.max(v);
                    }
                }
                out.push(best);
            }
        }
    }
    Tensor::new(&[n, c, oh, ow], out)
}

/// Outputs along one axis of `len` cells, and the padding before the first window.
fn pooled(
    len: usize,
    kernel: usize,
    stride: usize,
    padding: Padding,
) -> Result<(usize, usize), Error> {
    match padding {
        Padding::Valid if kernel > len => bail!("MaxPool: a {kernel} window over {len} cells"),
        Padding::Valid => Ok(((len - kernel) / stride + 1, 0)),
        Padding::SameUpper => {
            let out = len.div_ceil(stride);
            let total = ((out - 1) * stride + kernel).saturating_sub(len);
            Ok((out, total / 2))
        }
    }
}

/// `x` with each cell `v` replaced by `f(v, p)`, `p` the cell of `param` it broadcasts to
/// (numpy's rules, for a `param` that is a scalar or varies along one axis of `x`).
fn broadcast(
    x: Tensor,
    param: &Tensor,
    op: &str,
    f: impl Fn(f32, f32) -> f32,
) -> Result<Tensor, Error> {
    let (shape, ps) = (x.shape().to_vec(), param.shape());
    if ps.len() > shape.len() {
        bail!("{op}: a parameter of shape {ps:?} for an input of shape {shape:?}");
    }
    let offset = shape.len() - ps.len();
    let varying: Vec<usize> = (0..ps.len()).filter(|&i| ps[i] != 1).collect();
    let (size, inner) = match varying.as_slice() {
        [] => (1, 1),
        [i] if ps[*i] == shape[offset + i] => {
            (ps[*i], shape[offset + i + 1..].iter().product::<usize>())
        }
        _ => bail!("{op}: a parameter of shape {ps:?} for an input of shape {shape:?}"),
    };
    let p = param.data();
    let mut data = x.into_data();
    for (i, v) in data.iter_mut().enumerate() {
        *v = f(*v, p[(i / inner) % size]);
    }
    Tensor::new(&shape, data)
}

/// `PRelu`: `v` where `v ≥ 0`, `slope · v` elsewhere.
pub fn prelu(x: Tensor, slope: &Tensor) -> Result<Tensor, Error> {
    broadcast(x, slope, "PRelu", |v, s| if v >= 0.0 { v } else { s * v })
}

/// `Add` of a constant.
pub fn add(x: Tensor, b: &Tensor) -> Result<Tensor, Error> {
    broadcast(x, b, "Add", |v, b| v + b)
}

/// `MatMul` of `[M, K]` by a constant `[K, N]`.
pub fn mat_mul(x: &Tensor, weight: &Tensor) -> Result<Tensor, Error> {
    let (&[m, k], &[wk, n]) = (x.shape(), weight.shape()) else {
        bail!("MatMul: shapes {:?} and {:?}", x.shape(), weight.shape());
    };
    if k != wk {
        bail!("MatMul: shapes {:?} and {:?}", x.shape(), weight.shape());
    }
    let mut out = vec![0f32; m * n];
    gemm(m, k, n, x.data(), weight.data(), &mut out);
    Tensor::new(&[m, n], out)
}

/// `Softmax` along the last axis (`axis` must name it).
pub fn softmax(x: Tensor, axis: i64) -> Result<Tensor, Error> {
    let rank = x.shape().len();
    let last = x.shape().last().copied().unwrap_or(1);
    if rank == 0 || (axis != -1 && axis != rank as i64 - 1) || last == 0 {
        bail!(
            "Softmax: axis {axis} of shape {:?} (only the last is taken)",
            x.shape()
        );
    }
    let shape = x.shape().to_vec();
    let mut data = x.into_data();
    for row in data.chunks_exact_mut(last) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0;
        for v in row.iter_mut() {
            *v = (*v - max).exp();
            sum += *v;
        }
        for v in row.iter_mut() {
            *v /= sum;
        }
    }
    Tensor::new(&shape, data)
}

/// `Flatten`: `[d0 … d(axis-1), d(axis) … ]` to two dimensions.
pub fn flatten(x: Tensor, axis: usize) -> Result<Tensor, Error> {
    if axis > x.shape().len() {
        bail!("Flatten: axis {axis} of shape {:?}", x.shape());
    }
    let outer = x.shape()[..axis].iter().product::<usize>();
    let inner = x.shape()[axis..].iter().product::<usize>();
    x.reshaped(&[outer, inner])
}

/// `Transpose` by `perm` (output axis `i` is input axis `perm[i]`).
pub fn transpose(x: &Tensor, perm: &[usize]) -> Result<Tensor, Error> {
    let shape = x.shape();
    let rank = shape.len();
    let mut seen = vec![false; rank];
    for &p in perm {
        if p >= rank || std::mem::replace(&mut seen[p], true) {
            bail!("Transpose: permutation {perm:?} of shape {shape:?}");
        }
    }
    if perm.len() != rank {
        bail!("Transpose: permutation {perm:?} of shape {shape:?}");
    }
    let mut strides = vec![1usize; rank];
    for i in (0..rank.saturating_sub(1)).rev() {
        strides[i] = strides[i + 1] * shape[i + 1];
    }
    let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let out_strides: Vec<usize> = perm.iter().map(|&p| strides[p]).collect();
    let data = x.data();
    let mut out = Vec::with_capacity(data.len());
    if data.is_empty() {
        return Tensor::new(&out_shape, out);
    }
    // Walks the output in order; the innermost axis is a strided copy.
    let inner = out_shape[rank - 1];
    let inner_stride = out_strides[rank - 1];
    let mut index = vec![0usize; rank];
    loop {
        let base: usize = index.iter().zip(&out_strides).map(|(i, s)| i * s).sum();
        out.extend((0..inner).map(|j| data[base + j * inner_stride]));
        // The next index over every axis but the last.
        let mut axis = rank - 1;
        loop {
            if axis == 0 {
                return Tensor::new(&out_shape, out);
            }
            axis -= 1;
            index[axis] += 1;
            if index[axis] < out_shape[axis] {
                break;
            }
            index[axis] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(shape: &[usize], data: &[f32]) -> Tensor {
        Tensor::new(shape, data.to_vec()).expect("shape")
    }

    #[test]
    fn a_convolution_is_the_sum_over_its_window() {
        // One 3×3 image, one 2×2 kernel of ones and a bias of 10.
        let x = t(&[1, 1, 3, 3], &[1., 2., 3., 4., 5., 6., 7., 8., 9.]);
        let k = t(&[1, 1, 2, 2], &[1.; 4]);
        let y = conv(&x, &k, Some(&t(&[1], &[10.])), [1, 1]).expect("conv");
        assert_eq!(y.shape(), [1, 1, 2, 2]);
        assert_eq!(y.data(), [22., 26., 34., 38.]);
        let strided = conv(&x, &k, None, [2, 2]).expect("conv");
        assert_eq!(strided.data(), [12.]);
        // 1×1 over two channels: a weighted sum per pixel.
        let two = t(&[1, 2, 1, 2], &[1., 2., 3., 4.]);
        let y = conv(&two, &t(&[1, 2, 1, 1], &[1., 10.]), None, [1, 1]).expect("conv");
        assert_eq!(y.data(), [31., 42.]);
        assert!(conv(&x, &t(&[1, 2, 2, 2], &[1.; 8]), None, [1, 1]).is_err());
    }

    #[test]
    fn same_upper_pooling_pads_at_the_end() {
        let x = t(&[1, 1, 1, 5], &[1., 5., 2., 3., 4.]);
        let same = max_pool(&x, [1, 2], [1, 2], Padding::SameUpper).expect("pool");
        assert_eq!(same.data(), [5., 3., 4.]);
        let valid = max_pool(&x, [1, 2], [1, 2], Padding::Valid).expect("pool");
        assert_eq!(valid.data(), [5., 3.]);
        // 3 wide, stride 2 over 4: one cell of padding, at the end.
        let four = t(&[1, 1, 1, 4], &[9., 1., 2., 3.]);
        let same = max_pool(&four, [1, 3], [1, 2], Padding::SameUpper).expect("pool");
        assert_eq!(same.data(), [9., 3.]);
    }

    #[test]
    fn parameters_broadcast_along_their_axis() {
        let x = t(&[1, 2, 1, 2], &[-1., 2., -3., 4.]);
        let y = prelu(x, &t(&[1, 2, 1, 1], &[0.5, 0.1])).expect("prelu");
        assert_eq!(y.data(), [-0.5, 2., -0.3, 4.]);
        let y = add(t(&[2, 2], &[1., 2., 3., 4.]), &t(&[2], &[10., 20.])).expect("add");
        assert_eq!(y.data(), [11., 22., 13., 24.]);
        assert!(add(t(&[2, 2], &[0.; 4]), &t(&[3], &[0.; 3])).is_err());
    }

    #[test]
    fn a_shape_and_its_values_must_agree() {
        assert!(Tensor::new(&[2, 2], vec![0.0; 3]).is_err());
        let err = Tensor::new(&[usize::MAX, 2], Vec::new()).expect_err("overflows");
        assert!(err.to_string().contains("too many"), "{err}");
    }

    #[test]
    fn transpose_matmul_and_softmax() {
        let x = t(&[2, 3], &[1., 2., 3., 4., 5., 6.]);
        let y = transpose(&x, &[1, 0]).expect("transpose");
        assert_eq!(
            (y.shape(), y.data()),
            (&[3, 2][..], &[1., 4., 2., 5., 3., 6.][..])
        );
        assert!(transpose(&x, &[0, 0]).is_err());
        let y = mat_mul(&x, &t(&[3, 1], &[1., 1., 1.])).expect("matmul");
        assert_eq!(y.data(), [6., 15.]);
        let y = softmax(t(&[1, 2], &[0., 0.]), 1).expect("softmax");
        assert_eq!(y.data(), [0.5, 0.5]);
        assert!(softmax(t(&[1, 2], &[0., 0.]), 0).is_err());
    }
}
