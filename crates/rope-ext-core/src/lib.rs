//! # rope-ext-core
//!
//! The math of RoPE context-window extension: per-pair frequencies and attention factors for
//! every published method, cos/sin tables, the reference rotation, and HF `config.json` I/O.
//! No tensors, no IO, f64 throughout; tables are rounded to f32 once, at the end.
//!
//! ```
//! use rope_ext_core::{RopeConfig, RopeScaling, methods::yarn::Yarn};
//!
//! let rope = RopeConfig::new(128, 10_000.0, 4096)
//!     .with_scaling(RopeScaling::Yarn(Yarn::with_factor(16.0)))
//!     .build()?;
//! let f = rope.frequencies(None);
//! assert!((f.attention_factor - 1.277_258_872_22).abs() < 1e-9);
//! let table = rope.table([0.0, 1.0, 65_536.0], None);
//! assert_eq!(table.len(), 3);
//! # Ok::<(), rope_ext_core::RopeError>(())
//! ```
//!
//! The flow: `config.json` → [`hf::read_config`] → [`Rope`] → [`RopeFrequencies`]
//! (`inv_freq`, `attention_factor`) → [`CosSinTable`] → attention (in the model adapter).

#![deny(missing_docs)]

pub mod error;
pub mod extension;
pub mod frequencies;
#[cfg(feature = "serde")]
pub mod hf;
pub mod layout;
pub mod methods;
pub mod rope;
pub mod runtime;
pub mod scaling;
pub mod table;

pub use error::RopeError;
pub use frequencies::{RopeContext, RopeFrequencies};
pub use layout::{PairLayout, apply_rotary};
pub use rope::{DEFAULT_THETA, Rope, RopeConfig};
pub use runtime::RopeRuntime;
pub use scaling::{LengthPolicy, RopeScaling};
pub use table::CosSinTable;
