//! The flex backend's causal attention forward as one kernel over host memory: for every
//! (batch, head, query block) in parallel (rayon), the scores of one key chunk at a time
//! (`S = s·Q_i K_jᵀ`, one `gemm` call), the online softmax on that block (running max `m`,
//! normaliser `l`, a vectorised `exp`), and `A ← A·e^(m_old−m) + P V_j` (a second `gemm`);
//! then `O_i = A/l` and `L_i = m + ln l`. The same algorithm as the backend-generic forward in
//! [`crate::recompute`], without its per-operation tensors: on flex those allocations, copies and
//! scalar `expf` calls took about half the time of a long forward pass.

use burn::backend::flex::FlexTensor;
use burn::backend::{DType, TensorData, TensorMetadata};
use rayon::prelude::*;

use crate::recompute::Tiling;

/// Scores per query row below which `e^(s − m)` is taken as 0 (`e^−87` ≈ 1.6e-38, the
/// smallest normal f32), which also covers the `−∞` of masked keys.
const EXP_FLOOR: f32 = -87.0;

/// `(O, L)` for f32 tensors, `None` for other dtypes (the generic path handles them).
pub(crate) fn forward(
    q: &FlexTensor,
    k: &FlexTensor,
    v: &FlexTensor,
    scale: f64,
    tiling: Tiling,
) -> Option<(FlexTensor, FlexTensor)> {
    if [q, k, v].iter().any(|t| t.dtype() != DType::F32) {
        return None;
    }
    let shape = q.shape();
    let (b, h, nq, d) = (shape[0], shape[1], shape[2], shape[3]);
    let nk = k.shape()[2];
    let (q, k, v) = (q.to_contiguous(), k.to_contiguous(), v.to_contiguous());
    let (qs, ks, vs) = (q.as_slice::<f32>()?, k.as_slice::<f32>()?, v.as_slice::<f32>()?);
    let qb = tiling.query_block;
    let blocks = nq.div_ceil(qb);
    let mut out = vec![0.0f32; b * h * nq * d];
    let mut lse = vec![0.0f32; b * h * nq];
    // One task per (batch·head, query block); each owns its rows of `out` and `lse`.
    let tasks: Vec<(usize, usize, &mut [f32], &mut [f32])> = out
        .chunks_mut(nq * d)
        .zip(lse.chunks_mut(nq))
        .enumerate()
        .flat_map(|(bh, (o, l))| {
            o.chunks_mut(qb * d).zip(l.chunks_mut(qb)).enumerate().map(move |(blk, (o, l))| (bh, blk * qb, o, l))
        })
        .collect();
    debug_assert_eq!(tasks.len(), b * h * blocks);
    tasks.into_par_iter().for_each(|(bh, q0, o, l)| {
        let rows = o.len() / d;
        let q_rows = &qs[(bh * nq + q0) * d..(bh * nq + q0 + rows) * d];
        let k_head = &ks[bh * nk * d..(bh + 1) * nk * d];
        let v_head = &vs[bh * nk * d..(bh + 1) * nk * d];
        query_block(q_rows, k_head, v_head, q0, d, scale as f32, tiling, o, l);
    });
    let out = FlexTensor::from_data(TensorData::new(out, [b, h, nq, d]));
    let lse = FlexTensor::from_data(TensorData::new(lse, [b, h, nq, 1]));
    Some((out, lse))
}

