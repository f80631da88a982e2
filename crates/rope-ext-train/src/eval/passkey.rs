//! Passkey retrieval with the template shared by landmark-attention, YaRN and LongRoPE
//! (spec §12.1):
//!
//! ```text
//! {TASK_DESCRIPTION}\n{garbage[:prefix]}\n{information line}\n{garbage[:suffix]}\n{FINAL_QUESTION}
//! ```
//! with `garbage` the repeated filler sentences and the information line
//! `"The pass key is {k}. Remember it. {k} is the pass key."`, `k ∈ [1, 50000]`. The scripts
//! draw the prefix length at random; here the needle depth is a parameter (`prefix =
//! round(depth · n_garbage)` characters), so accuracy can be reported by depth. The garbage
//! length is the largest whose prompt fits the target length in tokens (YaRN's script grows it
//! until the prompt reaches the target). Scoring as the scripts: greedy decoding of up to 10
//! tokens, the first run of digits compared with the key.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rope_ext_model::{AttentionImpl, Generation, Llama, Sampling, Tokenizer};
use serde::{Deserialize, Serialize};

use crate::data::Sample;
use crate::error::TrainError;
use crate::train::mix;

/// The scripts' task description.
pub const TASK_DESCRIPTION: &str = "There is an important info hidden inside a lot of irrelevant text. Find it and memorize them. I will quiz you about the important information there.";
/// The scripts' filler sentence group.
pub const GARBAGE: &str = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.";
/// The scripts' question; the model continues it with the key.
pub const FINAL_QUESTION: &str = "What is the pass key? The pass key is";
/// The largest key, `randint(1, 50000)`.
pub const MAX_KEY: u32 = 50_000;
/// The scripts' `max_new_tokens`.
pub const MAX_NEW_TOKENS: usize = 10;

/// The information line.
pub fn information_line(key: u32) -> String {
    format!("The pass key is {key}. Remember it. {key} is the pass key.")
}

/// The prompt with `prefix` and `suffix` characters of garbage around the needle.
pub fn prompt_text(prefix: usize, suffix: usize, key: u32) -> String {
    let needed = prefix.max(suffix);
    let copies = needed / (GARBAGE.len() + 1) + 1;
    let garbage = vec![GARBAGE; copies].join(" ");
    [TASK_DESCRIPTION, &garbage[..prefix], &information_line(key), &garbage[..suffix], FINAL_QUESTION].join("\n")
}

/// One passkey prompt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PasskeyPrompt {
    /// The key.
    pub key: u32,
    /// The requested needle depth in `[0, 1]`.
    pub depth: f64,
    /// Garbage characters before the needle.
    pub prefix_chars: usize,
    /// Garbage characters after it.
    pub suffix_chars: usize,
    /// The prompt.
    pub text: String,
    /// Its tokens.
    pub tokens: Vec<u32>,
}

/// The longest prompt of at most `max_tokens` tokens with the needle at `depth`.
pub fn build_prompt(
    tokenizer: &Tokenizer,
    max_tokens: usize,
    depth: f64,
    key: u32,
) -> Result<PasskeyPrompt, TrainError> {
    if !(0.0..=1.0).contains(&depth) {
        return Err(TrainError::config("depth", format!("must be in [0, 1], got {depth}")));
    }
    let make = |n: usize| -> Result<PasskeyPrompt, TrainError> {
        let prefix = (depth * n as f64).round() as usize;
        let text = prompt_text(prefix, n - prefix, key);
        let tokens = tokenizer.encode(&text)?;
        Ok(PasskeyPrompt { key, depth, prefix_chars: prefix, suffix_chars: n - prefix, text, tokens })
    };
    let bare = make(0)?;
    if bare.tokens.len() > max_tokens {
        return Err(TrainError::config(
            "length",
            format!("{max_tokens} tokens cannot hold the bare passkey prompt ({} tokens)", bare.tokens.len()),
        ));
    }
    // Tokens grow with characters (up to tokenizer merges at the cut); bisect the largest fit.
    let (mut lo, mut hi) = (0usize, max_tokens * 8 + 64);
    let mut best = bare;
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        let p = make(mid)?;
        if p.tokens.len() <= max_tokens {
            lo = mid;
            best = p;
        } else {
            hi = mid - 1;
        }
    }
    Ok(best)
}

/// A training sample teaching the task inside a window of `len` tokens: a prompt with the
/// needle at `depth` followed by the answer `" {key}."` (spec §12.1's template scaled to fit
/// the window). Every token is a target, or with `answer_only` just the answer's, which puts
/// the whole gradient of the sample on retrieval.
pub fn training_sample(
    tokenizer: &Tokenizer,
    len: usize,
    depth: f64,
    key: u32,
    answer_only: bool,
) -> Result<Sample, TrainError> {
    let answer = tokenizer.encode(&format!(" {key}."))?;
    let room = len.saturating_sub(answer.len());
    let prompt = build_prompt(tokenizer, room, depth, key)?;
    Ok(if answer_only {
        Sample::chat(&prompt.tokens, &answer, len)
    } else {
        Sample::text(prompt.tokens.into_iter().chain(answer).collect())
    })
}

