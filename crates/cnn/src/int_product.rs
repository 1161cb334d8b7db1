//! `out = a · w` in integers, for the 8-bit convolutions (`quant_conv.rs`): `a` unsigned 8-bit
//! activations (0..=255), `w` signed 8-bit weights (−127..=127), sums in 32-bit integers.
//!
//! Inputs go in groups of four: a row's inputs are `taps.count` runs of `4 · groups` bytes
//! (a kernel row's `kw · c` values, padded with weights of zero up to a multiple of four), and
//! the weights of a group are four bytes per output channel, so that one instruction multiplies
//! four inputs by four weights per channel and adds them: `vpdpbusd` with AVX-512 VNNI; with
//! AVX2, `vpmaddubsw` then `vpmaddwd` on `|x − 128|` by the weight with the sign of `x − 128`
//! (each product at most 128 · 127, so the 16-bit sum of two cannot saturate as 255 · 127 · 2
//! would), each sum starting at `128 · Σ w`; plain Rust otherwise. Every sum is exact, so every
//! kernel gives the same integers, and a verdict does not depend on the CPU that reached it.

use std::sync::OnceLock;

use crate::pointwise::Taps;

/// Output channels of one block (sixteen 32-bit lanes: one AVX-512 register).
pub(crate) const LANES: usize = 16;
/// The largest weight's magnitude.
pub(crate) const WEIGHT_MAX: i32 = 127;

/// The instruction set an integer product runs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IntIsa {
    /// AVX-512 with VNNI (`vpdpbusd`).
    Vnni,
    /// AVX2 (`vpmaddubsw`, `vpmaddwd`).
    Avx2,
    /// Plain Rust, for any CPU.
    Portable,
}

impl IntIsa {
    /// The fastest this CPU has (looked up once).
    pub(crate) fn best() -> IntIsa {
        static BEST: OnceLock<IntIsa> = OnceLock::new();
        *BEST.get_or_init(|| IntIsa::available()[0])
    }

    /// Every instruction set this CPU runs, the fastest first (`Portable` always last).
    pub(crate) fn available() -> Vec<IntIsa> {
        let mut all = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512vnni")
            {
                all.push(IntIsa::Vnni);
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                all.push(IntIsa::Avx2);
            }
        }
        all.push(IntIsa::Portable);
        all
    }
}

/// A product's weights: `[taps, groups, lanes, 4]` signed bytes (four per output channel and
/// group), and each channel's `128 · Σ w`, where the AVX2 kernel's sums start.
pub(crate) struct Weights {
    bytes: Vec<i8>,
    start: Vec<i32>,
}

impl Weights {
    /// `bytes` of a product with `lanes` output channels.
    pub(crate) fn new(bytes: Vec<i8>, lanes: usize) -> Self {
        let mut start = vec![0i32; lanes];
        for group in bytes.chunks_exact(lanes * 4) {
            for (s, quad) in start.iter_mut().zip(group.chunks_exact(4)) {
                *s += 128 * quad.iter().map(|&v| i32::from(v)).sum::<i32>();
            }
        }
        Self { bytes, start }
    }
}

/// The shape of a product: `rows` pixels, row `p` of `a` starting at `a[p · lda]` and made of
/// `taps` runs of `4 · groups` bytes; `lanes` output channels (a multiple of [`LANES`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Shape {
    pub rows: usize,
    pub groups: usize,
    pub lda: usize,
    pub taps: Taps,
    pub lanes: usize,
}

impl Shape {
    /// Bytes of `a` the product reads.
    fn reach(&self) -> usize {
        if self.rows == 0 {
            return 0;
        }
        (self.rows - 1) * self.lda
            + self.taps.count.saturating_sub(1) * self.taps.stride
            + 4 * self.groups
    }
}

