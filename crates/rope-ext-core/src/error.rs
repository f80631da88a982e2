//! The one error type of `rope-ext-core`.
//!
//! Every variant names the method, the field (as spelled in an HF `config.json`) and the value
//! that was rejected. transformers only warns about most of these; we refuse them.

/// What can be wrong with a RoPE specification or a config file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RopeError {
    /// A number is NaN or infinite.
    #[error("{method}: `{field}` must be a finite number, got {value}")]
    NotFinite {
        /// The `rope_type` (or `rope` for fields common to all types).
        method: &'static str,
        /// The config key.
        field: &'static str,
        /// The rejected value.
        value: f64,
    },
    /// A number lies outside its allowed range (a `factor` below 1, a non-positive base, ...).
    #[error("{method}: `{field}` must be {expected}, got {value}")]
    OutOfRange {
        /// The `rope_type` (or `rope` for fields common to all types).
        method: &'static str,
        /// The config key.
        field: &'static str,
        /// The rejected value.
        value: f64,
        /// The allowed range, in words (`">= 1"`, `"in (0, 1]"`).
        expected: &'static str,
    },
    /// Two fields that must be ordered are not (`beta_fast < beta_slow`, ...).
    #[error("{method}: `{high_field}` ({high}) must not be less than `{low_field}` ({low})")]
    Misordered {
        /// The `rope_type`.
        method: &'static str,
        /// The field that must be the larger.
        high_field: &'static str,
        /// Its value.
        high: f64,
        /// The field that must be the smaller.
        low_field: &'static str,
        /// Its value.
        low: f64,
    },
    /// A per-pair list has the wrong number of entries.
    #[error("{method}: `{field}` has {len} entries, expected {expected} (rotary_dim / 2)")]
    WrongLength {
        /// The `rope_type`.
        method: &'static str,
        /// The config key.
        field: &'static str,
        /// The length found.
        len: usize,
        /// The length required.
        expected: usize,
    },
    /// A per-pair list that must be non-decreasing decreases.
    #[error(
        "{method}: `{field}` must be non-decreasing, but entry {index} ({value}) is below entry {} ({previous})",
        index - 1
    )]
    NotMonotonic {
        /// The `rope_type`.
        method: &'static str,
        /// The config key.
        field: &'static str,
        /// The first index whose value is below its predecessor.
        index: usize,
        /// The value at `index`.
        value: f64,
        /// The value at `index - 1`.
        previous: f64,
    },
    /// The rotary dimension is odd or zero.
    #[error(
        "the rotary dimension must be even and positive, got {rotary_dim} (head_dim {head_dim} × partial_rotary_factor {partial_rotary_factor})"
    )]
    BadRotaryDim {
        /// `int(head_dim * partial_rotary_factor)`.
        rotary_dim: usize,
        /// The head dimension.
        head_dim: usize,
        /// The fraction of channels rotated.
        partial_rotary_factor: f64,
    },
    /// An integer field is zero or otherwise unusable.
    #[error("{method}: `{field}` must be {expected}, got {value}")]
    BadInteger {
        /// The `rope_type` (or `rope`/`config`).
        method: &'static str,
        /// The config key.
        field: &'static str,
        /// The rejected value.
        value: u64,
        /// The allowed range, in words.
        expected: &'static str,
    },
    /// A key that the `rope_type` requires is absent.
    #[error("`{rope_type}`: missing required key `{key}`")]
    MissingKey {
        /// The `rope_type` being read.
        rope_type: String,
        /// The absent key.
        key: &'static str,
    },
    /// A key that the `rope_type` does not accept is present.
    #[error("`{rope_type}`: unrecognised key `{key}`")]
    UnknownKey {
        /// The `rope_type` being read.
        rope_type: String,
        /// The unexpected key.
        key: String,
    },
    /// A method name that [`crate::extension::extension`] does not know.
    #[error("unknown method `{name}` (one of: {known})")]
    UnknownMethod {
        /// The name given.
        name: String,
        /// The names known.
        known: String,
    },
    /// The `rope_type` (or legacy `type`) names no known method.
    #[error("unknown rope_type `{rope_type}`")]
    UnknownRopeType {
        /// The name found.
        rope_type: String,
    },
    /// A value has the wrong JSON type.
    #[error("`{field}` must be {expected}, got {found}")]
    WrongType {
        /// The config key (`rope_scaling.factor`).
        field: String,
        /// The JSON type required.
        expected: &'static str,
        /// The JSON text found.
        found: String,
    },
    /// A method cannot be used with the given shape of inputs (e.g. a layer index out of range).
    #[error("{method}: `{field}` = {value} is not usable: {reason}")]
    Unsupported {
        /// The method.
        method: &'static str,
        /// The field or argument.
        field: &'static str,
        /// The rejected value, as text.
        value: String,
        /// Why.
        reason: &'static str,
    },
    /// A requested cos/sin table is too large to build.
    #[error("a cos/sin table of {rows} rows × {pairs} pairs exceeds the limit of 2^32 entries")]
    TableTooLarge {
        /// Rows requested.
        rows: u64,
        /// Entries per row.
        pairs: usize,
    },
    /// A JSON number literal that is not finite (`NaN`, `Infinity`), as Python's `json` writes.
    #[error("`{field}` is `{literal}`, not a finite number")]
    NonFiniteLiteral {
        /// The key the literal belongs to.
        field: String,
        /// The literal.
        literal: String,
    },
    /// The file is not valid JSON.
    #[cfg(feature = "serde")]
    #[error("config is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Checks that `value` is finite.
pub(crate) fn finite(method: &'static str, field: &'static str, value: f64) -> Result<f64, RopeError> {
    if value.is_finite() { Ok(value) } else { Err(RopeError::NotFinite { method, field, value }) }
}

/// Checks that `value` is finite and `>= min`.
pub(crate) fn at_least(
    method: &'static str,
    field: &'static str,
    value: f64,
    min: f64,
    expected: &'static str,
) -> Result<f64, RopeError> {
    finite(method, field, value)?;
    if value >= min { Ok(value) } else { Err(RopeError::OutOfRange { method, field, value, expected }) }
}

/// Checks that `value` is finite and `> 0`.
pub(crate) fn positive(method: &'static str, field: &'static str, value: f64) -> Result<f64, RopeError> {
    finite(method, field, value)?;
    if value > 0.0 { Ok(value) } else { Err(RopeError::OutOfRange { method, field, value, expected: "> 0" }) }
}

/// Checks that an integer is at least 1.
pub(crate) fn nonzero(method: &'static str, field: &'static str, value: usize) -> Result<usize, RopeError> {
    if value > 0 { Ok(value) } else { Err(RopeError::BadInteger { method, field, value: 0, expected: ">= 1" }) }
}
