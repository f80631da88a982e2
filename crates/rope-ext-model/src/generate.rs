//! Incremental decoding with a KV cache that stays correct when the RoPE frequencies change.
//!
//! Keys are cached after rotation, so a cache is only valid for the frequencies it was built
//! with. [`Generation`] keeps HF's runtime rules in a [`RopeRuntime`] (dynamic NTK's growth,
//! LongRoPE's short→long switch, E²-LLM's `g`) and, whenever they change the frequencies while
//! something is cached, drops the cache and re-runs the whole sequence — what HF's Phi-3 does at
//! the LongRoPE switch, and what transformers#25104 (stale keys after a dynamic-NTK base change)
//! lacks. The result equals a full recompute at every step. For dynamic NTK past the original
//! window this means a re-prefill at every step: correct, and as slow as no cache; static methods
//! never re-prefill.
//!
//! Re-rotating the cached keys by the change of angle instead (llama.cpp's K-shift) is exact
//! for layer 0 only: from layer 1 on, a cached key or value is a function of the earlier
//! layers' attention, which ran with the old frequencies. Measured on the tiny LongRoPE fixture
//! at its short→long switch (256 → 257 tokens): layer 0's re-rotated keys match a recompute
//! within 5e-7, layer 1's differ by up to 3.4. A cheaper exact path has to re-run the layers,
//! not only turn the keys.

use burn::tensor::Tensor;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rope_ext_core::RopeRuntime;

use crate::attention::AttentionImpl;
use crate::error::ModelError;
use crate::host::to_host;
use crate::model::{ForwardOptions, KvCache, Llama};
use crate::rotary::Positions;

/// How the next token is chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sampling {
    /// The most likely token.
    Greedy,
    /// A draw from `softmax(logits / temperature)`, restricted to the `top_k` most likely
    /// tokens when given, from a seeded generator.
    Temperature {
        /// `> 0`.
        temperature: f64,
        /// Keep only this many candidates.
        top_k: Option<usize>,
        /// Seed of the generator.
        seed: u64,
    },
}

/// A decoding session over one sequence.
#[derive(Debug)]
pub struct Generation<'m> {
    model: &'m Llama,
    runtime: RopeRuntime,
    cache: KvCache,
    tokens: Vec<u32>,
    attention: AttentionImpl,
    reprefills: usize,
}

impl<'m> Generation<'m> {
    /// An empty session.
    pub fn new(model: &'m Llama, attention: AttentionImpl) -> Self {
        Generation {
            model,
            runtime: RopeRuntime::new(model.config.rope.clone()),
            cache: KvCache::default(),
            tokens: Vec::new(),
            attention,
            reprefills: 0,
        }
    }

    /// The tokens so far.
    pub fn tokens(&self) -> &[u32] {
        &self.tokens
    }

    /// How many times a frequency change forced the whole sequence to be re-run.
    pub fn reprefills(&self) -> usize {
        self.reprefills
    }

    /// Appends `new` tokens and returns the logits of the last one.
    pub fn extend(&mut self, new: &[u32]) -> Result<Vec<f32>, ModelError> {
        if new.is_empty() {
            return Err(ModelError::Input("no tokens to append"));
        }
        let seq_len = self.tokens.len() + new.len();
        let changed = self.runtime.update(seq_len);
        self.tokens.extend_from_slice(new);
        let (input, start) = if changed && !self.cache.is_empty() {
            self.cache = KvCache::default();
            self.reprefills += 1;
            (self.tokens.clone(), 0)
        } else {
            (new.to_vec(), self.cache.len())
        };
        let n = input.len();
        let tokens = self.model.tokens(&[input])?;
        let hidden = self.model.hidden_with(
            tokens,
            &Positions::Range { start },
            self.runtime.frequencies(),
            Some(&mut self.cache),
            ForwardOptions { attention: self.attention, entropy: None },
        );
        // Only the last position's logits: the head never sees the prompt's other rows.
        let last: Tensor<3> = hidden.slice([0..1, n - 1..n, 0..self.model.config.hidden_size]);
        Ok(to_host(self.model.head(last)))
    }

    /// Feeds `prompt`, then appends up to `max_new` chosen tokens, stopping after an
    /// end-of-sequence token. Returns the new tokens.
    pub fn generate(&mut self, prompt: &[u32], max_new: usize, sampling: Sampling) -> Result<Vec<u32>, ModelError> {
        let mut rng = match sampling {
            Sampling::Temperature { seed, .. } => Some(StdRng::seed_from_u64(seed)),
            Sampling::Greedy => None,
        };
        let mut out = Vec::with_capacity(max_new);
        let mut logits = self.extend(prompt)?;
        for _ in 0..max_new {
            let next = choose(&logits, sampling, rng.as_mut())?;
            out.push(next);
            if self.model.config.eos_token_ids.contains(&next) || out.len() == max_new {
                break;
            }
            logits = self.extend(&[next])?;
        }
        Ok(out)
    }
}

/// Picks a token from one row of logits.
pub fn choose(logits: &[f32], sampling: Sampling, rng: Option<&mut StdRng>) -> Result<u32, ModelError> {
    let argmax = || {
        logits
            .iter()
            .enumerate()
            .fold((0usize, f32::NEG_INFINITY), |(bi, bv), (i, &v)| if v > bv { (i, v) } else { (bi, bv) })
            .0
    };
    match (sampling, rng) {
        (Sampling::Greedy, _) | (_, None) => Ok(argmax() as u32),
        (Sampling::Temperature { temperature, top_k, .. }, Some(rng)) => {
            if !(temperature > 0.0 && temperature.is_finite()) {
                return Err(ModelError::Input("sampling temperature must be a positive finite number"));
            }
            let mut order: Vec<usize> = (0..logits.len()).collect();
            order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]));
            order.truncate(top_k.unwrap_or(logits.len()).max(1));
            let top = f64::from(logits[order[0]]);
            let weights: Vec<f64> = order.iter().map(|&i| ((f64::from(logits[i]) - top) / temperature).exp()).collect();
            let total: f64 = weights.iter().sum();
            let mut u = rand::RngExt::random::<f64>(rng) * total;
            for (&i, w) in order.iter().zip(&weights) {
                if u < *w {
                    return Ok(i as u32);
                }
                u -= w;
            }
            Ok(*order.last().expect("at least one candidate") as u32)
        }
    }
}
