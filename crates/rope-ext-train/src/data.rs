//! Training and evaluation data: corpora of documents, a byte-level BPE tokenizer trained on
//! them, fixed-length samples with loss masks, and the deterministic choice of N samples.
//!
//! A corpus file is JSON Lines (`{"source", "title", "text"}` per document), optionally
//! gzip-compressed (`.jsonl.gz`), or a plain `.txt` file read as one document.

use std::io::{BufRead, BufReader, Read};
use std::ops::RangeInclusive;
use std::path::Path;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rope_ext_model::Tokenizer;
use serde::{Deserialize, Serialize};

use crate::error::TrainError;

/// The end-of-text token the project's tokenizers carry; it separates documents in packed
/// samples.
pub const END_OF_TEXT: &str = "<|endoftext|>";

/// One document of a corpus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    /// Where it comes from (`shakespeare`, `kjv`, ...).
    #[serde(default)]
    pub source: String,
    /// Its title.
    #[serde(default)]
    pub title: String,
    /// The text.
    pub text: String,
}

/// Reads a corpus: `.jsonl.gz`, `.jsonl`, or `.txt` (one document).
pub fn read_corpus(path: &Path) -> Result<Vec<Document>, TrainError> {
    let reader = open(path)?;
    if path.to_string_lossy().ends_with(".txt") {
        let mut text = String::new();
        BufReader::new(reader).read_to_string(&mut text).map_err(|e| TrainError::io(path, e))?;
        let title = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        return Ok(vec![Document { source: String::new(), title, text }]);
    }
    read_json_lines(path, reader, "documents")
}

/// The non-empty lines of `reader` (the contents of `path`), each a JSON `T`; an error names
/// the line that does not parse, or says the file holds no `what`.
fn read_json_lines<T: serde::de::DeserializeOwned>(
    path: &Path,
    reader: Box<dyn Read>,
    what: &str,
) -> Result<Vec<T>, TrainError> {
    let mut items = Vec::new();
    for (i, line) in BufReader::new(reader).lines().enumerate() {
        let line = line.map_err(|e| TrainError::io(path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let item = serde_json::from_str(&line)
            .map_err(|e| TrainError::Data(format!("{}: line {}: {e}", path.display(), i + 1)))?;
        items.push(item);
    }
    if items.is_empty() {
        return Err(TrainError::Data(format!("{}: no {what}", path.display())));
    }
    Ok(items)
}

/// A file's bytes, gunzipped if its name ends in `.gz`.
fn open(path: &Path) -> Result<Box<dyn Read>, TrainError> {
    let file = std::fs::File::open(path).map_err(|e| TrainError::io(path, e))?;
    Ok(if path.to_string_lossy().ends_with(".gz") {
        Box::new(flate2::read::GzDecoder::new(file))
    } else {
        Box::new(file)
    })
}

/// One prompt/response pair of a chat-style file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatPair {
    /// What the model is given (no loss on it).
    pub prompt: String,
    /// What it learns to answer (the loss).
    pub response: String,
}

/// Reads a chat-style file: JSON Lines of `{"prompt", "response"}`, optionally gzip-compressed.
pub fn read_chat(path: &Path) -> Result<Vec<ChatPair>, TrainError> {
    read_json_lines(path, open(path)?, "prompt/response pairs")
}

/// Trains a byte-level BPE tokenizer (GPT-2 style: byte-level pre-tokenizer and decoder, the
/// 256 byte symbols as initial alphabet, [`END_OF_TEXT`] as the one special token with id 0)
/// on `texts` and writes it to `out` as a `tokenizer.json`. `tokenizers` counts words in
/// parallel but merges deterministically, so the same texts give the same file.
pub fn train_bpe(texts: &[&str], vocab_size: usize, out: &Path) -> Result<Tokenizer, TrainError> {
    use tokenizers::models::bpe::{BPE, BpeTrainerBuilder};
    use tokenizers::pre_tokenizers::byte_level::ByteLevel;
    use tokenizers::{AddedToken, TokenizerBuilder};
    if vocab_size < 257 + 1 {
        return Err(TrainError::config(
            "vocab_size",
            format!("must exceed the 256 bytes and one special token, got {vocab_size}"),
        ));
    }
    let tok_err = |e: tokenizers::Error| TrainError::Tokenizer(e.to_string());
    let mut trainer = BpeTrainerBuilder::new()
        .vocab_size(vocab_size)
        .min_frequency(2)
        .show_progress(false)
        .special_tokens(vec![AddedToken::from(END_OF_TEXT, true)])
        .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
        .build();
    let mut tokenizer = TokenizerBuilder::<_, tokenizers::NormalizerWrapper, _, _, _>::new()
        .with_model(BPE::default())
        .with_normalizer(None)
        .with_pre_tokenizer(Some(ByteLevel::new(false, true, true)))
        .with_post_processor(Some(ByteLevel::new(false, true, true)))
        .with_decoder(Some(ByteLevel::default()))
        .build()
        .map_err(tok_err)?;
    tokenizer.train(&mut trainer, texts.iter()).map_err(tok_err)?;
    let tokenizer: tokenizers::Tokenizer = tokenizer.into();
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).map_err(|e| TrainError::io(dir, e))?;
    }
    tokenizer.save(out, true).map_err(tok_err)?;
    Ok(Tokenizer::from_file(out)?)
}

