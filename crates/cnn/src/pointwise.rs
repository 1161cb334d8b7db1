//! `out += a · w` for convolutions on channels-last images (the tiny face detector's 1×1
//! convolutions; every MTCNN convolution, all of a kernel's rows in one call — `conv.rs`):
//! many rows (pixels), few columns (channels). A general matrix product copies ("packs") all
//! of `a` on every call, which costs as much as the product itself when `w` has 16–64
//! columns; this kernel reads `a` in place, sixteen channels at a time. The kernel is chosen once, at run
//! time, for the CPU: with AVX-512, twelve pixels by thirty-two channels (or twenty-four by
//! sixteen) at once; with AVX2 + FMA, six pixels by sixteen; four in the portable kernel for
//! any other CPU. Each output is summed in the same order by the two vector kernels (one fused
//! multiply-add per input), so they give the same bits.

use std::sync::OnceLock;

/// Pixels and channels of one block of the product.
const ROWS: usize = 4;
const COLS: usize = 16;

/// `out[p, j] += Σ_i a[p, i] · w[i, j]` for row-major `a` `[rows, k]`, `w` `[k, n]`,
/// `out` `[rows, n]`.
pub(crate) fn product(rows: usize, k: usize, n: usize, a: &[f32], w: &[f32], out: &mut [f32]) {
    strided(rows, k, k, Taps::ONE, n, a, w, out);
}

/// Where a row of `a` continues: `count` runs of `k` values, each `stride` values after the
/// one before (a convolution's kernel rows, one image row apart). The row's value `t · k + i`
/// is `a[p · lda + t · stride + i]` and is multiplied by row `t · k + i` of `w`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Taps {
    pub count: usize,
    pub stride: usize,
}

impl Taps {
    /// Rows of `k` consecutive values.
    pub const ONE: Taps = Taps {
        count: 1,
        stride: 0,
    };

    /// Values of `a` a row reaches past its start: `(count - 1) · stride + k`.
    fn span(self, k: usize) -> usize {
        self.count.saturating_sub(1) * self.stride + k
    }
}

/// The instruction set a product runs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Isa {
    /// AVX-512 (Foundation).
    Avx512,
    /// AVX2 with FMA.
    Avx2,
    /// Plain Rust, for any CPU.
    Portable,
}

impl Isa {
    /// The fastest this CPU has (looked up once).
    pub(crate) fn best() -> Isa {
        static BEST: OnceLock<Isa> = OnceLock::new();
        *BEST.get_or_init(|| Isa::available()[0])
    }

    /// Every instruction set this CPU runs, the fastest first (`Portable` always last).
    pub(crate) fn available() -> Vec<Isa> {
        let mut all = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                all.push(Isa::Avx512);
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                all.push(Isa::Avx2);
            }
        }
        all.push(Isa::Portable);
        all
    }
}

/// [`product`] with row `p` of `a` starting at `a[p · lda]` (rows may overlap: a convolution's
/// neighbouring windows share pixels) and made of `taps` runs of `k` values: `w` has
/// `taps.count · k` rows. Each output is summed in order, run by run — as if each run were a
/// product of its own added in turn, with the output kept in registers in between.
#[allow(clippy::too_many_arguments)]
pub(crate) fn strided(
    rows: usize,
    k: usize,
    lda: usize,
    taps: Taps,
    n: usize,
    a: &[f32],
    w: &[f32],
    out: &mut [f32],
) {
    strided_with(Isa::best(), rows, k, lda, taps, n, a, w, out);
}

/// [`strided`] with `isa`, which must be one of [`Isa::available`].
#[allow(clippy::too_many_arguments)]
fn strided_with(
    isa: Isa,
    rows: usize,
    k: usize,
    lda: usize,
    taps: Taps,
    n: usize,
    a: &[f32],
    w: &[f32],
    out: &mut [f32],
) {
    if rows == 0 || taps.count == 0 {
        return;
    }
    assert!(
        a.len() >= (rows - 1) * lda + taps.span(k)
            && w.len() >= taps.count * k * n
            && out.len() >= rows * n
    );
    match isa {
        // SAFETY: `Isa::Avx512` is only handed out when the CPU has AVX-512F.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { product_avx512(rows, k, lda, taps, n, a, w, out) },
        // SAFETY: `Isa::Avx2` is only handed out when the CPU has AVX2 and FMA.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { product_avx2(rows, k, lda, taps, n, a, w, out) },
        _ => kernel(rows, k, lda, taps, n, a, w, out),
    }
}

