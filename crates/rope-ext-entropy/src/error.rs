//! The one error type of `rope-ext-entropy`.

/// What can be wrong with a row of logits or a request.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum EntropyError {
    /// The row has no entries.
    #[error("the row is empty")]
    EmptyRow,
    /// Every entry of the row is masked (or `-inf`).
    #[error("all {len} entries of the row are masked")]
    AllMasked {
        /// The row length.
        len: usize,
    },
    /// A logit is NaN or `+inf` (`-inf` means "masked" and is allowed).
    #[error("logit {index} is {value}, not a finite number")]
    NotFinite {
        /// Its index in the row (counted across chunks for streamed rows).
        index: usize,
        /// The value.
        value: f32,
    },
    /// Two inputs that must agree in size do not.
    #[error("`{what}` has {len} entries, expected {expected}")]
    ShapeMismatch {
        /// The argument.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The length required.
        expected: usize,
    },
    /// No logit scale brings the row to the target entropy.
    #[error("target entropy {target} nats is unreachable: scaling the logits gives entropies in ({min}, {max}]")]
    Unreachable {
        /// The requested entropy.
        target: f64,
        /// The infimum (`ln` of the number of maximal logits), approached as the scale grows.
        min: f64,
        /// The supremum (`ln` of the number of unmasked logits), approached as the scale shrinks.
        max: f64,
    },
    /// The target lies inside the reachable range, but so close to one end that it needs a
    /// scale outside the solver's bracket (or finer than f64 resolves).
    #[error(
        "target entropy {target} nats not reached within the solver's scale bracket: closest {closest} at scale {scale}"
    )]
    NotReached {
        /// The requested entropy.
        target: f64,
        /// The closest entropy found.
        closest: f64,
        /// The scale that gave it.
        scale: f64,
    },
}