/// Tokenizes every document (no special tokens are added by byte-level BPE).
pub fn tokenize(tokenizer: &Tokenizer, docs: &[Document]) -> Result<Vec<Vec<u32>>, TrainError> {
    docs.iter().map(|d| Ok(tokenizer.encode(&d.text)?)).collect()
}

/// One training sample: tokens and, per token, whether it is a prediction target (its
/// log-likelihood given the tokens before it counts in the loss). `targets[0]` is ignored:
/// the first token has no prefix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample {
    /// Token ids.
    pub tokens: Vec<u32>,
    /// Which tokens are predicted in the loss.
    pub targets: Vec<bool>,
}

impl Sample {
    /// A plain language-modelling sample: every token after the first is a target.
    pub fn text(tokens: Vec<u32>) -> Self {
        let targets = (0..tokens.len()).map(|i| i > 0).collect();
        Sample { tokens, targets }
    }

    /// A prompt/response sample: only the response tokens are targets (response-only loss,
    /// as in the 100-samples paper's SFT), truncated to `max_len` tokens.
    pub fn chat(prompt: &[u32], response: &[u32], max_len: usize) -> Self {
        let mut tokens: Vec<u32> = prompt.iter().chain(response).copied().collect();
        let mut targets: Vec<bool> = (0..tokens.len()).map(|i| i >= prompt.len() && i > 0).collect();
        tokens.truncate(max_len);
        targets.truncate(max_len);
        Sample { tokens, targets }
    }

    /// An induction (copying) sample: `segment` repeated until the sample holds `len` tokens,
    /// with only the repeats as targets. Its loss can fall only by copying from earlier in the
    /// context: the skill passkey retrieval needs, which a small model learns slowly from text
    /// alone (induction heads form on repeated sequences; Olsson et al. 2022, "In-context
    /// learning and induction heads").
    pub fn repeated(segment: &[u32], len: usize) -> Self {
        let tokens: Vec<u32> = segment.iter().copied().cycle().take(len).collect();
        let targets = (0..tokens.len()).map(|i| i >= segment.len()).collect();
        Sample { tokens, targets }
    }

    /// The number of target tokens.
    pub fn num_targets(&self) -> usize {
        self.targets.iter().skip(1).filter(|&&t| t).count()
    }
}

/// Packs documents into samples of exactly `len` tokens: each document followed by `separator`
/// (if any), concatenated in order, cut into consecutive windows; the incomplete tail is
/// dropped.
pub fn pack(docs: &[Vec<u32>], len: usize, separator: Option<u32>) -> Result<Vec<Sample>, TrainError> {
    if len < 2 {
        return Err(TrainError::config("seq_len", format!("must be at least 2, got {len}")));
    }
    let mut stream = Vec::new();
    for d in docs {
        stream.extend_from_slice(d);
        stream.extend(separator);
    }
    Ok(stream.chunks_exact(len).map(|c| Sample::text(c.to_vec())).collect())
}

/// The bounds of an induction segment length range, which must be non-empty, start at 1 or
/// more, and stay shorter than the sample (`len`) so that something repeats.
fn segment_bounds(segment: &RangeInclusive<usize>, len: usize) -> Result<(usize, usize), TrainError> {
    let (&lo, &hi) = (segment.start(), segment.end());
    if lo == 0 || lo > hi || hi >= len {
        return Err(TrainError::config("segment", format!("{lo}..={hi} must be non-empty and shorter than {len}")));
    }
    Ok((lo, hi))
}

/// `n` induction samples of `len` tokens (see [`Sample::repeated`]): corpus segments of a
/// seeded length in `segment` tokens, from seeded documents and offsets, each repeated.
pub fn repeated_segments(
    docs: &[Vec<u32>],
    n: usize,
    len: usize,
    segment: RangeInclusive<usize>,
    seed: u64,
) -> Result<Vec<Sample>, TrainError> {
    let (lo, hi) = segment_bounds(&segment, len)?;
    let usable: Vec<&Vec<u32>> = docs.iter().filter(|d| d.len() >= hi).collect();
    if usable.is_empty() {
        return Err(TrainError::Data(format!("no document holds a segment of {hi} tokens")));
    }
    let mut rng = StdRng::seed_from_u64(seed);
    Ok((0..n)
        .map(|_| {
            let doc = usable[rng.random_range(0..usable.len())];
            let k = rng.random_range(lo..=hi);
            let at = rng.random_range(0..=doc.len() - k);
            Sample::repeated(&doc[at..at + k], len)
        })
        .collect())
}