/// The kernel with AVX-512: column blocks of thirty-two channels while they last (twelve
/// pixels at once: twenty-four accumulators of sixteen lanes, in registers over the whole
/// sum), a last block of sixteen (twenty-four pixels at once), then fewer pixels at the end.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn product_avx512(
    rows: usize,
    k: usize,
    lda: usize,
    taps: Taps,
    n: usize,
    a: &[f32],
    w: &[f32],
    out: &mut [f32],
) {
    let whole_cols = n / COLS * COLS;
    let mut c0 = 0;
    while c0 < whole_cols {
        let wide = c0 + 2 * COLS <= whole_cols;
        let mut p = 0;
        while p < rows {
            let left = rows - p;
            // SAFETY: each block reads rows `p..p + R ≤ rows` of `a` (inside its
            // `(rows - 1) · lda + taps.span(k)` values, asserted by `strided_with`) and of
            // `out` (`rows · n`), and columns `c0..c0 + 16 · V ≤ n` of `w` (`taps.count · k`
            // rows of `n`) and `out`.
            unsafe {
                let (ap, wp) = (a.as_ptr().add(p * lda), w.as_ptr().add(c0));
                let o = out.as_mut_ptr().add(p * n + c0);
                let at = (k, lda, taps, n);
                p += match (wide, left) {
                    (true, 12..) => block512::<12, 2>(at, ap, wp, o),
                    (true, 4..) => block512::<4, 2>(at, ap, wp, o),
                    (true, _) => block512::<1, 2>(at, ap, wp, o),
                    (false, 24..) => block512::<24, 1>(at, ap, wp, o),
                    (false, 8..) => block512::<8, 1>(at, ap, wp, o),
                    (false, 2..) => block512::<2, 1>(at, ap, wp, o),
                    (false, _) => block512::<1, 1>(at, ap, wp, o),
                };
            }
        }
        c0 += if wide { 2 * COLS } else { COLS };
    }
    last_columns(rows, k, lda, taps, n, whole_cols, a, w, out);
}

/// `R` pixels (rows of `a` `lda` apart, each `taps` runs of `k` values) by `16 · V` channels
/// (of `w`, rows `n` apart), added into `o` (rows `n` apart); returns `R`.
///
/// # Safety
/// The CPU has AVX-512F; `a` holds `R` rows `lda` apart of `taps.span(k)` values, `w`
/// `taps.count · k` rows of `16 · V`, `o` `R` rows of `16 · V`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn block512<const R: usize, const V: usize>(
    (k, lda, taps, n): (usize, usize, Taps, usize),
    a: *const f32,
    w: *const f32,
    o: *mut f32,
) -> usize {
    use std::arch::x86_64::{
        __m512, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_set1_ps, _mm512_setzero_ps,
        _mm512_storeu_ps,
    };
    let mut acc: [[__m512; V]; R] = [[_mm512_setzero_ps(); V]; R];
    // SAFETY: the pointers stay inside what the caller vouches for.
    unsafe {
        for (r, row) in acc.iter_mut().enumerate() {
            for (v, lanes) in row.iter_mut().enumerate() {
                *lanes = _mm512_loadu_ps(o.add(r * n + v * COLS));
            }
        }
        let mut wp = w;
        for t in 0..taps.count {
            let a = a.add(t * taps.stride);
            for i in 0..k {
                let mut weights = [_mm512_setzero_ps(); V];
                for (v, lanes) in weights.iter_mut().enumerate() {
                    *lanes = _mm512_loadu_ps(wp.add(v * COLS));
                }
                for (r, row) in acc.iter_mut().enumerate() {
                    let av = _mm512_set1_ps(*a.add(r * lda + i));
                    for (lanes, &wv) in row.iter_mut().zip(&weights) {
                        *lanes = _mm512_fmadd_ps(av, wv, *lanes);
                    }
                }
                wp = wp.add(n);
            }
        }
        for (r, row) in acc.iter().enumerate() {
            for (v, &lanes) in row.iter().enumerate() {
                _mm512_storeu_ps(o.add(r * n + v * COLS), lanes);
            }
        }
    }
    R
}

