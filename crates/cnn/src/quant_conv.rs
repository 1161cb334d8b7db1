//! A channels-last convolution in 8-bit integers (`Net::with_int8`): the input quantised to
//! unsigned bytes over a fixed range, the weights to signed bytes per output channel, the
//! products summed exactly in 32-bit integers (`int_product.rs`), then each sum turned back
//! into `f32` with its channel's scale, bias and `PRelu`. With VNNI a product costs a quarter
//! of the `f32` one's instructions (four products per lane and instruction instead of one);
//! with AVX2 about as many, on narrower loads (docs/MODERATION.md, "8-bit convolutions").
//!
//! Given the same input, every CPU gives the same output bits: the sums are exact, and what
//! comes before and after them is the same arithmetic everywhere (scalar, or eight values at a
//! time with AVX2, in the same order; unit tests compare the bits).

use crate::conv::{Conv, output_size_of, unpad};
use crate::error::{Error, bail};
use crate::int_product::{self, IntIsa, Shape, WEIGHT_MAX, Weights};
use crate::pointwise::Taps;
use crate::tensor::Tensor;

/// The values a quantised input covers: `lo..=hi` in 255 equal steps (values outside are
/// clamped to the nearest end).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InputRange {
    pub lo: f32,
    pub hi: f32,
}

/// A `Conv` (with its fused `PRelu`) in 8-bit integers.
pub(crate) struct QuantConv {
    /// `[kh, groups, lanes, 4]`: each kernel row's `kw · c` inputs in groups of four (the last
    /// padded with zeros), four weights per output channel and group.
    weights: Weights,
    /// Per output lane: what one unit of the integer sum is worth (the input's step times the
    /// channel's weight step), and what is added (the bias less the input's offset).
    scale: Vec<f32>,
    offset: Vec<f32>,
    prelu: Option<Vec<f32>>,
    /// The input range's lower end (byte 0), and 255 / (hi − lo).
    lo: f32,
    steps_per_unit: f32,
    m: usize,
    c: usize,
    kh: usize,
    kw: usize,
    lanes: usize,
    groups: usize,
    strides: [usize; 2],
}

impl QuantConv {
    /// `conv` (weights, biases, `PRelu`) for inputs in `range`.
    pub(crate) fn new(conv: &Conv, range: InputRange) -> Result<Self, Error> {
        let InputRange { lo, hi } = range;
        if !(lo.is_finite() && hi.is_finite() && hi > lo) {
            bail!("an input range of {lo}..{hi}");
        }
        let (kh, k, lanes) = (conv.kh, conv.kw * conv.c, conv.lanes);
        let groups = k.div_ceil(4);
        // The input's step and the zero's place: x ≈ step · (q − zero).
        let step = f64::from(hi - lo) / 255.0;
        let zero = -f64::from(lo) / step;
        let mut weights = vec![0i8; kh * groups * lanes * 4];
        let (mut scale, mut offset) = (vec![0f32; lanes], vec![0f32; lanes]);
        for o in 0..lanes {
            let column = || (0..kh * k).map(|i| conv.packed[i * lanes + o]);
            let largest = column().fold(0f32, |m, v| m.max(v.abs()));
            let unit = if largest > 0.0 {
                f64::from(largest) / f64::from(WEIGHT_MAX)
            } else {
                1.0
            };
            let mut sum = 0i64;
            for (i, v) in column().enumerate() {
                let q = (f64::from(v) / unit).round() as i32;
                let (t, at) = (i / k, i % k);
                weights[((t * groups + at / 4) * lanes + o) * 4 + at % 4] = q as i8;
                sum += i64::from(q);
            }
            let worth = step * unit;
            scale[o] = worth as f32;
            offset[o] = (f64::from(conv.bias[o]) - worth * zero * sum as f64) as f32;
        }
        Ok(Self {
            weights: Weights::new(weights, lanes),
            scale,
            offset,
            prelu: conv.prelu.clone(),
            lo,
            steps_per_unit: (255.0 / f64::from(hi - lo)) as f32,
            m: conv.m,
            c: conv.c,
            kh,
            kw: conv.kw,
            lanes,
            groups,
            strides: conv.strides,
        })
    }

    /// Runs on `x` `[N, H, W, C]` (channels-last); the output is `[N, OH, OW, M]`.
    pub(crate) fn run_channels_last(&self, x: &Tensor) -> Result<Tensor, Error> {
        self.run_with(IntIsa::best(), x)
    }

