//! The evaluations that judge an extended model: sliding-window perplexity (spec §12.2) and
//! passkey retrieval (spec §12.1); and the attention-entropy probe behind the 100-samples
//! paper's Figure 1.

pub mod entropy_probe;
pub mod passkey;
pub mod perplexity;

pub use entropy_probe::{EntropyCurves, EntropyProbeConfig};
pub use passkey::{PasskeyCell, PasskeyConfig};
pub use perplexity::{Perplexity, PerplexityConfig};