/// The kernel with AVX2 + FMA: blocks of six pixels by sixteen channels (twelve accumulators
/// of eight lanes, in registers over the whole sum), then four, two and one for the last
/// pixels.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn product_avx2(
    rows: usize,
    k: usize,
    lda: usize,
    taps: Taps,
    n: usize,
    a: &[f32],
    w: &[f32],
    out: &mut [f32],
) {
    let whole_cols = n / COLS * COLS;
    // Column blocks outermost: a block's weights (`taps.count · k` rows of 16) stay in the
    // nearest caches while every pixel goes by.
    for c0 in (0..whole_cols).step_by(COLS) {
        let mut p = 0;
        while p < rows {
            let left = rows - p;
            // SAFETY: each block reads rows `p..p + R ≤ rows` of `a` (inside its
            // `(rows - 1) · lda + taps.span(k)` values, asserted by `strided_with`) and of `out`
            // (`rows · n`), and columns `c0..c0 + 16 ≤ n` of `w` (`taps.count · k` rows of
            // `n`) and `out`.
            unsafe {
                let (ap, wp) = (a.as_ptr().add(p * lda), w.as_ptr().add(c0));
                let o = out.as_mut_ptr().add(p * n + c0);
                let at = (k, lda, taps, n);
                p += if left >= 6 {
                    block::<6>(at, ap, wp, o)
                } else if left >= 4 {
                    block::<4>(at, ap, wp, o)
                } else if left >= 2 {
                    block::<2>(at, ap, wp, o)
                } else {
                    block::<1>(at, ap, wp, o)
                };
            }
        }
    }
    last_columns(rows, k, lda, taps, n, whole_cols, a, w, out);
}

