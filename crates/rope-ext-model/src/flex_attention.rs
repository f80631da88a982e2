//! The flex backend's causal attention forward as one kernel over host memory: for every
//! (batch, head, query block) in parallel (rayon), the scores of one key chunk at a time
//! (`S = s·Q_i K_jᵀ`, one `gemm` call), the online softmax on that block (running max `m`,
//! normaliser `l`, a vectorised `exp`), and `A ← A·e^(m_old−m) + P V_j` (a second `gemm`);
//! then `O_i = A/l` and `L_i = m + ln l`. The same algorithm as the backend-generic forward in
//! [`crate::recompute`], without its per-operation tensors: on flex those allocations, copies and
//! scalar `expf` calls took about half the time of a long forward pass.
//!
//! With a sliding window ([`Tiling::window`]) each row's visible keys are
//! `first_key(i)..=offset + i`; key chunks older than a block's window are not visited, and a
//! row that sees no key of a chunk contributes nothing from it.

use burn::backend::flex::FlexTensor;
use burn::backend::{DType, TensorData, TensorMetadata};
use rayon::prelude::*;

use crate::tiling::Tiling;

/// Shifted scores below which `e^(s − m)` is taken as 0 (`e^−87` ≈ 1.6e-38, just above the
/// smallest normal f32, 1.2e-38), which also covers the `−∞` of masked keys.
const EXP_FLOOR: f32 = -87.0;

/// Whether the kernels take `t`: f32 with no empty dimension.
fn usable(t: &FlexTensor) -> bool {
    let shape = t.shape();
    t.dtype() == DType::F32 && (0..shape.num_dims()).all(|i| shape[i] > 0)
}

/// `(O, L)` for f32 tensors, `None` for other dtypes (the generic path handles them).
pub(crate) fn forward(
    q: &FlexTensor,
    k: &FlexTensor,
    v: &FlexTensor,
    scale: f64,
    tiling: Tiling,
) -> Option<(FlexTensor, FlexTensor)> {
    if [q, k, v].iter().any(|t| !usable(t)) {
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
    let first_key = tiling.first_key(q0);
    let kc = tiling.key_chunk.min(last_key - first_key);
    let mut s = vec![0.0f32; rows * kc];
    let mut m = vec![f32::NEG_INFINITY; rows];
    let mut l = vec![0.0f32; rows];
    out.fill(0.0);
    for k0 in (first_key..last_key).step_by(kc) {
        let k1 = (k0 + kc).min(last_key);
        let n = k1 - k0;
        let s = &mut s[..rows * n];
        // S = scale · Q Kᵀ.
        gemm_nt(rows, n, d, q, &k[k0 * d..k1 * d], s, scale, false);
        for (i, row) in s.chunks_mut(n).enumerate() {
            let (lo, hi) = visible(tiling, q0 + i, k0, n);
            row[..lo].fill(f32::NEG_INFINITY);
            row[hi..].fill(f32::NEG_INFINITY);
            let chunk_max = row[lo..hi].iter().fold(f32::NEG_INFINITY, |a, &x| if x > a { x } else { a });
            let m_new = if chunk_max > m[i] { chunk_max } else { m[i] };
            if m_new == f32::NEG_INFINITY {
                // Nothing visible yet (only with a window): P = 0 for this row.
                row.fill(0.0);
                continue;
            }
            let correction = if m[i] == f32::NEG_INFINITY { 0.0 } else { (m[i] - m_new).exp() };
            if correction != 1.0 {
                out[i * d..(i + 1) * d].iter_mut().for_each(|a| *a *= correction);
            }
            l[i] = l[i] * correction + exp_shifted_sum(row, m_new);
            m[i] = m_new;
        }
        // A += P V_j.
        gemm_nn(rows, d, n, s, &v[k0 * d..k1 * d], out);
    }
    for i in 0..rows {
        let inv = 1.0 / l[i];
        out[i * d..(i + 1) * d].iter_mut().for_each(|a| *a *= inv);
        lse[i] = m[i] + l[i].ln();
    }
}

/// `(dQ, dK, dV)` of the recomputing backward ([`crate::recompute`]'s formulas) for f32
/// tensors, one rayon task per (batch, head): for each key chunk `j` and each query block `i`
/// that sees it, `P = e^(S − L_i)`, `dV_j += Pᵀ dO_i`, `dP = dO_i V_jᵀ`,
/// `dS = s·P ∘ (dP − D_i)`, `dQ_i += dS K_j`, `dK_j += dSᵀ Q_i`, with `D = rowsum(dO ∘ O)`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn backward(
    q: &FlexTensor,
    k: &FlexTensor,
    v: &FlexTensor,
    out: &FlexTensor,
    lse: &FlexTensor,
    d_out: &FlexTensor,
    scale: f64,
    tiling: Tiling,
) -> Option<(FlexTensor, FlexTensor, FlexTensor)> {
    if [q, k, v, out, lse, d_out].iter().any(|t| !usable(t)) {
        return None;
    }
    let shape = q.shape();
    let (b, h, nq, d) = (shape[0], shape[1], shape[2], shape[3]);
    let nk = k.shape()[2];
    let contiguous = [q, k, v, out, lse, d_out].map(|t| t.to_contiguous());
    let [qs, ks, vs, os, ls, dos] = [0, 1, 2, 3, 4, 5].map(|i| contiguous[i].as_slice::<f32>());
    let (qs, ks, vs, os, ls, dos) = (qs?, ks?, vs?, os?, ls?, dos?);
    let mut dq = vec![0.0f32; b * h * nq * d];
    let mut dk = vec![0.0f32; b * h * nk * d];
    let mut dv = vec![0.0f32; b * h * nk * d];
    dq.par_chunks_mut(nq * d).zip(dk.par_chunks_mut(nk * d)).zip(dv.par_chunks_mut(nk * d)).enumerate().for_each(
        |(bh, ((dq, dk), dv))| {
            fn rows(x: &[f32], bh: usize, n: usize, d: usize) -> &[f32] {
                &x[bh * n * d..(bh + 1) * n * d]
            }
            let head = HeadGrads {
                q: rows(qs, bh, nq, d),
                k: rows(ks, bh, nk, d),
                v: rows(vs, bh, nk, d),
                out: rows(os, bh, nq, d),
                lse: &ls[bh * nq..(bh + 1) * nq],
                d_out: rows(dos, bh, nq, d),
                d,
                scale: scale as f32,
                tiling,
            };
            head.run(dq, dk, dv);
        },
    );
    let tensor = |x: Vec<f32>, n: usize| FlexTensor::from_data(TensorData::new(x, [b, h, n, d]));
    Some((tensor(dq, nq), tensor(dk, nk), tensor(dv, nk)))
}