/// `n` training samples with seeded keys, depths uniform in `[0, 1]` and lengths uniform in
/// `[min_len, len]` tokens (short prompts put the needle close to the question, which helps a
/// small model learn to copy before it has to reach far); see [`training_sample`].
pub fn training_samples(
    tokenizer: &Tokenizer,
    n: usize,
    min_len: usize,
    len: usize,
    answer_only: bool,
    seed: u64,
) -> Result<Vec<Sample>, TrainError> {
    if min_len > len {
        return Err(TrainError::config("min_len", format!("{min_len} exceeds the length {len}")));
    }
    let mut rng = StdRng::seed_from_u64(mix(seed, 4, 0));
    (0..n)
        .map(|_| {
            let key = rng.random_range(1..=MAX_KEY);
            let depth = rng.random_range(0.0..=1.0);
            let room = rng.random_range(min_len..=len);
            training_sample(tokenizer, room, depth, key, answer_only)
        })
        .collect()
}

/// The first run of ASCII digits in `text`, as a number.
pub fn first_integer(text: &str) -> Option<u64> {
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let digits: String = text[start..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The grid of a passkey evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasskeyConfig {
    /// Prompt lengths in tokens.
    pub lengths: Vec<usize>,
    /// Needle depths in `[0, 1]`.
    pub depths: Vec<f64>,
    /// Trials per (length, depth) cell, each with its own key.
    pub trials: usize,
    /// The seed of the keys.
    pub seed: u64,
}

impl Default for PasskeyConfig {
    fn default() -> Self {
        PasskeyConfig { lengths: vec![256, 512, 1024, 2048], depths: vec![0.1, 0.5, 0.9], trials: 10, seed: 42 }
    }
}

/// The key of trial `trial` in cell `(length, depth index)`.
pub fn key_for(seed: u64, length: usize, depth_index: usize, trial: usize) -> u32 {
    let mut rng =
        StdRng::seed_from_u64(mix(seed, 3, ((length as u64) << 32) ^ ((depth_index as u64) << 16) ^ trial as u64));
    rng.random_range(1..=MAX_KEY)
}

/// Accuracy in one (length, depth) cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PasskeyCell {
    /// Prompt length (tokens, at most).
    pub length: usize,
    /// Needle depth.
    pub depth: f64,
    /// Trials.
    pub trials: usize,
    /// Correct answers.
    pub correct: usize,
}

impl PasskeyCell {
    /// `correct / trials`.
    pub fn accuracy(&self) -> f64 {
        if self.trials == 0 { 0.0 } else { self.correct as f64 / self.trials as f64 }
    }
}

/// Runs the grid: for each cell and trial, builds the prompt, decodes greedily with a KV cache
/// ([`Generation`]), and checks the first number of the answer. When the method's frequencies
/// change with length (dynamic NTK past the window, LongRoPE's short→long switch), `Generation`
/// drops the cache and re-runs the whole sequence, so every step equals a full recompute.
/// transformers does not: its dynamic NTK keeps the cached keys rotated with the old
/// frequencies (transformers#25104). `on_trial` sees each finished trial.
pub fn evaluate(
    model: &Llama,
    tokenizer: &Tokenizer,
    cfg: &PasskeyConfig,
    attention: AttentionImpl,
    on_trial: &mut dyn FnMut(&PasskeyPrompt, bool),
) -> Result<Vec<PasskeyCell>, TrainError> {
    if cfg.trials == 0 {
        return Err(TrainError::config("trials", "must be at least 1, got 0"));
    }
    let mut cells = Vec::new();
    for &length in &cfg.lengths {
        let room = length.checked_sub(MAX_NEW_TOKENS).filter(|&r| r > 0).ok_or_else(|| {
            TrainError::config("lengths", format!("{length} leaves no room for {MAX_NEW_TOKENS} answer tokens"))
        })?;
        for (di, &depth) in cfg.depths.iter().enumerate() {
            let mut correct = 0;
            for trial in 0..cfg.trials {
                let key = key_for(cfg.seed, length, di, trial);
                let prompt = build_prompt(tokenizer, room, depth, key)?;
                let answer =
                    Generation::new(model, attention).generate(&prompt.tokens, MAX_NEW_TOKENS, Sampling::Greedy)?;
                let ok = first_integer(&tokenizer.decode(&answer)?) == Some(u64::from(key));
                correct += usize::from(ok);
                on_trial(&prompt, ok);
            }
            cells.push(PasskeyCell { length, depth, trials: cfg.trials, correct });
        }
    }
    Ok(cells)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_is_the_scripts() {
        let p = prompt_text(5, 3, 123);
        let lines: Vec<&str> = p.split('\n').collect();
        assert_eq!(
            lines,
            vec![
                TASK_DESCRIPTION,
                "The g",
                "The pass key is 123. Remember it. 123 is the pass key.",
                "The",
                FINAL_QUESTION
            ]
        );
        assert_eq!(prompt_text(0, 0, 7).matches('\n').count(), 4);
    }

    #[test]
    fn parses_the_first_number() {
        assert_eq!(first_integer(" 4321. Remember"), Some(4321));
        assert_eq!(first_integer("none"), None);
        assert_eq!(first_integer("a1b22"), Some(1));
    }

    #[test]
    fn keys_are_seeded_and_in_range() {
        let a: Vec<u32> = (0..50).map(|t| key_for(42, 256, 0, t)).collect();
        assert_eq!(a, (0..50).map(|t| key_for(42, 256, 0, t)).collect::<Vec<_>>());
        assert!(a.iter().all(|k| (1..=MAX_KEY).contains(k)));
        assert_ne!(a, (0..50).map(|t| key_for(42, 512, 0, t)).collect::<Vec<_>>());
    }
}