/// `out[p · lanes + o] = Σ_t Σ_g Σ_j a[p · lda + t · stride + 4g + j] · w[((t · groups + g) ·
/// lanes + o) · 4 + j]`, with `isa` (one of [`IntIsa::available`]).
pub(crate) fn product(isa: IntIsa, shape: Shape, a: &[u8], weights: &Weights, out: &mut [i32]) {
    let w = &weights.bytes;
    let Shape {
        rows,
        groups,
        taps,
        lanes,
        ..
    } = shape;
    assert!(
        lanes % LANES == 0
            && a.len() >= shape.reach()
            && w.len() >= taps.count * groups * lanes * 4
            && weights.start.len() >= lanes
            && out.len() >= rows * lanes
    );
    if rows == 0 {
        return;
    }
    match isa {
        // SAFETY: `IntIsa::Vnni` is only handed out when the CPU has AVX-512F and VNNI; the
        // sizes are asserted above.
        #[cfg(target_arch = "x86_64")]
        IntIsa::Vnni => unsafe { product_vnni(shape, a, w, out) },
        // SAFETY: `IntIsa::Avx2` is only handed out when the CPU has AVX2; sizes asserted.
        #[cfg(target_arch = "x86_64")]
        IntIsa::Avx2 => unsafe { product_avx2(shape, a, w, &weights.start, out) },
        _ => portable(shape, a, w, out),
    }
}

/// The definition, in plain Rust.
fn portable(shape: Shape, a: &[u8], w: &[i8], out: &mut [i32]) {
    let Shape {
        rows,
        groups,
        lda,
        taps,
        lanes,
    } = shape;
    for p in 0..rows {
        let sums = &mut out[p * lanes..(p + 1) * lanes];
        sums.fill(0);
        for t in 0..taps.count {
            let inputs = &a[p * lda + t * taps.stride..][..4 * groups];
            for (g, quad) in inputs.chunks_exact(4).enumerate() {
                let weights = &w[(t * groups + g) * lanes * 4..][..lanes * 4];
                for (sum, wq) in sums.iter_mut().zip(weights.chunks_exact(4)) {
                    *sum += quad
                        .iter()
                        .zip(wq)
                        .map(|(&x, &k)| i32::from(x) * i32::from(k))
                        .sum::<i32>();
                }
            }
        }
    }
}

/// Four bytes of `a` from `at`, as one 32-bit lane.
///
/// # Safety
/// `at..at + 4` is inside one allocation.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn quad(at: *const u8) -> i32 {
    // SAFETY: the caller vouches for the four bytes.
    unsafe { at.cast::<i32>().read_unaligned() }
}

/// The kernel with AVX-512 VNNI: blocks of thirty-two channels while they last (twelve pixels
/// at once), then of sixteen (twenty-four pixels), then fewer pixels at the end.
///
/// # Safety
/// The CPU has AVX-512F and VNNI; the sizes are those `product` asserts.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vnni")]
unsafe fn product_vnni(shape: Shape, a: &[u8], w: &[i8], out: &mut [i32]) {
    let Shape {
        rows, lda, lanes, ..
    } = shape;
    let mut c0 = 0;
    while c0 < lanes {
        let wide = c0 + 2 * LANES <= lanes;
        let mut p = 0;
        while p < rows {
            let left = rows - p;
            // SAFETY: each block reads rows `p..p + R ≤ rows` of `a` and `out`, channels
            // `c0..c0 + 16 · V ≤ lanes` of `w` and `out` (sizes asserted by `product`).
            unsafe {
                let (ap, wp) = (a.as_ptr().add(p * lda), w.as_ptr().add(c0 * 4));
                let o = out.as_mut_ptr().add(p * lanes + c0);
                p += match (wide, left) {
                    (true, 12..) => block_vnni::<12, 2>(shape, ap, wp, o),
                    (true, 4..) => block_vnni::<4, 2>(shape, ap, wp, o),
                    (true, _) => block_vnni::<1, 2>(shape, ap, wp, o),
                    (false, 24..) => block_vnni::<24, 1>(shape, ap, wp, o),
                    (false, 8..) => block_vnni::<8, 1>(shape, ap, wp, o),
                    (false, _) => block_vnni::<1, 1>(shape, ap, wp, o),
                };
            }
        }
        c0 += if wide { 2 * LANES } else { LANES };
    }
}

