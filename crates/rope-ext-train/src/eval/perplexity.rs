//! Sliding-window perplexity as the YaRN and LongRoPE evaluation scripts compute it
//! (`eval/perplexity.py::compute_perplexity`, after Press et al.):
//!
//! ```text
//! max_tok = L − 1 if BOS else L
//! for doc: prev_end = 0
//!   for begin in 0, S, 2S, …:
//!     end = min(begin + max_tok, len(doc)); trg = end − prev_end
//!     ids = [BOS] + doc[begin:end]; score the last trg tokens of ids (each given all before it)
//!     window NLL = mean over those tokens; prev_end = end; stop once end == len(doc)
//! ppl = exp(mean of window NLLs)          (unweighted: the scripts' number)
//! ```
//! With `truncate` each document is cut to `max_tok` tokens and scored as one window (the
//! YaRN paper's `--truncate`). The token-weighted variant `exp(Σ NLL / Σ tokens)` is reported
//! beside it, labelled. Each window is a fresh sequence at positions `0..`, with the
//! frequencies a freshly loaded transformers model would use at that length.

use rope_ext_model::{AttentionImpl, Llama};
use serde::{Deserialize, Serialize};

use crate::error::TrainError;

/// The scripts' default stride.
pub const DEFAULT_STRIDE: usize = 256;

/// How to slide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PerplexityConfig {
    /// The evaluation length `L` (BOS included).
    pub len: usize,
    /// The stride `S`.
    pub stride: usize,
    /// Prepend this BOS token to every window.
    pub bos: Option<u32>,
    /// Score one window per document, the document cut to `L`.
    pub truncate: bool,
    /// At most this many windows per document (LongRoPE caps at 10).
    pub max_windows: Option<usize>,
}

impl Default for PerplexityConfig {
    fn default() -> Self {
        PerplexityConfig { len: 1024, stride: DEFAULT_STRIDE, bos: None, truncate: false, max_windows: None }
    }
}

impl PerplexityConfig {
    /// Rejects a length too short to score a token (3, or 2 with a BOS) and a zero stride
    /// (with which [`windows`] would never advance).
    pub fn validate(&self) -> Result<(), TrainError> {
        let min_len = if self.bos.is_some() { 2 } else { 3 };
        if self.len < min_len {
            return Err(TrainError::config("len", format!("must be at least {min_len}, got {}", self.len)));
        }
        if self.stride == 0 {
            return Err(TrainError::config("stride", "must be at least 1, got 0"));
        }
        Ok(())
    }
}

/// Perplexity at one length.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Perplexity {
    /// The evaluation length.
    pub len: usize,
    /// Windows scored.
    pub windows: usize,
    /// Tokens scored.
    pub tokens: usize,
    /// `exp(mean over windows of the window's mean NLL)`: the YaRN / LongRoPE scripts' value.
    pub window_mean: f64,
    /// `exp(Σ NLL / Σ tokens)`: token-weighted.
    pub token_weighted: f64,
}

/// The windows `(begin, end, scored)` of a document of `n` tokens, for a configuration that
/// passes [`PerplexityConfig::validate`].
pub fn windows(n: usize, cfg: &PerplexityConfig) -> Vec<(usize, usize, usize)> {
    let max_tok = if cfg.bos.is_some() { cfg.len - 1 } else { cfg.len };
    if cfg.truncate {
        let end = n.min(max_tok);
        return vec![(0, end, end)];
    }
    let mut out = Vec::new();
    let mut prev_end = 0;
    let mut begin = 0;
    while begin < n {
        let end = (begin + max_tok).min(n);
        out.push((begin, end, end - prev_end));
        prev_end = end;
        if end == n || cfg.max_windows.is_some_and(|m| out.len() >= m) {
            break;
        }
        begin += cfg.stride;
    }
    out
}

/// Sliding-window perplexity of `model` over `docs` (token ids).
pub fn sliding_window(
    model: &Llama,
    docs: &[Vec<u32>],
    cfg: &PerplexityConfig,
    attention: AttentionImpl,
) -> Result<Perplexity, TrainError> {
    cfg.validate()?;
    let (mut window_nlls, mut total, mut tokens) = (Vec::new(), 0.0, 0);
    for doc in docs {
        for (begin, end, scored) in windows(doc.len(), cfg) {
            let ids: Vec<u32> = cfg.bos.into_iter().chain(doc[begin..end].iter().copied()).collect();
            if ids.len() < 2 {
                continue;
            }
            let nlls = model.token_nlls(&ids, attention)?;
            let take = scored.min(nlls.len());
            let sum: f64 = nlls[nlls.len() - take..].iter().sum();
            window_nlls.push(sum / take as f64);
            total += sum;
            tokens += take;
        }
    }
    if window_nlls.is_empty() {
        return Err(TrainError::Data("no document long enough to score".into()));
    }
    let mean = window_nlls.iter().sum::<f64>() / window_nlls.len() as f64;
    Ok(Perplexity {
        len: cfg.len,
        windows: window_nlls.len(),
        tokens,
        window_mean: mean.exp(),
        token_weighted: (total / tokens as f64).exp(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_follow_the_scripts() {
        let cfg = PerplexityConfig { len: 8, stride: 4, bos: Some(1), ..Default::default() };
        // max_tok = 7: [0,7) scores 7, [4,11) scores 4, [8,15)→[8,12) scores 1... n = 12
        assert_eq!(windows(12, &cfg), vec![(0, 7, 7), (4, 11, 4), (8, 12, 1)]);
        let trunc = PerplexityConfig { truncate: true, ..cfg };
        assert_eq!(windows(12, &trunc), vec![(0, 7, 7)]);
        let capped = PerplexityConfig { max_windows: Some(2), ..cfg };
        assert_eq!(windows(100, &capped).len(), 2);
        let nobos = PerplexityConfig { bos: None, ..cfg };
        assert_eq!(windows(8, &nobos), vec![(0, 8, 8)]);
    }
}
