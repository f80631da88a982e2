//! The evaluations that judge an extended model: sliding-window perplexity (spec §12.2) and
//! passkey retrieval (spec §12.1).

pub mod passkey;
pub mod perplexity;

pub use passkey::{PasskeyCell, PasskeyConfig};
pub use perplexity::{Perplexity, PerplexityConfig};
