//! # rope-ext-entropy
//!
//! The entropy of attention, the quantity the 100-samples paper (arXiv 2401.07004) uses to
//! explain why context extension needs a logit scalar: each query's softmax row has entropy
//! `H = −Σ p ln p`, which grows with the number of keys unless something holds it.
//!
//! - [`row`]: one row from raw logits (log-sum-exp stable, causal and padding masks, f32 in, f64
//!   sums);
//! - [`streaming`]: the same row seen in chunks, equal to the one-shot value, for
//!   memory-efficient attention;
//! - [`aggregate`]: per layer, head, query position and log2 position bucket, with mean and
//!   spread, as serialisable reports;
//! - [`scalars`]: the logit multipliers that act on entropy (EABF, Qwen logN, YaRN, LongRoPE);
//! - [`temperature`]: the logit scale that brings a row to a target entropy.
//!
//! Statistics over plain slices: no tensors, no IO. The tensor side lives in the model adapter.
//!
//! ```
//! use rope_ext_entropy::row::{entropy, masked_entropy, RowMask};
//!
//! let h = entropy(&[0.0; 8])?;
//! assert!((h - 8f64.ln()).abs() < 1e-12);
//! let causal = masked_entropy(&[0.0, 0.0, 0.0, 5.0], RowMask::causal(2))?; // key 3 is in the future
//! assert!((causal - 3f64.ln()).abs() < 1e-12);
//! # Ok::<(), rope_ext_entropy::EntropyError>(())
//! ```

#![deny(missing_docs)]

pub mod aggregate;
pub mod error;
pub mod row;
pub mod scalars;
pub mod streaming;
pub mod temperature;

pub use aggregate::{EntropyCollector, EntropyReport, Stats};
pub use error::EntropyError;
pub use row::{RowMask, entropy, masked_entropy};
pub use streaming::StreamingEntropy;
pub use temperature::{LogitScale, solve_logit_scale};