/// One head's inputs to the backward pass, row-major `n × d` slices.
struct HeadGrads<'a> {
    q: &'a [f32],
    k: &'a [f32],
    v: &'a [f32],
    out: &'a [f32],
    lse: &'a [f32],
    d_out: &'a [f32],
    d: usize,
    scale: f32,
    tiling: Tiling,
}

impl HeadGrads<'_> {
    fn run(&self, dq: &mut [f32], dk: &mut [f32], dv: &mut [f32]) {
        let d = self.d;
        let (nq, nk) = (self.q.len() / d, self.k.len() / d);
        let Tiling { query_block, key_chunk, offset, .. } = self.tiling;
        let (qb, kc) = (query_block.min(nq), key_chunk.min(nk));
        let delta: Vec<f32> =
            self.d_out.chunks_exact(d).zip(self.out.chunks_exact(d)).map(|(g, o)| dot(g, o)).collect();
        let mut p = vec![0.0f32; qb * kc];
        let mut dp = vec![0.0f32; qb * kc];
        for k0 in (0..nk).step_by(kc) {
            let n = kc.min(nk - k0);
            let (kj, vj) = (&self.k[k0 * d..(k0 + n) * d], &self.v[k0 * d..(k0 + n) * d]);
            let first = k0.saturating_sub(offset) / qb * qb;
            for q0 in (first..self.tiling.query_end(k0 + n - 1, nq)).step_by(qb) {
                let rows = qb.min(nq - q0);
                let (qi, doi) = (&self.q[q0 * d..(q0 + rows) * d], &self.d_out[q0 * d..(q0 + rows) * d]);
                let (p, dp) = (&mut p[..rows * n], &mut dp[..rows * n]);
                // P = e^(s·Q_i K_jᵀ − L_i), future keys 0.
                gemm_nt(rows, n, d, qi, kj, p, self.scale, false);
                for (i, row) in p.chunks_mut(n).enumerate() {
                    let (lo, hi) = visible(self.tiling, q0 + i, k0, n);
                    row[..lo].fill(f32::NEG_INFINITY);
                    row[hi..].fill(f32::NEG_INFINITY);
                    exp_shifted_sum(row, self.lse[q0 + i]);
                }
                // dV_j += Pᵀ dO_i.
                gemm_tn(n, d, rows, p, doi, &mut dv[k0 * d..(k0 + n) * d]);
                // dP = dO_i V_jᵀ; dS = s·P ∘ (dP − D_i), in place of dP.
                gemm_nt(rows, n, d, doi, vj, dp, 1.0, false);
                for (i, (ds, pr)) in dp.chunks_mut(n).zip(p.chunks(n)).enumerate() {
                    let di = delta[q0 + i];
                    ds.iter_mut().zip(pr).for_each(|(x, &pv)| *x = self.scale * pv * (*x - di));
                }
                // dQ_i += dS K_j; dK_j += dSᵀ Q_i.
                gemm_nn(rows, d, n, dp, kj, &mut dq[q0 * d..(q0 + rows) * d]);
                gemm_tn(n, d, rows, dp, qi, &mut dk[k0 * d..(k0 + n) * d]);
            }
        }
    }
}