    /// [`QuantConv::run_channels_last`] with `isa`.
    fn run_with(&self, isa: IntIsa, x: &Tensor) -> Result<Tensor, Error> {
        let &[n, h, w, c] = x.shape() else {
            bail!("Conv: an input of shape {:?}", x.shape());
        };
        let (oh, ow) = output_size_of(
            (self.c, self.kh, self.kw, self.strides),
            (c, h, w),
            x.shape(),
        )?;
        let (m, lanes) = (self.m, self.lanes);
        let [sh, sw] = self.strides;
        let mut out = Vec::with_capacity(n * oh * ow * m);
        // The image's bytes, and three more: the last group of a row may reach past its
        // `kw · c` inputs (their weights are zero).
        let mut bytes = vec![0u8; h * w * c + 3];
        let mut sums = vec![0i32; ow * lanes];
        let mut row = vec![0f32; ow * lanes];
        for image in x.data().chunks_exact(h * w * c) {
            self.quantise(image, &mut bytes);
            let shape = Shape {
                rows: ow,
                groups: self.groups,
                lda: sw * c,
                taps: Taps {
                    count: self.kh,
                    stride: w * c,
                },
                lanes,
            };
            for oy in 0..oh {
                int_product::product(
                    isa,
                    shape,
                    &bytes[oy * sh * w * c..],
                    &self.weights,
                    &mut sums,
                );
                self.to_values(&sums, &mut row);
                if lanes == m {
                    out.extend_from_slice(&row);
                } else {
                    unpad(&row, lanes, m, &mut out);
                }
            }
        }
        Tensor::new(&[n, oh, ow, m], out)
    }

    /// Each integer sum of `sums` (`lanes` a pixel) as its value in `row`: scaled, the bias
    /// added, then the `PRelu` (in one pass; the same operations as `prelu_row`).
    fn to_values(&self, sums: &[i32], row: &mut [f32]) {
        let (scale, offset) = (&self.scale, &self.offset);
        match &self.prelu {
            Some(slope) => {
                #[cfg(target_arch = "x86_64")]
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU has AVX2 (checked above); every slice is `lanes` long, a
                    // multiple of 16, and `row` and `sums` hold whole pixels of `lanes` values.
                    unsafe { values_avx2(sums, row, scale, offset, slope) };
                    return;
                }
                values(sums, row, scale, offset, slope);
            }
            None => {
                let pixels = row
                    .chunks_exact_mut(self.lanes)
                    .zip(sums.chunks_exact(self.lanes));
                for (values, sums) in pixels {
                    for ((v, &s), (&k, &b)) in
                        values.iter_mut().zip(sums).zip(scale.iter().zip(offset))
                    {
                        *v = s as f32 * k + b;
                    }
                }
            }
        }
    }

    /// `image` as bytes: each value's nearest of the range's 256 steps.
    fn quantise(&self, image: &[f32], bytes: &mut [u8]) {
        let (lo, per) = (self.lo, self.steps_per_unit);
        let mut done = 0;
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked above).
            done = unsafe { quantise_avx2(image, bytes, lo, per) };
        }
        for (b, &v) in bytes.iter_mut().zip(image).skip(done) {
            *b = quantised(v, lo, per);
        }
    }
}

/// [`QuantConv::to_values`] with a `PRelu`: each sum of `sums` scaled, its offset added, then the
/// slope of `slope` below zero (`lanes` of each a pixel, `lanes` being their length).
fn values(sums: &[i32], row: &mut [f32], scale: &[f32], offset: &[f32], slope: &[f32]) {
    let lanes = scale.len();
    for (values, sums) in row.chunks_exact_mut(lanes).zip(sums.chunks_exact(lanes)) {
        for (((v, &s), (&k, &b)), &a) in values
            .iter_mut()
            .zip(sums)
            .zip(scale.iter().zip(offset))
            .zip(slope)
        {
            let x = s as f32 * k + b;
            *v = x.min(0.0) * a + x.max(0.0);
        }
    }
}