/// One query block: rows `q0..q0 + rows` of one head against its keys; writes `O` into `out`
/// (`rows × d`) and `L` into `lse`.
#[allow(clippy::too_many_arguments)]
fn query_block(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    q0: usize,
    d: usize,
    scale: f32,
    tiling: Tiling,
    out: &mut [f32],
    lse: &mut [f32],
) {
    let rows = q.len() / d;
    let nk = k.len() / d;
    let last_key = (tiling.offset + q0 + rows).min(nk);
    let kc = tiling.key_chunk.min(last_key);
    let mut s = vec![0.0f32; rows * kc];
    let mut m = vec![f32::NEG_INFINITY; rows];
    let mut l = vec![0.0f32; rows];
    out.fill(0.0);
    for k0 in (0..last_key).step_by(kc) {
        let k1 = (k0 + kc).min(last_key);
        let n = k1 - k0;
        let s = &mut s[..rows * n];
        // S = scale · Q Kᵀ: Q rows × d (row-major), Kᵀ read from K's rows (column stride d).
        // SAFETY: every pointer covers `rows × d`, `d × n` and `rows × n` elements with the
        // strides given, inside the slices borrowed above; `s` does not alias `q` or `k`.
        unsafe {
            gemm::gemm(
                rows,
                n,
                d,
                s.as_mut_ptr(),
                1,
                n as isize,
                false,
                q.as_ptr(),
                1,
                d as isize,
                k[k0 * d..].as_ptr(),
                d as isize,
                1,
                0.0,
                scale,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        }
        for (i, row) in s.chunks_mut(n).enumerate() {
            let visible = (tiling.offset + q0 + i + 1).saturating_sub(k0).min(n);
            row[visible..].fill(f32::NEG_INFINITY);
            let chunk_max = row[..visible].iter().fold(f32::NEG_INFINITY, |a, &x| if x > a { x } else { a });
            let m_new = if chunk_max > m[i] { chunk_max } else { m[i] };
            let correction = if m[i] == f32::NEG_INFINITY { 0.0 } else { (m[i] - m_new).exp() };
            if correction != 1.0 {
                out[i * d..(i + 1) * d].iter_mut().for_each(|a| *a *= correction);
            }
            l[i] = l[i] * correction + exp_shifted_sum(row, m_new);
            m[i] = m_new;
        }
        // A += P V_j.
        // SAFETY: `rows × n`, `n × d` and `rows × d` elements in row-major order, inside the
        // borrowed slices; `out` does not alias `s` or `v`.
        unsafe {
            gemm::gemm(
                rows,
                d,
                n,
                out.as_mut_ptr(),
                1,
                d as isize,
                true,
                s.as_ptr(),
                1,
                n as isize,
                v[k0 * d..].as_ptr(),
                1,
                d as isize,
                1.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        }
    }
    for i in 0..rows {
        let inv = 1.0 / l[i];
        out[i * d..(i + 1) * d].iter_mut().for_each(|a| *a *= inv);
        lse[i] = m[i] + l[i].ln();
    }
}

/// Replaces `row` by `e^(x − m)` and returns the sum, with AVX2 and FMA where the CPU has them.
fn exp_shifted_sum(row: &mut [f32], m: f32) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has the features the function is compiled for.
        return unsafe { exp_shifted_sum_avx2(row, m) };
    }
    exp_shifted_sum_portable(row, m)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn exp_shifted_sum_avx2(row: &mut [f32], m: f32) -> f32 {
    exp_shifted_sum_portable(row, m)
}

/// `e^x` by `2^n · p(r)`, `x = n ln 2 + r`, `|r| ≤ ln 2 / 2`, `p` the degree-7 Taylor
/// polynomial (truncation error 5e-9; within 3e-7 relative of `expf`), written so the compiler
/// vectorises it: `n` rounded by adding 1.5·2²³ (whose low mantissa bits then hold `n`, so
/// `2^n` is built from those bits without a float-to-int conversion), then eight partial sums.
#[inline(always)]
fn exp_shifted_sum_portable(row: &mut [f32], m: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    const ROUND: f32 = 12_582_912.0; // 1.5 · 2^23, bits 0x4B40_0000
    for x in row.iter_mut() {
        let y = *x - m;
        let below = y < EXP_FLOOR;
        let y = if below { EXP_FLOOR } else { y };
        let t = y * LOG2E + ROUND;
        let n = t - ROUND;
        let r = y - n * LN2_HI - n * LN2_LO;
        let p = 1.0
            + r * (1.0
                + r * (0.5
                    + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
        let two_n = f32::from_bits(t.to_bits().wrapping_sub(0x4B40_0000).wrapping_add(127) << 23);
        *x = if below { 0.0 } else { p * two_n };
    }
    let mut sums = [0.0f32; 8];
    let mut chunks = row.chunks_exact(8);
    for c in &mut chunks {
        for (s, x) in sums.iter_mut().zip(c) {
            *s += x;
        }
    }
    sums.iter().sum::<f32>() + chunks.remainder().iter().sum::<f32>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectorised_exp_is_within_3e7_of_expf() {
        let xs: Vec<f32> = (0..20_000).map(|i| -87.0 + i as f32 * 87.0 / 20_000.0).collect();
        let mut ys = xs.clone();
        let sum = exp_shifted_sum(&mut ys, 0.0);
        let mut expected_sum = 0.0f64;
        for (x, y) in xs.iter().zip(&ys) {
            let e = x.exp();
            expected_sum += f64::from(e);
            assert!((y - e).abs() <= 3e-7 * e, "exp({x}) = {e}, got {y}");
        }
        assert!((f64::from(sum) - expected_sum).abs() < 1e-5 * expected_sum);
        let mut masked = [f32::NEG_INFINITY, -100.0, 0.0];
        assert_eq!(exp_shifted_sum(&mut masked, 0.0), 1.0);
        assert_eq!(masked, [0.0, 0.0, 1.0]);
    }
}
