//! The operators, on row-major tensors in ONNX's layouts (`[N, C, H, W]` for images); `Conv`
//! is in `conv.rs`.

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
    let ([kh, kw], [sh, sw]) = (kernel, strides);
    let ([oh, ow], [top, left]) = pool_size([h, w], kernel, strides, padding, x.shape())?;
    // Along each row first (the row copied into one padded with -∞ on both sides, so every
    // window is whole), then down the columns: each pass a plain maximum.
    let mut padded = vec![f32::NEG_INFINITY; ((ow - 1) * sw + kw).max(left + w)];
    let mut across = vec![0f32; h * ow];
    let mut out = vec![f32::NEG_INFINITY; n * c * oh * ow];
    let larger = |best: f32, v: f32| if v > best { v } else { best };
    for (plane, out) in x
        .data()
        .chunks_exact(h * w)
        .zip(out.chunks_exact_mut(oh * ow))
    {
        for (row, across) in plane.chunks_exact(w).zip(across.chunks_exact_mut(ow)) {
            padded[left..left + w].copy_from_slice(row);
            match kw {
                2 => row_max::<2>(&padded, sw, across),
                3 => row_max::<3>(&padded, sw, across),
                _ => {
                    for (cell, window) in across.iter_mut().zip(padded.windows(kw).step_by(sw)) {
                        *cell = window.iter().copied().fold(f32::NEG_INFINITY, larger);
                    }
                }
            }
        }
        for (oy, out_row) in out.chunks_exact_mut(ow).enumerate() {
            let y0 = (oy * sh).saturating_sub(top);
            let y1 = (oy * sh + kh).saturating_sub(top).min(h);
            for row in across[y0 * ow..y1 * ow].chunks_exact(ow) {
                for (o, &v) in out_row.iter_mut().zip(row) {
                    *o = larger(*o, v);
                }
            }
        }
    }
    Tensor::new(&[n, c, oh, ow], out)
}

/// `MaxPool` on channels-last `[N, H, W, C]`: the same windows as [`max_pool`], each a
/// maximum over whole pixels (all channels at once).
pub fn max_pool_channels_last(
    x: &Tensor,
    kernel: [usize; 2],
    strides: [usize; 2],
    padding: Padding,
) -> Result<Tensor, Error> {
    let &[n, h, w, c] = x.shape() else {
        bail!("MaxPool: an input of shape {:?}", x.shape());
    };
    let ([kh, kw], [sh, sw]) = (kernel, strides);
    let ([oh, ow], [top, left]) = pool_size([h, w], kernel, strides, padding, x.shape())?;
    // A value chosen, not a store made only when larger: the loops stay vectorised.
    let larger = |best: &mut f32, v: f32| *best = if v > *best { v } else { *best };
    let mut padded = vec![f32::NEG_INFINITY; ((ow - 1) * sw + kw).max(left + w) * c];
    let mut across = vec![0f32; h * ow * c];
    let mut out = vec![f32::NEG_INFINITY; n * oh * ow * c];
    for (image, out) in x
        .data()
        .chunks_exact(h * w * c)
        .zip(out.chunks_exact_mut(oh * ow * c))
    {
        for (row, across) in image
            .chunks_exact(w * c)
            .zip(across.chunks_exact_mut(ow * c))
        {
            padded[left * c..(left + w) * c].copy_from_slice(row);
            for (ox, cell) in across.chunks_exact_mut(c).enumerate() {
                let window = &padded[ox * sw * c..(ox * sw + kw) * c];
                // The common widths in one pass over the window's pixels side by side.
                match kw {
                    2 => {
                        let (p0, p1) = window.split_at(c);
                        for ((best, &a), &b) in cell.iter_mut().zip(p0).zip(p1) {
                            *best = if b > a { b } else { a };
                        }
                    }
                    3 => {
                        let (p0, rest) = window.split_at(c);
                        let (p1, p2) = rest.split_at(c);
                        for (((best, &a), &b), &d) in cell.iter_mut().zip(p0).zip(p1).zip(p2) {
                            let m = if b > a { b } else { a };
                            *best = if d > m { d } else { m };
                        }
                    }
                    _ => {
                        cell.copy_from_slice(&window[..c]);
                        for pixel in window[c..].chunks_exact(c) {
                            for (best, &v) in cell.iter_mut().zip(pixel) {
                                larger(best, v);
                            }
                        }
                    }
                }
            }
        }
        for (oy, out_row) in out.chunks_exact_mut(ow * c).enumerate() {
            let y0 = (oy * sh).saturating_sub(top);
            let y1 = (oy * sh + kh).saturating_sub(top).min(h);
            for row in across[y0 * ow * c..y1 * ow * c].chunks_exact(ow * c) {
                for (best, &v) in out_row.iter_mut().zip(row) {
                    larger(best, v);
                }
            }
        }
    }
    Tensor::new(&[n, oh, ow, c], out)
}