/// `R` pixels by `16 · V` channels, written to `o` (rows `lanes` apart); returns `R`.
///
/// # Safety
/// The CPU has AVX-512F and VNNI; `a` holds `R` rows `lda` apart of the taps' runs, `w` the
/// groups' weights of `16 · V` channels (rows `4 · lanes` bytes apart), `o` `R` rows of `16 · V`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vnni")]
#[inline]
unsafe fn block_vnni<const R: usize, const V: usize>(
    shape: Shape,
    a: *const u8,
    w: *const i8,
    o: *mut i32,
) -> usize {
    use std::arch::x86_64::{
        __m512i, _mm512_dpbusd_epi32, _mm512_loadu_si512, _mm512_set1_epi32, _mm512_setzero_si512,
        _mm512_storeu_si512,
    };
    let Shape {
        groups,
        lda,
        taps,
        lanes,
        ..
    } = shape;
    let mut acc: [[__m512i; V]; R] = [[_mm512_setzero_si512(); V]; R];
    // SAFETY: the pointers stay inside what the caller vouches for.
    unsafe {
        let mut wp = w;
        for t in 0..taps.count {
            let at = a.add(t * taps.stride);
            for g in 0..groups {
                let mut weights = [_mm512_setzero_si512(); V];
                for (v, lanes) in weights.iter_mut().enumerate() {
                    *lanes = _mm512_loadu_si512(wp.add(v * LANES * 4).cast());
                }
                for (r, row) in acc.iter_mut().enumerate() {
                    let inputs = _mm512_set1_epi32(quad(at.add(r * lda + 4 * g)));
                    for (sums, &wv) in row.iter_mut().zip(&weights) {
                        *sums = _mm512_dpbusd_epi32(*sums, inputs, wv);
                    }
                }
                wp = wp.add(lanes * 4);
            }
        }
        for (r, row) in acc.iter().enumerate() {
            for (v, &sums) in row.iter().enumerate() {
                _mm512_storeu_si512(o.add(r * lanes + v * LANES).cast(), sums);
            }
        }
    }
    R
}

/// The kernel with AVX2: blocks of four pixels by sixteen channels (eight accumulators of
/// eight lanes), then two and one; each channel's sums start at its `start`.
///
/// # Safety
/// The CPU has AVX2; the sizes are those `product` asserts.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn product_avx2(shape: Shape, a: &[u8], w: &[i8], start: &[i32], out: &mut [i32]) {
    let Shape {
        rows, lda, lanes, ..
    } = shape;
    for c0 in (0..lanes).step_by(LANES) {
        // Σ x · w = Σ (x − 128) · w + 128 · Σ w: each channel's sums start at 128 · Σ w.
        let Ok(start) = <&[i32; LANES]>::try_from(&start[c0..c0 + LANES]) else {
            return;
        };
        let mut p = 0;
        while p < rows {
            // SAFETY: as in `product_vnni`.
            unsafe {
                let (ap, wp) = (a.as_ptr().add(p * lda), w.as_ptr().add(c0 * 4));
                let o = out.as_mut_ptr().add(p * lanes + c0);
                p += match rows - p {
                    4.. => block_avx2::<4>(shape, ap, wp, start, o),
                    2.. => block_avx2::<2>(shape, ap, wp, start, o),
                    _ => block_avx2::<1>(shape, ap, wp, start, o),
                };
            }
        }
    }
}

