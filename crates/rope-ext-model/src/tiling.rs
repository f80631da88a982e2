//! The tiling of one causal attention call: query blocks, key chunks, the position of the
//! queries among the keys, and the sliding window, with the visibility rules every attention
//! path shares (the recomputing attention's passes and the flex kernels).

use std::ops::Range;

/// Block sizes and placement of one causal attention call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tiling {
    /// Queries per block.
    pub query_block: usize,
    /// Keys per chunk.
    pub key_chunk: usize,
    /// Position of query 0 among the keys (`n_k − n_q` with cached keys).
    pub offset: usize,
    /// Sliding window `W`: keys more than `W − 1` positions behind a query are masked; `None`
    /// for plain causal attention.
    pub window: Option<usize>,
}

impl Tiling {
    /// The first key query row `i` sees: `offset + i + 1 − W` (0 without a window).
    pub fn first_key(&self, i: usize) -> usize {
        self.window.map_or(0, |w| (self.offset + i + 1).saturating_sub(w))
    }

    /// One past the last query row that sees key `j`: `j − offset + W` (all rows without a
    /// window), at most `n_q`.
    pub fn query_end(&self, j: usize, nq: usize) -> usize {
        self.window.map_or(nq, |w| j.saturating_add(w).saturating_sub(self.offset).min(nq))
    }

    /// Whether some query row in `rows` does not see some key in `keys`: a key in a row's
    /// future, or behind the last row's window.
    pub fn needs_mask(&self, rows: Range<usize>, keys: Range<usize>) -> bool {
        keys.end > self.offset + rows.start + 1 || keys.start < self.first_key(rows.end - 1)
    }
}