/// The maximum of each `K`-wide window of `row`, one window every `stride` cells (the common
/// kernel widths, unrolled).
fn row_max<const K: usize>(row: &[f32], stride: usize, out: &mut [f32]) {
    for (o, cell) in out.iter_mut().enumerate() {
        let Some(window) = row.get(o * stride..o * stride + K) else {
            return;
        };
        let mut best = window[0];
        for &v in &window[1..] {
            if v > best {
                best = v;
            }
        }
        *cell = best;
    }
}

/// The output height and width of pooling an `h`×`w` input, and the padding above and to the
/// left (`shape`, the input's, for the error).
fn pool_size(
    [h, w]: [usize; 2],
    kernel: [usize; 2],
    strides: [usize; 2],
    padding: Padding,
    shape: &[usize],
) -> Result<([usize; 2], [usize; 2]), Error> {
    let ([kh, kw], [sh, sw]) = (kernel, strides);
    if kh == 0 || kw == 0 || sh == 0 || sw == 0 || h == 0 || w == 0 {
        bail!("MaxPool: kernel {kernel:?}, strides {strides:?}, input {shape:?}");
    }
    let (oh, top) = pooled(h, kh, sh, padding)?;
    let (ow, left) = pooled(w, kw, sw, padding)?;
    Ok(([oh, ow], [top, left]))
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
    let inner = match varying.as_slice() {
        [] => 1,
        [i] if ps[*i] == shape[offset + i] => shape[offset + i + 1..].iter().product::<usize>(),
        _ => bail!("{op}: a parameter of shape {ps:?} for an input of shape {shape:?}"),
    };
    let p = param.data();
    let mut data = x.into_data();
    if inner > 0 {
        for (run, &pv) in data.chunks_exact_mut(inner).zip(p.iter().cycle()) {
            for v in run {
                *v = f(*v, pv);
            }
        }
    }
    Tensor::new(&shape, data)
}

/// `PRelu`: `v` where `v ≥ 0`, `slope · v` elsewhere.
pub fn prelu(x: Tensor, slope: &Tensor) -> Result<Tensor, Error> {
    broadcast(x, slope, "PRelu", |v, s| if v >= 0.0 { v } else { s * v })
}

/// `PRelu` on channels-last `[…, C]` with one slope per channel (or one for all).
pub fn prelu_channels_last(x: Tensor, slope: &[f32]) -> Result<Tensor, Error> {
    let c = x.shape().last().copied().unwrap_or(0);
    if slope.len() != c && slope.len() != 1 {
        bail!(
            "PRelu: {} slopes for channels-last input {:?}",
            slope.len(),
            x.shape()
        );
    }
    let shape = x.shape().to_vec();
    let mut data = x.into_data();
    if c > 0 {
        let one = [slope[0]];
        let slope = if slope.len() == c { slope } else { &one };
        for pixel in data.chunks_exact_mut(slope.len()) {
            for (v, &s) in pixel.iter_mut().zip(slope) {
                *v = v.min(0.0) * s + v.max(0.0);
            }
        }
    }
    Tensor::new(&shape, data)
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
    fn channels_last_pooling_and_prelu_agree_with_channels_first() {
        let (n, c, h, w) = (2, 3, 7, 6);
        let x = t(
            &[n, c, h, w],
            &(0..n * c * h * w)
                .map(|v| ((v * 29) % 23) as f32 - 11.0)
                .collect::<Vec<_>>(),
        );
        let last = transpose(&x, &[0, 2, 3, 1]).expect("transpose");
        for (kernel, strides, padding) in [
            ([2, 2], [2, 2], Padding::Valid),
            ([3, 3], [2, 2], Padding::Valid),
            ([2, 2], [2, 2], Padding::SameUpper),
            ([3, 2], [2, 3], Padding::SameUpper),
        ] {
            let want = max_pool(&x, kernel, strides, padding).expect("pool");
            let got = max_pool_channels_last(&last, kernel, strides, padding)
                .and_then(|y| transpose(&y, &[0, 3, 1, 2]))
                .expect("pool");
            assert_eq!(
                got.shape(),
                want.shape(),
                "{kernel:?} {strides:?} {padding:?}"
            );
            assert_eq!(
                got.data(),
                want.data(),
                "{kernel:?} {strides:?} {padding:?}"
            );
        }
        let slopes = [0.5, 0.25, 2.0];
        let want = prelu(x, &t(&[1, 3, 1, 1], &slopes)).expect("prelu");
        let got = prelu_channels_last(last, &slopes)
            .and_then(|y| transpose(&y, &[0, 3, 1, 2]))
            .expect("prelu");
        assert_eq!(got.data(), want.data());
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