/// `R` pixels (rows of `a` `lda` apart, each `taps` runs of `k` values) by sixteen channels
/// (of `w`, rows `n` apart), added into `o` (rows `n` apart); returns `R`.
///
/// # Safety
/// The CPU has AVX2 and FMA; `a` holds `R` rows `lda` apart of `taps.span(k)` values, `w`
/// `taps.count · k` rows of 16, `o` `R` rows of 16.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn block<const R: usize>(
    (k, lda, taps, n): (usize, usize, Taps, usize),
    a: *const f32,
    w: *const f32,
    o: *mut f32,
) -> usize {
    use std::arch::x86_64::{
        _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_set1_ps, _mm256_setzero_ps, _mm256_storeu_ps,
    };
    let mut lo = [_mm256_setzero_ps(); R];
    let mut hi = [_mm256_setzero_ps(); R];
    // SAFETY: the pointers stay inside what the caller vouches for.
    unsafe {
        for r in 0..R {
            lo[r] = _mm256_loadu_ps(o.add(r * n));
            hi[r] = _mm256_loadu_ps(o.add(r * n + 8));
        }
        let mut wp = w;
        for t in 0..taps.count {
            let a = a.add(t * taps.stride);
            for i in 0..k {
                let w0 = _mm256_loadu_ps(wp);
                let w1 = _mm256_loadu_ps(wp.add(8));
                for r in 0..R {
                    let av = _mm256_set1_ps(*a.add(r * lda + i));
                    lo[r] = _mm256_fmadd_ps(av, w0, lo[r]);
                    hi[r] = _mm256_fmadd_ps(av, w1, hi[r]);
                }
                wp = wp.add(n);
            }
        }
        for r in 0..R {
            _mm256_storeu_ps(o.add(r * n), lo[r]);
            _mm256_storeu_ps(o.add(r * n + 8), hi[r]);
        }
    }
    R
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn kernel(
    rows: usize,
    k: usize,
    lda: usize,
    taps: Taps,
    n: usize,
    a: &[f32],
    w: &[f32],
    out: &mut [f32],
) {
    let whole_cols = n / COLS * COLS;
    let span = taps.span(k);
    let mut p = 0;
    while p + ROWS <= rows {
        let a_rows: [&[f32]; ROWS] =
            std::array::from_fn(|r| &a[(p + r) * lda..(p + r) * lda + span]);
        for c0 in (0..whole_cols).step_by(COLS) {
            let mut acc = [[0f32; COLS]; ROWS];
            for (r, acc) in acc.iter_mut().enumerate() {
                acc.copy_from_slice(&out[(p + r) * n + c0..(p + r) * n + c0 + COLS]);
            }
            for t in 0..taps.count {
                for i in 0..k {
                    let at = t * k + i;
                    let wv = &w[at * n + c0..at * n + c0 + COLS];
                    for r in 0..ROWS {
                        let av = a_rows[r][t * taps.stride + i];
                        for j in 0..COLS {
                            acc[r][j] += av * wv[j];
                        }
                    }
                }
            }
            for (r, acc) in acc.iter().enumerate() {
                out[(p + r) * n + c0..(p + r) * n + c0 + COLS].copy_from_slice(acc);
            }
        }
        if whole_cols < n {
            for (r, a_row) in a_rows.iter().enumerate() {
                tail(
                    a_row,
                    (k, taps),
                    w,
                    n,
                    whole_cols,
                    &mut out[(p + r) * n..(p + r + 1) * n],
                );
            }
        }
        p += ROWS;
    }
    for q in p..rows {
        tail(
            &a[q * lda..q * lda + span],
            (k, taps),
            w,
            n,
            0,
            &mut out[q * n..(q + 1) * n],
        );
    }
}

/// Columns `from..n` of every row (those past the vector kernels' last whole block).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn last_columns(
    rows: usize,
    k: usize,
    lda: usize,
    taps: Taps,
    n: usize,
    from: usize,
    a: &[f32],
    w: &[f32],
    out: &mut [f32],
) {
    if from < n {
        let span = taps.span(k);
        for q in 0..rows {
            tail(
                &a[q * lda..q * lda + span],
                (k, taps),
                w,
                n,
                from,
                &mut out[q * n..(q + 1) * n],
            );
        }
    }
}

