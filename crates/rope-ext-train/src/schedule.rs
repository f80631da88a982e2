//! Learning-rate schedules, as HF transformers' `get_*_schedule_with_warmup` define them
//! (`LambdaLR` multipliers of the peak rate; step `k = 0` is the first update):
//!
//! - warmup, `k < w`: `k / max(1, w)`;
//! - constant: `1`;
//! - linear: `max(0, (T − k) / max(1, T − w))`;
//! - cosine: `max(0, ½ (1 + cos(π · (k − w) / max(1, T − w))))`.
//!
//! Parity: `transformers.optimization` 5.23 (`get_constant_schedule_with_warmup`,
//! `get_linear_schedule_with_warmup`, `get_cosine_schedule_with_warmup` with 0.5 cycles).

use serde::{Deserialize, Serialize};

use crate::error::TrainError;

/// The decay after warmup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decay {
    /// Constant at the peak.
    Constant,
    /// Linear to zero at the last step.
    Linear,
    /// Half a cosine to zero.
    #[default]
    Cosine,
}

/// A learning-rate schedule: peak rate, warmup and decay.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Schedule {
    /// The peak learning rate.
    pub lr: f64,
    /// Warmup steps `w`.
    pub warmup_steps: u64,
    /// The decay after warmup.
    pub decay: Decay,
}

impl Default for Schedule {
    /// The 100-samples paper's: peak 2e-5, no warmup, cosine.
    fn default() -> Self {
        Schedule { lr: 2e-5, warmup_steps: 0, decay: Decay::Cosine }
    }
}

impl Schedule {
    /// Rejects a non-finite or non-positive peak rate.
    pub fn validate(&self, prefix: &str) -> Result<(), TrainError> {
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(TrainError::config(format!("{prefix}lr"), format!("must be finite and > 0, got {}", self.lr)));
        }
        Ok(())
    }

    /// The learning rate of update `k` (0-based) out of `total`.
    pub fn lr_at(&self, k: u64, total: u64) -> f64 {
        let w = self.warmup_steps;
        if k < w {
            return self.lr * k as f64 / w.max(1) as f64;
        }
        let span = total.saturating_sub(w).max(1) as f64;
        let done = (k - w) as f64;
        self.lr
            * match self.decay {
                Decay::Constant => 1.0,
                Decay::Linear => ((total as f64 - k as f64) / span).max(0.0),
                Decay::Cosine => (0.5 * (1.0 + (std::f64::consts::PI * done / span).cos())).max(0.0),
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    /// Values printed by transformers 5.23 for peak 1.0: `get_cosine_schedule_with_warmup(opt,
    /// 2, 10)` and `get_linear_schedule_with_warmup(opt, 2, 10)`, `[sched.get_last_lr()[0] for
    /// each of 10 steps]`.
    #[test]
    fn matches_transformers_multipliers() {
        let cos = Schedule { lr: 1.0, warmup_steps: 2, decay: Decay::Cosine };
        let lin = Schedule { lr: 1.0, warmup_steps: 2, decay: Decay::Linear };
        let expect_cos = [
            0.0,
            0.5,
            1.0,
            0.9619397662556434,
            0.8535533905932737,
            0.6913417161825449,
            0.5,
            0.30865828381745514,
            0.14644660940672627,
            0.03806023374435663,
        ];
        let expect_lin = [0.0, 0.5, 1.0, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125];
        for k in 0..10 {
            assert_relative_eq!(cos.lr_at(k, 10), expect_cos[k as usize], epsilon = 1e-12);
            assert_relative_eq!(lin.lr_at(k, 10), expect_lin[k as usize], epsilon = 1e-12);
        }
        let constant = Schedule { lr: 2.0, warmup_steps: 0, decay: Decay::Constant };
        assert_eq!(constant.lr_at(5, 10), 2.0);
    }
}