/// The columns `lo..hi` of a chunk of `n` keys starting at `k0` that query row `i` sees.
fn visible(tiling: Tiling, i: usize, k0: usize, n: usize) -> (usize, usize) {
    let hi = (tiling.offset + i + 1).saturating_sub(k0).min(n);
    let lo = tiling.first_key(i).saturating_sub(k0).min(hi);
    (lo, hi)
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `dst (m × n) = alpha · A Bᵀ` (or `+=` with `accumulate`), `A` `m × k`, `B` `n × k`, all
/// row-major.
#[allow(clippy::too_many_arguments)]
fn gemm_nt(m: usize, n: usize, k: usize, a: &[f32], b: &[f32], dst: &mut [f32], alpha: f32, accumulate: bool) {
    strided_gemm(dst, [m, n, k], accumulate, alpha, (a, 1, k), (b, k, 1));
}

/// `dst (m × n) += A B`, `A` `m × k`, `B` `k × n`, row-major.
fn gemm_nn(m: usize, n: usize, k: usize, a: &[f32], b: &[f32], dst: &mut [f32]) {
    strided_gemm(dst, [m, n, k], true, 1.0, (a, 1, k), (b, 1, n));
}

/// `dst (m × n) += Aᵀ B`, `A` `k × m`, `B` `k × n`, row-major.
fn gemm_tn(m: usize, n: usize, k: usize, a: &[f32], b: &[f32], dst: &mut [f32]) {
    strided_gemm(dst, [m, n, k], true, 1.0, (a, m, 1), (b, 1, n));
}

/// `dst (m × n, row-major) = dst·[accumulate] + alpha · A B` for `A` (`m × k`) and `B`
/// (`k × n`) given as `(slice, column stride, row stride)`, on the calling thread.
///
/// # Panics
/// If an operand's last element lies outside its slice (the bound that makes the call sound).
fn strided_gemm(
    dst: &mut [f32],
    [m, n, k]: [usize; 3],
    accumulate: bool,
    alpha: f32,
    (a, a_cs, a_rs): (&[f32], usize, usize),
    (b, b_cs, b_rs): (&[f32], usize, usize),
) {
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    let fits = |len: usize, rows: usize, cols: usize, cs: usize, rs: usize| (rows - 1) * rs + (cols - 1) * cs < len;
    assert!(
        fits(a.len(), m, k, a_cs, a_rs) && fits(b.len(), k, n, b_cs, b_rs) && fits(dst.len(), m, n, 1, n),
        "gemm operands out of bounds: m {m}, n {n}, k {k}"
    );
    // SAFETY: the assertion above keeps every element the strides address inside its slice;
    // `dst` is a unique borrow, so it aliases neither input.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.as_ptr(),
            a_cs as isize,
            a_rs as isize,
            b.as_ptr(),
            b_cs as isize,
            b_rs as isize,
            1.0,
            alpha,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
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