/// `R` pixels by sixteen channels, written to `o`, each channel's sums starting at `start`;
/// returns `R`.
///
/// # Safety
/// The CPU has AVX2; as `block_vnni` with `V = 1`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn block_avx2<const R: usize>(
    shape: Shape,
    a: *const u8,
    w: *const i8,
    start: &[i32; LANES],
    o: *mut i32,
) -> usize {
    use std::arch::x86_64::{
        _mm256_abs_epi8, _mm256_add_epi32, _mm256_loadu_si256, _mm256_madd_epi16,
        _mm256_maddubs_epi16, _mm256_set1_epi8, _mm256_set1_epi16, _mm256_set1_epi32,
        _mm256_sign_epi8, _mm256_storeu_si256, _mm256_xor_si256,
    };
    let Shape {
        groups,
        lda,
        taps,
        lanes,
        ..
    } = shape;
    let ones = _mm256_set1_epi16(1);
    let flip = _mm256_set1_epi8(i8::MIN);
    // SAFETY: the pointers stay inside what the caller vouches for.
    unsafe {
        let mut lo = [_mm256_loadu_si256(start.as_ptr().cast()); R];
        let mut hi = [_mm256_loadu_si256(start.as_ptr().add(8).cast()); R];
        let mut wp = w;
        for t in 0..taps.count {
            let at = a.add(t * taps.stride);
            for g in 0..groups {
                let w0 = _mm256_loadu_si256(wp.cast());
                let w1 = _mm256_loadu_si256(wp.add(32).cast());
                for r in 0..R {
                    let inputs = _mm256_set1_epi32(quad(at.add(r * lda + 4 * g)));
                    // x − 128 as signed bytes, and its size read unsigned (128 for x = 0).
                    let centred = _mm256_xor_si256(inputs, flip);
                    let size = _mm256_abs_epi8(centred);
                    // |x − 128| by ±w: two products summed in 16 bits (at most 2 · 128 · 127),
                    // then two such sums in 32.
                    let pairs0 = _mm256_maddubs_epi16(size, _mm256_sign_epi8(w0, centred));
                    let pairs1 = _mm256_maddubs_epi16(size, _mm256_sign_epi8(w1, centred));
                    lo[r] = _mm256_add_epi32(lo[r], _mm256_madd_epi16(pairs0, ones));
                    hi[r] = _mm256_add_epi32(hi[r], _mm256_madd_epi16(pairs1, ones));
                }
                wp = wp.add(lanes * 4);
            }
        }
        for r in 0..R {
            _mm256_storeu_si256(o.add(r * lanes).cast(), lo[r]);
            _mm256_storeu_si256(o.add(r * lanes + 8).cast(), hi[r]);
        }
    }
    R
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A product's operands: `a` of `rows` overlapping rows, weights in −127..=127.
    fn operands(shape: Shape, seed: usize) -> (Vec<u8>, Vec<i8>) {
        let a = (0..shape.reach())
            .map(|i| ((i * 131 + seed) % 256) as u8)
            .collect();
        let w = (0..shape.taps.count * shape.groups * shape.lanes * 4)
            .map(|i| (((i * 71 + seed) % 255) as i32 - WEIGHT_MAX) as i8)
            .collect();
        (a, w)
    }

    #[test]
    fn every_kernel_gives_the_same_integers() {
        // MTCNN's shapes (P-Net's 3×3 rows of 3, 10 and 16 channels; R-Net's and O-Net's wider
        // ones) and odd pixel counts that leave partial blocks; the extremes included: 255 and
        // 0 (the AVX2 kernel's 128 either side of its centre) by ±127.
        let shapes = [
            (155, 3, 48, 3, 32),
            (318, 3, 3, 3, 16),
            (157, 8, 30, 3, 16),
            (22, 7, 9, 3, 32),
            (9, 21, 84, 3, 48),
            (3, 24, 96, 2, 64),
            (1, 2, 4, 1, 16),
            (13, 5, 16, 2, 128),
        ];
        for (rows, groups, lda, count, lanes) in shapes {
            let shape = Shape {
                rows,
                groups,
                lda,
                taps: Taps {
                    count,
                    stride: rows * lda + 7,
                },
                lanes,
            };
            for seed in [0, 5, 77, 78] {
                let (mut a, mut w) = operands(shape, seed);
                if seed >= 77 {
                    let x = if seed == 77 { 255 } else { 0 };
                    a.fill(x);
                    w.iter_mut().step_by(2).for_each(|v| *v = -127);
                    w.iter_mut().skip(1).step_by(2).for_each(|v| *v = 127);
                }
                let mut want = vec![0; rows * lanes];
                portable(shape, &a, &w, &mut want);
                let weights = Weights::new(w, lanes);
                for isa in IntIsa::available() {
                    let mut got = vec![-1; rows * lanes];
                    product(isa, shape, &a, &weights, &mut got);
                    assert_eq!(got, want, "{isa:?} on {shape:?}, seed {seed}");
                }
            }
        }
    }

    #[test]
    fn the_portable_kernel_is_the_definition() {
        // Two pixels, one tap of one group, two channels used of sixteen.
        let shape = Shape {
            rows: 2,
            groups: 1,
            lda: 2,
            taps: Taps::ONE,
            lanes: LANES,
        };
        let a = [1u8, 2, 3, 4, 5, 6];
        let mut w = vec![0i8; LANES * 4];
        w[..8].copy_from_slice(&[1, 1, 1, 1, -1, 0, 2, 127]);
        let mut out = vec![0; 2 * LANES];
        product(
            IntIsa::Portable,
            shape,
            &a,
            &Weights::new(w, LANES),
            &mut out,
        );
        assert_eq!(&out[..2], &[10, -1 + 6 + 4 * 127]);
        assert_eq!(&out[LANES..LANES + 2], &[18, -3 + 10 + 6 * 127]);
        assert!(out[2..LANES].iter().all(|&v| v == 0));
    }
}
