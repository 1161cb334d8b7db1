//! `out += a · w` for convolutions on channels-last images (the tiny face detector's 1×1
//! convolutions; every MTCNN convolution, one kernel row at a time — `conv.rs`): many rows
//! (pixels), few columns (channels). A general matrix product copies ("packs") all of `a`
//! on every call, which costs as much as the product itself when `w` has 16–64 columns; this
//! kernel reads `a` in place, sixteen channels at a time — six pixels at once with AVX2 + FMA
//! (chosen at run time), four in the portable kernel for any other CPU.

/// Pixels and channels of one block of the product.
const ROWS: usize = 4;
const COLS: usize = 16;

/// `out[p, j] += Σ_i a[p, i] · w[i, j]` for row-major `a` `[rows, k]`, `w` `[k, n]`,
/// `out` `[rows, n]`.
pub(crate) fn product(rows: usize, k: usize, n: usize, a: &[f32], w: &[f32], out: &mut [f32]) {
    strided(rows, k, k, n, a, w, out);
}

/// [`product`] with row `p` of `a` starting at `a[p · lda]` (rows may overlap: a convolution's
/// neighbouring windows share pixels).
pub(crate) fn strided(
    rows: usize,
    k: usize,
    lda: usize,
    n: usize,
    a: &[f32],
    w: &[f32],
    out: &mut [f32],
) {
    if rows == 0 {
        return;
    }
    assert!(a.len() >= (rows - 1) * lda + k && w.len() >= k * n && out.len() >= rows * n);
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has AVX2 and FMA (checked just above).
        unsafe { product_avx2(rows, k, lda, n, a, w, out) };
        return;
    }
    kernel(rows, k, lda, n, a, w, out);
}

/// The kernel with AVX2 + FMA: blocks of six pixels by sixteen channels (twelve accumulators
/// of eight lanes, in registers over the whole sum), then four, two and one for the last
/// pixels.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn product_avx2(
    rows: usize,
    k: usize,
    lda: usize,
    n: usize,
    a: &[f32],
    w: &[f32],
    out: &mut [f32],
) {
    let whole_cols = n / COLS * COLS;
    // Column blocks outermost: a block's weights (`k` × 16, at most 32 kB) stay in the
    // nearest cache while every pixel goes by.
    for c0 in (0..whole_cols).step_by(COLS) {
        let mut p = 0;
        while p < rows {
            let left = rows - p;
            // SAFETY: each block reads rows `p..p + R ≤ rows` of `a` (inside its
            // `(rows - 1) · lda + k` values, asserted by `strided`) and of `out` (`rows · n`),
            // and columns `c0..c0 + 16 ≤ n` of `w` (`k · n`) and `out`.
            unsafe {
                let (ap, wp) = (a.as_ptr().add(p * lda), w.as_ptr().add(c0));
                let o = out.as_mut_ptr().add(p * n + c0);
                p += if left >= 6 {
                    block::<6>(k, lda, n, ap, wp, o)
                } else if left >= 4 {
                    block::<4>(k, lda, n, ap, wp, o)
                } else if left >= 2 {
                    block::<2>(k, lda, n, ap, wp, o)
                } else {
                    block::<1>(k, lda, n, ap, wp, o)
                };
            }
        }
    }
    if whole_cols < n {
        for q in 0..rows {
            tail(
                &a[q * lda..q * lda + k],
                w,
                n,
                whole_cols,
                &mut out[q * n..(q + 1) * n],
            );
        }
    }
}

/// `R` pixels (rows of `a` `lda` apart) by sixteen channels (of `w`, rows `n` apart), added
/// into `o` (rows `n` apart); returns `R`.
///
/// # Safety
/// The CPU has AVX2 and FMA; `a` holds `R` rows of `k` values `lda` apart, `w` `k` rows of 16,
/// `o` `R` rows of 16.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn block<const R: usize>(
    k: usize,
    lda: usize,
    n: usize,
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
        for r in 0..R {
            _mm256_storeu_ps(o.add(r * n), lo[r]);
            _mm256_storeu_ps(o.add(r * n + 8), hi[r]);
        }
    }
    R
}

#[inline(always)]
fn kernel(rows: usize, k: usize, lda: usize, n: usize, a: &[f32], w: &[f32], out: &mut [f32]) {
    let whole_cols = n / COLS * COLS;
    let mut p = 0;
    while p + ROWS <= rows {
        let a_rows: [&[f32]; ROWS] = std::array::from_fn(|r| &a[(p + r) * lda..(p + r) * lda + k]);
        for c0 in (0..whole_cols).step_by(COLS) {
            let mut acc = [[0f32; COLS]; ROWS];
            for (r, acc) in acc.iter_mut().enumerate() {
                acc.copy_from_slice(&out[(p + r) * n + c0..(p + r) * n + c0 + COLS]);
            }
            for i in 0..k {
                let wv = &w[i * n + c0..i * n + c0 + COLS];
                for r in 0..ROWS {
                    let av = a_rows[r][i];
                    for j in 0..COLS {
                        acc[r][j] += av * wv[j];
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
            &a[q * lda..q * lda + k],
            w,
            n,
            0,
            &mut out[q * n..(q + 1) * n],
        );
    }
}

/// One row of the product, columns `from..n`.
#[inline(always)]
fn tail(a_row: &[f32], w: &[f32], n: usize, from: usize, out_row: &mut [f32]) {
    for (i, &av) in a_row.iter().enumerate() {
        let wv = &w[i * n + from..(i + 1) * n];
        for (o, &wj) in out_row[from..].iter_mut().zip(wv) {
            *o += av * wj;
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_blocks_and_the_edges_give_the_plain_product() {
        for (rows, k, n) in [(1, 1, 1), (7, 27, 16), (9, 5, 25), (4, 16, 32), (13, 3, 50)] {
            let a: Vec<f32> = (0..rows * k).map(|v| ((v * 7) % 11) as f32 - 5.0).collect();
            let w: Vec<f32> = (0..k * n)
                .map(|v| ((v * 3) % 13) as f32 * 0.5 - 3.0)
                .collect();
            let mut out = vec![1.0f32; rows * n];
            super::product(rows, k, n, &a, &w, &mut out);
            for p in 0..rows {
                for j in 0..n {
                    let want: f32 = 1.0 + (0..k).map(|i| a[p * k + i] * w[i * n + j]).sum::<f32>();
                    assert!(
                        (out[p * n + j] - want).abs() < 1e-3,
                        "{rows}×{k}×{n} at {p},{j}"
                    );
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
            let mut out = vec![0.5f32; rows * n];
            super::strided(rows, k, lda, n, &a, &w, &mut out);
            for p in 0..rows {
                for j in 0..n {
                    let want: f32 =
                        0.5 + (0..k).map(|i| a[p * lda + i] * w[i * n + j]).sum::<f32>();
                    assert_eq!(
                        out[p * n + j],
                        want,
                        "{rows}×{k} (lda {lda})×{n} at {p},{j}"
                    );
                }
            }
        }
    }
}