/// [`values`] eight at a time: the same operations in the same order (a multiply, then an add;
/// never fused), so the same bits.
///
/// # Safety
/// The CPU has AVX2; `scale`, `offset` and `slope` hold `lanes` values, a multiple of 8, and
/// `sums` and `row` the same whole number of pixels of `lanes` values.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn values_avx2(sums: &[i32], row: &mut [f32], scale: &[f32], offset: &[f32], slope: &[f32]) {
    use std::arch::x86_64::{
        _mm256_add_ps, _mm256_cvtepi32_ps, _mm256_loadu_ps, _mm256_loadu_si256, _mm256_max_ps,
        _mm256_min_ps, _mm256_mul_ps, _mm256_setzero_ps, _mm256_storeu_ps,
    };
    let lanes = scale.len();
    let zero = _mm256_setzero_ps();
    for (values, sums) in row.chunks_exact_mut(lanes).zip(sums.chunks_exact(lanes)) {
        for at in (0..lanes).step_by(8) {
            // SAFETY: `at + 8 ≤ lanes`, the length of every slice read or written here.
            unsafe {
                let s = _mm256_cvtepi32_ps(_mm256_loadu_si256(sums.as_ptr().add(at).cast()));
                let x = _mm256_add_ps(
                    _mm256_mul_ps(s, _mm256_loadu_ps(scale.as_ptr().add(at))),
                    _mm256_loadu_ps(offset.as_ptr().add(at)),
                );
                let negative = _mm256_mul_ps(
                    _mm256_min_ps(x, zero),
                    _mm256_loadu_ps(slope.as_ptr().add(at)),
                );
                let v = _mm256_add_ps(negative, _mm256_max_ps(x, zero));
                _mm256_storeu_ps(values.as_mut_ptr().add(at), v);
            }
        }
    }
}

/// `v`'s byte: clamped first, so that the truncation rounds to nearest (NaN becomes 0).
#[inline(always)]
fn quantised(v: f32, lo: f32, per: f32) -> u8 {
    (((v - lo) * per).clamp(0.0, 255.0) + 0.5) as u8
}

