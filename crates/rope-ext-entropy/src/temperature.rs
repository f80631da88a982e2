//! The logit scale that brings a row's attention entropy to a target: the 100-samples paper's
//! reading of YaRN's temperature and of its own scalar, made testable.
//!
//! `H(t)`, the entropy of `softmax(t · z)` for `t > 0`, is continuous and strictly decreasing
//! unless all logits are equal (`dH/d ln t = −t² Var_p(z)`). It tends to `ln n` (n unmasked keys)
//! as `t → 0` and to `ln k` (k keys tied at the maximum) as `t → ∞`; a target outside
//! `(ln k, ln n)` is [`EntropyError::Unreachable`]. The solver brackets `ln t` in
//! `[−MAX_LOG_SCALE, MAX_LOG_SCALE]` and bisects until the entropy is within
//! [`ENTROPY_TOLERANCE`] of the target; a target it cannot reach inside that bracket (logits
//! so far apart that only a scale below `e^−60` spreads the attention) is
//! [`EntropyError::NotReached`], never a silent approximation.

use crate::error::EntropyError;
use crate::row::{RowMask, scaled_entropy};

/// How close to the target the solver's entropy is, in nats.
pub const ENTROPY_TOLERANCE: f64 = 1e-8;
/// The solver searches `t ∈ [e^−60, e^60]`.
pub const MAX_LOG_SCALE: f64 = 60.0;

/// The solver's answer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogitScale {
    /// `t`: multiply the logits by it.
    pub scale: f64,
    /// The entropy of the scaled row, in nats.
    pub entropy: f64,
    /// Entropy evaluations used.
    pub evaluations: u32,
}

/// Finds `t > 0` with `H(softmax(t · logits)) = target` over the unmasked keys.
pub fn solve_logit_scale(logits: &[f32], target: f64, mask: RowMask<'_>) -> Result<LogitScale, EntropyError> {
    let h = |log_t: f64| scaled_entropy(logits, log_t.exp(), mask);
    let kept: Vec<f32> =
        logits.iter().enumerate().filter(|&(j, &z)| mask.keeps(j) && z != f32::NEG_INFINITY).map(|(_, &z)| z).collect();
    let h1 = h(0.0)?; // validates the row (empty, masked, NaN) before anything else
    let top = kept.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let ties = kept.iter().filter(|&&z| z == top).count();
    let (min, max) = ((ties as f64).ln(), (kept.len() as f64).ln());
    if ties == kept.len() {
        // all equal: H(t) = ln n for every t
        return if (target - max).abs() <= ENTROPY_TOLERANCE {
            Ok(LogitScale { scale: 1.0, entropy: h1, evaluations: 1 })
        } else {
            Err(EntropyError::Unreachable { target, min, max })
        };
    }
    if !(target > min && target < max) || target.is_nan() {
        return Err(EntropyError::Unreachable { target, min, max });
    }
    let (mut lo, mut hi) = (-MAX_LOG_SCALE, MAX_LOG_SCALE); // H(lo) ≥ target ≥ H(hi)
    let mut evaluations = 1;
    let mut best = LogitScale { scale: 1.0, entropy: h1, evaluations };
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        let hm = h(mid)?;
        evaluations += 1;
        if (hm - target).abs() < (best.entropy - target).abs() {
            best = LogitScale { scale: mid.exp(), entropy: hm, evaluations };
        }
        if (hm - target).abs() <= ENTROPY_TOLERANCE || hi - lo < 1e-15 {
            break;
        }
        if hm > target { lo = mid } else { hi = mid }
    }
    best.evaluations = evaluations;
    if (best.entropy - target).abs() > ENTROPY_TOLERANCE {
        return Err(EntropyError::NotReached { target, closest: best.entropy, scale: best.scale });
    }
    Ok(best)
}
