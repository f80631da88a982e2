//! [`RopeRuntime`]: the stateful side of length-dependent methods, with HF's rules.
//!
//! - Grow and reset (HF `dynamic_frequency_update`, used for `dynamic` and every type whose name
//!   contains "dynamic"): with `n` = max position + 1 of the current call, if `n` exceeds the
//!   cached length, recompute at `n` and cache `n` (growth); if `n` is below the original window
//!   while the cache is beyond it, restore the original frequencies (reset, HF PR #27033).
//! - Short/long (HF `longrope_frequency_update`): long factors iff `n > L`, chosen per call,
//!   so a single prompt longer than `L` uses them from token 0 (spec §14.5).
//!
//! The runtime only tracks frequencies. Keys cached after rotation keep their old rotation when
//! the frequencies change (HF #25104); [`RopeRuntime::update`] reports every change so a model
//! can re-rotate or re-prefill.

use crate::frequencies::RopeFrequencies;
use crate::rope::Rope;
use crate::scaling::LengthPolicy;

/// Frequencies that follow the current sequence length.
#[derive(Debug, Clone)]
pub struct RopeRuntime {
    rope: Rope,
    original: RopeFrequencies,
    current: RopeFrequencies,
    max_seq_len_cached: usize,
    original_window: usize,
}

impl RopeRuntime {
    /// Starts with the frequencies at initialisation (`seq_len = None`).
    pub fn new(rope: Rope) -> Self {
        let original = rope.frequencies(None);
        let original_window = rope.scaling().original_window(rope.context());
        RopeRuntime { current: original.clone(), original, max_seq_len_cached: original_window, original_window, rope }
    }

    /// The specification.
    pub fn rope(&self) -> &Rope {
        &self.rope
    }

    /// The frequencies in force.
    pub fn frequencies(&self) -> &RopeFrequencies {
        &self.current
    }

    /// The cached sequence length (grow-and-reset methods).
    pub fn max_seq_len_cached(&self) -> usize {
        self.max_seq_len_cached
    }

    /// Applies the rules for a call whose largest position is `seq_len − 1`. Returns whether the
    /// frequencies changed.
    pub fn update(&mut self, seq_len: usize) -> bool {
        let next = match self.rope.scaling().length_policy() {
            LengthPolicy::Static => return false,
            LengthPolicy::ShortLong => self.rope.frequencies(Some(seq_len)),
            LengthPolicy::GrowAndReset => {
                let cached = self.max_seq_len_cached;
                if seq_len > cached {
                    self.max_seq_len_cached = seq_len;
                    self.rope.frequencies(Some(seq_len))
                } else if seq_len < self.original_window && cached > self.original_window {
                    self.max_seq_len_cached = self.original_window;
                    self.original.clone()
                } else {
                    return false;
                }
            }
        };
        let changed = next != self.current;
        self.current = next;
        changed
    }
}