/// One row of the product (`a_row` holds its `taps` runs of `k` values), columns `from..n`.
#[inline(always)]
fn tail(
    a_row: &[f32],
    (k, taps): (usize, Taps),
    w: &[f32],
    n: usize,
    from: usize,
    out_row: &mut [f32],
) {
    for t in 0..taps.count {
        let run = &a_row[t * taps.stride..t * taps.stride + k];
        for (i, &av) in run.iter().enumerate() {
            let at = t * k + i;
            let wv = &w[at * n + from..(at + 1) * n];
            for (o, &wj) in out_row[from..].iter_mut().zip(wv) {
                *o += av * wj;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Isa, Taps};

    #[test]
    fn the_blocks_and_the_edges_give_the_plain_product() {
        for (rows, k, n) in [
            (1, 1, 1),
            (7, 27, 16),
            (9, 5, 25),
            (4, 16, 32),
            (13, 3, 50),
            (30, 10, 48),
            (25, 9, 16),
            (14, 7, 64),
        ] {
            let a: Vec<f32> = (0..rows * k).map(|v| ((v * 7) % 11) as f32 - 5.0).collect();
            let w: Vec<f32> = (0..k * n)
                .map(|v| ((v * 3) % 13) as f32 * 0.5 - 3.0)
                .collect();
            for isa in Isa::available() {
                let mut out = vec![1.0f32; rows * n];
                super::strided_with(isa, rows, k, k, Taps::ONE, n, &a, &w, &mut out);
                for p in 0..rows {
                    for j in 0..n {
                        let want: f32 =
                            1.0 + (0..k).map(|i| a[p * k + i] * w[i * n + j]).sum::<f32>();
                        assert!(
                            (out[p * n + j] - want).abs() < 1e-3,
                            "{isa:?}: {rows}×{k}×{n} at {p},{j}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn rows_may_start_closer_or_further_apart_than_their_length() {
        for (rows, k, lda, n) in [(9, 9, 3, 16), (6, 6, 2, 20), (5, 3, 7, 32), (1, 4, 100, 5)] {
            let len = (rows - 1) * lda + k;
            let a: Vec<f32> = (0..len).map(|v| ((v * 5) % 9) as f32 - 4.0).collect();
            let w: Vec<f32> = (0..k * n).map(|v| ((v * 3) % 7) as f32 - 3.0).collect();
            for isa in Isa::available() {
                let mut out = vec![0.5f32; rows * n];
                super::strided_with(isa, rows, k, lda, Taps::ONE, n, &a, &w, &mut out);
                for p in 0..rows {
                    for j in 0..n {
                        let want: f32 =
                            0.5 + (0..k).map(|i| a[p * lda + i] * w[i * n + j]).sum::<f32>();
                        assert_eq!(
                            out[p * n + j],
                            want,
                            "{isa:?}: {rows}×{k} (lda {lda})×{n} at {p},{j}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn runs_of_a_row_give_the_bits_of_a_product_per_run_added_in_turn() {
        // A 3×3 kernel over a channels-last image 21 px wide of 5 channels: each output row
        // reads three runs of 15 values, one image row (105 values) apart.
        for (rows, k, lda, stride, count, n) in [
            (19, 15, 5, 105, 3, 16),
            (9, 15, 10, 105, 3, 40),
            (30, 6, 3, 64, 2, 48),
            (5, 4, 4, 9, 4, 7),
        ] {
            let taps = Taps { count, stride };
            let len = (rows - 1) * lda + (count - 1) * stride + k;
            let a: Vec<f32> = (0..len)
                .map(|v| ((v * 29) % 83) as f32 / 13.0 - 3.1)
                .collect();
            let w: Vec<f32> = (0..count * k * n)
                .map(|v| ((v * 17) % 71) as f32 / 23.0 - 1.5)
                .collect();
            for isa in Isa::available() {
                let mut fused = vec![0.75f32; rows * n];
                super::strided_with(isa, rows, k, lda, taps, n, &a, &w, &mut fused);
                let mut apart = vec![0.75f32; rows * n];
                for t in 0..count {
                    super::strided_with(
                        isa,
                        rows,
                        k,
                        lda,
                        Taps::ONE,
                        n,
                        &a[t * stride..],
                        &w[t * k * n..],
                        &mut apart,
                    );
                }
                assert!(
                    fused
                        .iter()
                        .zip(&apart)
                        .all(|(x, y)| x.to_bits() == y.to_bits()),
                    "{isa:?}: {rows}×{count}·{k} (lda {lda}, stride {stride})×{n}"
                );
            }
        }
    }

    #[test]
    fn the_vector_kernels_give_the_same_bits() {
        let vector: Vec<Isa> = Isa::available()
            .into_iter()
            .filter(|&isa| isa != Isa::Portable)
            .collect();
        let (rows, k, lda, n) = (37, 48, 16, 48);
        let taps = Taps {
            count: 3,
            stride: 640,
        };
        let a: Vec<f32> = (0..(rows - 1) * lda + 2 * 640 + k)
            .map(|v| ((v * 37) % 101) as f32 / 17.0 - 2.9)
            .collect();
        let w: Vec<f32> = (0..3 * k * n)
            .map(|v| ((v * 13) % 89) as f32 / 31.0 - 1.4)
            .collect();
        let outs: Vec<Vec<f32>> = vector
            .iter()
            .map(|&isa| {
                let mut out = vec![0.25f32; rows * n];
                super::strided_with(isa, rows, k, lda, taps, n, &a, &w, &mut out);
                out
            })
            .collect();
        for (isa, out) in vector.iter().zip(&outs).skip(1) {
            assert!(
                out.iter()
                    .zip(&outs[0])
                    .all(|(x, y)| x.to_bits() == y.to_bits()),
                "{isa:?} differs from {:?}",
                vector[0]
            );
        }
    }
}
