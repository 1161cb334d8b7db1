//! How fast one core multiplies at P-Net's largest product — one output row of its third
//! convolution: 155 pixels, 144 inputs (3×3 × 16 channels), 32 channels — in three number
//! formats, each in the register blocking of the AVX-512 kernel (`pointwise.rs`: twelve pixels
//! by thirty-two channels, every input value broadcast to the channels' lanes):
//!
//! - `f32`: one fused multiply-add per input (what the detector runs);
//! - `bf16`: `vdpbf16ps`, two inputs per lane and instruction (AVX-512 BF16);
//! - `int8`: `vpdpbusd`, four unsigned 8-bit inputs by four signed 8-bit weights per lane and
//!   instruction, summed into 32-bit integers (AVX-512 VNNI).
//!
//! It measures the arithmetic only (the values are a fixed pattern; nothing is quantised or
//! checked): what a lower-precision detector could gain at most, before any conversion.
//!
//! cargo run --release -p assetlib-cnn --example product_isa_speed [-- RUNS]

#[cfg(target_arch = "x86_64")]
mod kernels {
    use std::arch::x86_64::{
        __m512, __m512bh, __m512i, _mm512_dpbf16_ps, _mm512_dpbusd_epi32, _mm512_fmadd_ps,
        _mm512_loadu_ps, _mm512_set1_epi32, _mm512_set1_ps, _mm512_setzero_ps,
        _mm512_setzero_si512, _mm512_storeu_ps, _mm512_storeu_si512,
    };

    /// Pixels, inputs and channels of the product.
    pub const P: usize = 155;
    pub const K: usize = 144;
    pub const N: usize = 32;
    /// Pixels per block (the AVX-512 kernel's).
    const R: usize = 12;

    /// Multiply-adds of one call (whole blocks only).
    pub fn macs() -> f64 {
        (P / R * R * K * N) as f64
    }

    /// `out[p, 0..32] = Σ_i a[p, i] · w[i, 0..32]` in `f32`.
    ///
    /// # Safety
    /// The CPU has AVX-512F; `a` holds `P · K` values, `w` `K · N`, `out` `P · N`.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn f32_product(a: &[f32], w: &[f32], out: &mut [f32]) {
        assert!(a.len() >= P * K && w.len() >= K * N && out.len() >= P * N);
        for p in (0..P / R * R).step_by(R) {
            let mut acc = [[_mm512_setzero_ps(); 2]; R];
            for i in 0..K {
                // SAFETY: `i < K` rows of `N` weights (asserted).
                let (w0, w1) = unsafe {
                    (
                        _mm512_loadu_ps(w.as_ptr().add(i * N)),
                        _mm512_loadu_ps(w.as_ptr().add(i * N + 16)),
                    )
                };
                for (r, lanes) in acc.iter_mut().enumerate() {
                    let av = _mm512_set1_ps(a[(p + r) * K + i]);
                    lanes[0] = _mm512_fmadd_ps(av, w0, lanes[0]);
                    lanes[1] = _mm512_fmadd_ps(av, w1, lanes[1]);
                }
            }
            for (r, lanes) in acc.iter().enumerate() {
                // SAFETY: `p + r < P` rows of `N` outputs (asserted).
                unsafe {
                    _mm512_storeu_ps(out.as_mut_ptr().add((p + r) * N), lanes[0]);
                    _mm512_storeu_ps(out.as_mut_ptr().add((p + r) * N + 16), lanes[1]);
                }
            }
        }
    }

    /// The same in `bf16`: `a` holds two inputs per `u32`, `w` two vectors per pair of inputs.
    ///
    /// # Safety
    /// The CPU has AVX-512F and AVX-512 BF16; `a` holds `P · K / 2` pairs, `w` `K` vectors,
    /// `out` `P · N` values.
    #[target_feature(enable = "avx512f,avx512bf16")]
    pub unsafe fn bf16_product(a: &[u32], w: &[__m512bh], out: &mut [f32]) {
        assert!(a.len() >= P * K / 2 && w.len() >= K && out.len() >= P * N);
        for p in (0..P / R * R).step_by(R) {
            let mut acc: [[__m512; 2]; R] = [[_mm512_setzero_ps(); 2]; R];
            for i in 0..K / 2 {
                let (w0, w1) = (w[i * 2], w[i * 2 + 1]);
                for (r, lanes) in acc.iter_mut().enumerate() {
                    let pair = _mm512_set1_epi32(a[(p + r) * (K / 2) + i] as i32);
                    // SAFETY: a vector of 32 16-bit lanes read as 32 bf16 values.
                    let av: __m512bh = unsafe { std::mem::transmute(pair) };
                    lanes[0] = _mm512_dpbf16_ps(lanes[0], av, w0);
                    lanes[1] = _mm512_dpbf16_ps(lanes[1], av, w1);
                }
            }
            for (r, lanes) in acc.iter().enumerate() {
                // SAFETY: `p + r < P` rows of `N` outputs (asserted).
                unsafe {
                    _mm512_storeu_ps(out.as_mut_ptr().add((p + r) * N), lanes[0]);
                    _mm512_storeu_ps(out.as_mut_ptr().add((p + r) * N + 16), lanes[1]);
                }
            }
        }
    }

    /// The same in 8-bit integers: `a` holds four unsigned inputs per `u32`, `w` two vectors of
    /// signed weights per four inputs.
    ///
    /// # Safety
    /// The CPU has AVX-512F and AVX-512 VNNI; `a` holds `P · K / 4` quads, `w` `K / 2`
    /// vectors, `out` `P · N` values.
    #[target_feature(enable = "avx512f,avx512vnni")]
    pub unsafe fn int8_product(a: &[u32], w: &[__m512i], out: &mut [i32]) {
        assert!(a.len() >= P * K / 4 && w.len() >= K / 2 && out.len() >= P * N);
        for p in (0..P / R * R).step_by(R) {
            let mut acc = [[_mm512_setzero_si512(); 2]; R];
            for i in 0..K / 4 {
                let (w0, w1) = (w[i * 2], w[i * 2 + 1]);
                for (r, lanes) in acc.iter_mut().enumerate() {
                    let quad = _mm512_set1_epi32(a[(p + r) * (K / 4) + i] as i32);
                    lanes[0] = _mm512_dpbusd_epi32(lanes[0], quad, w0);
                    lanes[1] = _mm512_dpbusd_epi32(lanes[1], quad, w1);
                }
            }
            for (r, lanes) in acc.iter().enumerate() {
                // SAFETY: `p + r < P` rows of `N` outputs (asserted).
                unsafe {
                    _mm512_storeu_si512(out.as_mut_ptr().add((p + r) * N).cast(), lanes[0]);
                    _mm512_storeu_si512(out.as_mut_ptr().add((p + r) * N + 16).cast(), lanes[1]);
                }
            }
        }
    }

    /// Inputs and weights of each format (a fixed pattern).
    pub struct Operands {
        pub a: Vec<f32>,
        pub w: Vec<f32>,
        pub a_bf16: Vec<u32>,
        pub w_bf16: Vec<__m512bh>,
        pub a_int8: Vec<u32>,
        pub w_int8: Vec<__m512i>,
    }

    /// # Safety
    /// The CPU has AVX-512F.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn operands() -> Operands {
        Operands {
            a: (0..P * K).map(|i| (i % 17) as f32 * 0.1).collect(),
            w: (0..K * N).map(|i| (i % 13) as f32 * 0.01).collect(),
            a_bf16: (0..P * K / 2)
                .map(|i| 0x3f80_3f80u32.wrapping_add(i as u32 % 7))
                .collect(),
            w_bf16: (0..K)
                // SAFETY: a vector of 32 16-bit lanes read as 32 bf16 values.
                .map(|i| unsafe { std::mem::transmute(_mm512_set1_epi32(0x3c00_3c00 + i as i32)) })
                .collect(),
            a_int8: (0..P * K / 4)
                .map(|i| 0x0102_0304u32.wrapping_add(i as u32 % 5))
                .collect(),
            w_int8: (0..K / 2)
                .map(|i| _mm512_set1_epi32(0x0101_0101 + i as i32))
                .collect(),
        }
    }
}