/// `n` induction samples of `len` tokens made of numbers: each segment is the tokenization of
/// seeded integers in `[1, max]`, each after a space (`" 4821 93 17703 …"`), cut to a seeded
/// length in `segment` tokens, repeated (see [`Sample::repeated`]). A small BPE model splits
/// numbers into near-identical digit tokens it rarely has to tell apart in text; copying digit
/// strings is what teaches it to, and passkey retrieval needs exactly that.
pub fn repeated_numbers(
    tokenizer: &Tokenizer,
    n: usize,
    len: usize,
    max: u32,
    segment: RangeInclusive<usize>,
    seed: u64,
) -> Result<Vec<Sample>, TrainError> {
    let (lo, hi) = segment_bounds(&segment, len)?;
    if max == 0 {
        return Err(TrainError::config("max", "must be at least 1, got 0"));
    }
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let k = rng.random_range(lo..=hi);
            let mut tokens = Vec::with_capacity(k + 8);
            while tokens.len() < k {
                tokens.extend(tokenizer.encode(&format!(" {}", rng.random_range(1..=max)))?);
            }
            Ok(Sample::repeated(&tokens[..k], len))
        })
        .collect()
}

/// The `n` samples chosen by `seed`: a seeded shuffle of the indices, the first `n` taken, in
/// the shuffled order. The same seed always gives the same samples.
pub fn select<T: Clone>(items: &[T], n: usize, seed: u64) -> Result<Vec<T>, TrainError> {
    if n == 0 {
        return Err(TrainError::config("samples", "must be at least 1, got 0"));
    }
    if items.len() < n {
        return Err(TrainError::Data(format!("{n} samples requested but the data gives only {}", items.len())));
    }
    let mut idx: Vec<usize> = (0..items.len()).collect();
    idx.shuffle(&mut StdRng::seed_from_u64(seed));
    Ok(idx[..n].iter().map(|&i| items[i].clone()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_cuts_consecutive_windows_and_drops_the_tail() {
        let docs = vec![vec![1, 2, 3], vec![4, 5]];
        let s = pack(&docs, 3, Some(0)).unwrap();
        assert_eq!(s.iter().map(|s| s.tokens.clone()).collect::<Vec<_>>(), vec![vec![1, 2, 3], vec![0, 4, 5]]);
        assert_eq!(s[0].targets, vec![false, true, true]);
        assert!(pack(&docs, 1, None).is_err());
    }

    #[test]
    fn chat_samples_train_on_the_response_only() {
        let s = Sample::chat(&[7, 8, 9], &[1, 2], 4);
        assert_eq!(s.tokens, vec![7, 8, 9, 1]);
        assert_eq!(s.targets, vec![false, false, false, true]);
        assert_eq!(s.num_targets(), 1);
    }

    #[test]
    fn induction_samples_repeat_a_segment_and_train_on_the_repeats() {
        let s = Sample::repeated(&[4, 5, 6], 8);
        assert_eq!(s.tokens, vec![4, 5, 6, 4, 5, 6, 4, 5]);
        assert_eq!(s.targets, vec![false, false, false, true, true, true, true, true]);
        let docs = vec![(0..100).collect::<Vec<u32>>(), vec![1, 2]];
        let all = repeated_segments(&docs, 20, 64, 8..=16, 3).unwrap();
        assert_eq!(all, repeated_segments(&docs, 20, 64, 8..=16, 3).unwrap());
        for s in &all {
            let k = s.targets.iter().position(|&t| t).unwrap();
            assert!((8..=16).contains(&k) && s.tokens.len() == 64);
            assert!(s.tokens.windows(2).take(k - 1).all(|w| w[1] == w[0] + 1), "a contiguous corpus segment");
            assert!((k..64).all(|i| s.tokens[i] == s.tokens[i - k]));
        }
        assert!(matches!(repeated_segments(&docs, 1, 64, 8..=64, 3), Err(TrainError::Config { .. })));
        assert!(matches!(repeated_segments(&docs, 1, 300, 200..=250, 3), Err(TrainError::Data(_))));
    }

    #[test]
    fn selection_is_deterministic_and_checked() {
        let items: Vec<u32> = (0..50).collect();
        let a = select(&items, 10, 7).unwrap();
        assert_eq!(a, select(&items, 10, 7).unwrap());
        assert_ne!(a, select(&items, 10, 8).unwrap());
        let mut sorted = a.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 10);
        assert!(matches!(select(&items, 51, 7), Err(TrainError::Data(_))));
        assert!(matches!(select(&items, 0, 7), Err(TrainError::Config { .. })));
    }
}
