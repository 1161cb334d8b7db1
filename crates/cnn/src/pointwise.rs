//! `out += a · w` for the tiny face detector's 1×1 convolutions on channels-last images: many
//! rows (pixels), few columns (channels). A general matrix product copies ("packs") all of `a`
//! on every call, which costs as much as the product itself when `w` has 16–64 columns; this
//! kernel reads `a` in place, four pixels by sixteen channels at a time, compiled once for
//! AVX2 + FMA (chosen at run time) and once for any x86-64 or other CPU.

/// Pixels and channels of one block of the product.
const ROWS: usize = 4;
const COLS: usize = 16;

/// `out[p, j] += Σ_i a[p, i] · w[i, j]` for row-major `a` `[rows, k]`, `w` `[k, n]`,
/// `out` `[rows, n]`.
pub(crate) fn product(rows: usize, k: usize, n: usize, a: &[f32], w: &[f32], out: &mut [f32]) {
    assert!(a.len() >= rows * k && w.len() >= k * n && out.len() >= rows * n);
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has AVX2 and FMA (checked just above).
        unsafe { product_avx2(rows, k, n, a, w, out) };
        return;
    }
    kernel(rows, k, n, a, w, out);
}

/// The kernel with AVX2 + FMA: eight accumulators of eight lanes (four pixels × sixteen
/// channels) stay in registers over the whole sum.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn product_avx2(rows: usize, k: usize, n: usize, a: &[f32], w: &[f32], out: &mut [f32]) {
    use std::arch::x86_64::{
        __m256, _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_set1_ps, _mm256_storeu_ps,
    };
    let whole_cols = n / COLS * COLS;
    let whole_rows = rows / ROWS * ROWS;
    // Column blocks outermost: a block's weights (`k` × 16, at most 32 kB) stay in the
    // nearest cache while every pixel goes by.
    for c0 in (0..whole_cols).step_by(COLS) {
        for p in (0..whole_rows).step_by(ROWS) {
            // SAFETY: every pointer below stays inside `a` (`rows · k`), `w` (`k · n`) and
            // `out` (`rows · n`), whose lengths `product` asserted: rows `p..p + 4` of `a` and
            // `out`, columns `c0..c0 + 16 ≤ n` of `w` and `out`.
            unsafe {
                let o = out.as_mut_ptr().add(p * n + c0);
                let mut acc: [__m256; 8] = [
                    _mm256_loadu_ps(o),
                    _mm256_loadu_ps(o.add(8)),
                    _mm256_loadu_ps(o.add(n)),
                    _mm256_loadu_ps(o.add(n + 8)),
                    _mm256_loadu_ps(o.add(2 * n)),
                    _mm256_loadu_ps(o.add(2 * n + 8)),
                    _mm256_loadu_ps(o.add(3 * n)),
                    _mm256_loadu_ps(o.add(3 * n + 8)),
                ];
                let ap = a.as_ptr().add(p * k);
                let mut wp = w.as_ptr().add(c0);
                for i in 0..k {
                    let w0 = _mm256_loadu_ps(wp);
                    let w1 = _mm256_loadu_ps(wp.add(8));
                    for r in 0..ROWS {
                        let av = _mm256_set1_ps(*ap.add(r * k + i));
                        acc[2 * r] = _mm256_fmadd_ps(av, w0, acc[2 * r]);
                        acc[2 * r + 1] = _mm256_fmadd_ps(av, w1, acc[2 * r + 1]);
                    }
                    wp = wp.add(n);
                }
                for r in 0..ROWS {
                    _mm256_storeu_ps(o.add(r * n), acc[2 * r]);
                    _mm256_storeu_ps(o.add(r * n + 8), acc[2 * r + 1]);
                }
            }
        }
    }
    for q in 0..rows {
        let from = if q < whole_rows { whole_cols } else { 0 };
        if from < n {
            tail(
                &a[q * k..(q + 1) * k],
                w,
                n,
                from,
                &mut out[q * n..(q + 1) * n],
            );
        }
    }
}

#[inline(always)]
fn kernel(rows: usize, k: usize, n: usize, a: &[f32], w: &[f32], out: &mut [f32]) {
    let whole_cols = n / COLS * COLS;
    let mut p = 0;
    while p + ROWS <= rows {
        let a_rows: [&[f32]; ROWS] = std::array::from_fn(|r| &a[(p + r) * k..(p + r + 1) * k]);
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
            &a[q * k..(q + 1) * k],
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
}