/// The shortest of `runs` calls of `f`, in seconds.
fn best(runs: usize, mut f: impl FnMut()) -> f64 {
    (0..runs)
        .map(|_| {
            let start = std::time::Instant::now();
            f();
            start.elapsed().as_secs_f64()
        })
        .fold(f64::MAX, f64::min)
}

#[cfg(target_arch = "x86_64")]
fn main() {
    use kernels::{N, P, bf16_product, f32_product, int8_product, macs, operands};
    let runs = std::env::args()
        .nth(1)
        .and_then(|r| r.parse().ok())
        .unwrap_or(2000usize);
    let has = |feature: &str| match feature {
        "avx512f" => std::arch::is_x86_feature_detected!("avx512f"),
        "avx512bf16" => std::arch::is_x86_feature_detected!("avx512bf16"),
        "avx512vnni" => std::arch::is_x86_feature_detected!("avx512vnni"),
        _ => false,
    };
    if !has("avx512f") {
        println!("this CPU has no AVX-512: nothing to compare");
        return;
    }
    // SAFETY: AVX-512F is present (checked above).
    let ops = unsafe { operands() };
    let mut out = vec![0f32; P * N];
    let mut out_int = vec![0i32; P * N];
    let rate = |seconds: f64| format!("{:6.1} GMAC/s", macs() / seconds / 1e9);
    for round in 1..=3 {
        // SAFETY: each kernel runs only when the CPU has what it is built for.
        let f32_rate = rate(best(runs, || unsafe {
            f32_product(&ops.a, &ops.w, &mut out)
        }));
        let bf16_rate = if has("avx512bf16") {
            rate(best(runs, || unsafe {
                bf16_product(&ops.a_bf16, &ops.w_bf16, &mut out)
            }))
        } else {
            "no AVX-512 BF16".to_owned()
        };
        let int8_rate = if has("avx512vnni") {
            rate(best(runs, || unsafe {
                int8_product(&ops.a_int8, &ops.w_int8, &mut out_int)
            }))
        } else {
            "no AVX-512 VNNI".to_owned()
        };
        println!("round {round}: f32 {f32_rate}   bf16 {bf16_rate}   int8 {int8_rate}");
    }
    std::hint::black_box((&out, &out_int));
}

#[cfg(not(target_arch = "x86_64"))]
fn main() {
    let _ = best;
    println!("x86_64 only");
}