/// [`quantised`] of the values of `image`, 32 at a time while whole blocks last, with the same
/// operations in the same order (so the same bytes); how many it wrote.
///
/// # Safety
/// The CPU has AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn quantise_avx2(image: &[f32], bytes: &mut [u8], lo: f32, per: f32) -> usize {
    use std::arch::x86_64::{
        __m256i, _mm256_add_ps, _mm256_cvttps_epi32, _mm256_loadu_ps, _mm256_max_ps, _mm256_min_ps,
        _mm256_mul_ps, _mm256_packs_epi32, _mm256_packus_epi16, _mm256_permutevar8x32_epi32,
        _mm256_set1_ps, _mm256_setr_epi32, _mm256_setzero_ps, _mm256_setzero_si256,
        _mm256_storeu_si256, _mm256_sub_ps,
    };
    let (lo, per) = (_mm256_set1_ps(lo), _mm256_set1_ps(per));
    let (top, half) = (_mm256_set1_ps(255.0), _mm256_set1_ps(0.5));
    // The packs interleave the halves of the registers; this puts the bytes back in order.
    let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    let whole = image.len().min(bytes.len()) / 32 * 32;
    for (values, out) in image[..whole]
        .chunks_exact(32)
        .zip(bytes[..whole].chunks_exact_mut(32))
    {
        let mut ints = [_mm256_setzero_si256(); 4];
        for (i, lanes) in ints.iter_mut().enumerate() {
            // SAFETY: `values` holds 32 floats; this reads 8 of them.
            let v = unsafe { _mm256_loadu_ps(values.as_ptr().add(i * 8)) };
            // `max` first with the value first: a NaN becomes 0, as `clamp` then `as` make it.
            let scaled = _mm256_mul_ps(_mm256_sub_ps(v, lo), per);
            let clamped = _mm256_min_ps(_mm256_max_ps(scaled, _mm256_setzero_ps()), top);
            *lanes = _mm256_cvttps_epi32(_mm256_add_ps(clamped, half));
        }
        let words = (
            _mm256_packs_epi32(ints[0], ints[1]),
            _mm256_packs_epi32(ints[2], ints[3]),
        );
        let packed: __m256i =
            _mm256_permutevar8x32_epi32(_mm256_packus_epi16(words.0, words.1), order);
        // SAFETY: `out` holds 32 bytes.
        unsafe { _mm256_storeu_si256(out.as_mut_ptr().cast(), packed) };
    }
    whole
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(shape: &[usize], data: Vec<f32>) -> Tensor {
        Tensor::new(shape, data).expect("shape")
    }

    /// A convolution of MTCNN's kind (3×3, `PRelu`) and an input channels-last.
    fn case(c: usize, h: usize, w: usize, m: usize) -> (Conv, Tensor) {
        let k: Vec<f32> = (0..m * c * 9)
            .map(|v| ((v * 53) % 97) as f32 / 96.0 - 0.5)
            .collect();
        let bias: Vec<f32> = (0..m).map(|v| v as f32 * 0.125 - 0.5).collect();
        let mut conv = Conv::new(&t(&[m, c, 3, 3], k), Some(&t(&[m], bias)), [1, 1]).expect("conv");
        let slopes: Vec<f32> = (0..m).map(|v| 0.1 + v as f32 * 0.01).collect();
        conv.then_prelu(&slopes).expect("slopes");
        let x: Vec<f32> = (0..h * w * c)
            .map(|v| ((v * 37) % 101) as f32 / 50.0 - 1.0)
            .collect();
        (conv, t(&[1, h, w, c], x))
    }

    #[test]
    fn an_int8_convolution_is_close_to_the_float_one() {
        for (c, h, w, m) in [
            (3, 12, 17, 10),
            (10, 9, 14, 16),
            (16, 7, 9, 32),
            (28, 5, 5, 48),
        ] {
            let (conv, x) = case(c, h, w, m);
            let want = conv.run_channels_last(&x).expect("f32");
            let quant = QuantConv::new(&conv, InputRange { lo: -1.0, hi: 1.0 }).expect("int8");
            let got = quant.run_channels_last(&x).expect("int8");
            assert_eq!(got.shape(), want.shape());
            // Each output sums 9 · c products: the error of 8-bit inputs and weights
            // stays within a few per cent of the largest output.
            let largest = want.data().iter().fold(0f32, |m, v| m.max(v.abs()));
            for (i, (g, w)) in got.data().iter().zip(want.data()).enumerate() {
                assert!(
                    (g - w).abs() <= 0.03 * largest,
                    "{c}→{m} channels, output {i}: {g} against {w} (largest {largest})"
                );
            }
        }
    }

    #[test]
    fn every_cpu_gives_the_same_bits() {
        let (conv, x) = case(16, 9, 30, 32);
        let quant = QuantConv::new(&conv, InputRange { lo: -0.8, hi: 1.2 }).expect("int8");
        let want = quant.run_with(IntIsa::Portable, &x).expect("portable");
        for isa in IntIsa::available() {
            let got = quant.run_with(isa, &x).expect("int8");
            let same = got
                .data()
                .iter()
                .zip(want.data())
                .all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(same, "{isa:?}");
        }
    }

    #[test]
    fn the_vector_conversion_gives_the_scalar_bits() {
        let lanes = 32;
        let sums: Vec<i32> = (0..lanes * 7)
            .map(|i| (i * 7919 % 200_001) - 100_000)
            .collect();
        let scale: Vec<f32> = (0..lanes).map(|i| 1e-4 + i as f32 * 3.7e-6).collect();
        let offset: Vec<f32> = (0..lanes).map(|i| i as f32 * 0.013 - 0.2).collect();
        let slope: Vec<f32> = (0..lanes).map(|i| 0.05 + i as f32 * 0.01).collect();
        let mut want = vec![0f32; sums.len()];
        values(&sums, &mut want, &scale, &offset, &slope);
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            let mut got = vec![0f32; sums.len()];
            // SAFETY: AVX2 is present; 32 lanes of each, 7 whole pixels.
            unsafe { values_avx2(&sums, &mut got, &scale, &offset, &slope) };
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&got), bits(&want));
        }
        assert!(want.iter().any(|&v| v < 0.0) && want.iter().any(|&v| v > 0.0));
    }

    #[test]
    fn inputs_quantise_to_the_nearest_step_and_clamp() {
        let (conv, _) = case(3, 3, 3, 10);
        // The face check's own input range: pixels p as (p − 127.5) / 128 are exactly byte p.
        let range = InputRange {
            lo: -127.5 / 128.0,
            hi: 127.5 / 128.0,
        };
        let quant = QuantConv::new(&conv, range).expect("int8");
        let pixels: Vec<f32> = (0..=255).map(|p| (p as f32 - 127.5) * 0.0078125).collect();
        let mut bytes = vec![0u8; 256];
        quant.quantise(&pixels, &mut bytes);
        assert!(bytes.iter().enumerate().all(|(p, &b)| b as usize == p));
        quant.quantise(&[-5.0, 5.0, f32::NAN], &mut bytes);
        assert_eq!(&bytes[..3], &[0, 255, 0]);
        // The vector path (blocks of 32) gives the scalar path's bytes, ties and edges too.
        let values: Vec<f32> = (0..1000)
            .map(|i| match i % 7 {
                0 => f32::NAN,
                1 => (i as f32 - 500.0) * 0.01,
                _ => ((i * 37 % 600) as f32 - 300.0) / 256.0,
            })
            .collect();
        let mut fast = vec![0u8; values.len()];
        quant.quantise(&values, &mut fast);
        let (lo, per) = (range.lo, quant.steps_per_unit);
        let slow: Vec<u8> = values.iter().map(|&v| quantised(v, lo, per)).collect();
        assert_eq!(fast, slow);
        assert!(QuantConv::new(&conv, InputRange { lo: 1.0, hi: 1.0 }).is_err());
    }
}
