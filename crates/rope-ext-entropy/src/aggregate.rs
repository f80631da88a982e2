//! Aggregation of row entropies per layer, per head, per query position and per position bucket,
//! with mean and spread (Welford's online algorithm, mergeable).

/// Running count, mean, spread and range of a set of values.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Stats {
    /// Number of values.
    pub count: u64,
    /// Their mean (0 when empty).
    pub mean: f64,
    /// Sum of squared deviations from the mean (Welford's `M2`).
    pub m2: f64,
    /// Smallest value (`+inf` when empty; `null` in JSON, which has no infinities).
    #[cfg_attr(feature = "serde", serde(with = "infinite_as_null::positive"))]
    pub min: f64,
    /// Largest value (`-inf` when empty; `null` in JSON).
    #[cfg_attr(feature = "serde", serde(with = "infinite_as_null::negative"))]
    pub max: f64,
}

/// The range ends of an empty [`Stats`] are infinite, which JSON cannot hold: they are written
/// as `null` and read back as the infinity of their side, so reports round-trip.
#[cfg(feature = "serde")]
mod infinite_as_null {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
        if x.is_finite() { s.serialize_some(x) } else { s.serialize_none() }
    }

    fn deserialize<'de, D: Deserializer<'de>>(d: D, empty: f64) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(empty))
    }

    /// `+inf` ↔ `null` (a minimum).
    pub(crate) mod positive {
        pub(crate) use super::serialize;

        pub(crate) fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
            super::deserialize(d, f64::INFINITY)
        }
    }

    /// `-inf` ↔ `null` (a maximum).
    pub(crate) mod negative {
        pub(crate) use super::serialize;

        pub(crate) fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
            super::deserialize(d, f64::NEG_INFINITY)
        }
    }
}

impl Stats {
    /// No values.
    pub fn new() -> Self {
        Stats { count: 0, mean: 0.0, m2: 0.0, min: f64::INFINITY, max: f64::NEG_INFINITY }
    }

    /// Adds one value.
    pub fn push(&mut self, x: f64) {
        self.count += 1;
        let d = x - self.mean;
        self.mean += d / self.count as f64;
        self.m2 += d * (x - self.mean);
        self.min = self.min.min(x);
        self.max = self.max.max(x);
    }

    /// Adds every value of `other` (Chan et al.'s parallel update).
    pub fn merge(&mut self, other: &Stats) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            *self = *other;
            return;
        }
        let n = (self.count + other.count) as f64;
        let d = other.mean - self.mean;
        self.mean += d * other.count as f64 / n;
        self.m2 += other.m2 + d * d * self.count as f64 * other.count as f64 / n;
        self.count += other.count;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// Population standard deviation (0 for fewer than two values).
    pub fn std(&self) -> f64 {
        if self.count < 2 { 0.0 } else { (self.m2 / self.count as f64).sqrt() }
    }
}

/// `floor(log2(m + 1))` for the 0-based position `m`: bucket `k` holds positions
/// `2^k − 1 ..= 2^(k+1) − 2`.
pub fn log2_bucket(position: usize) -> usize {
    (usize::BITS - 1 - (position + 1).leading_zeros()) as usize
}

/// The first and last position of log2 bucket `k`.
pub fn log2_bucket_bounds(k: usize) -> (usize, usize) {
    ((1usize << k) - 1, (1usize << (k + 1)) - 2)
}

/// The statistics of one layer.
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct LayerReport {
    /// The layer index.
    pub layer: usize,
    /// Over every head and query.
    pub overall: Stats,
    /// Per head, over its queries.
    pub heads: Vec<Stats>,
    /// Per 0-based query position, over heads (and over calls).
    pub positions: Vec<Stats>,
    /// Per log2 position bucket, over heads and positions.
    pub buckets: Vec<BucketReport>,
}

/// One log2 position bucket.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct BucketReport {
    /// First position of the bucket.
    pub first: usize,
    /// Last position of the bucket.
    pub last: usize,
    /// The entropies in it.
    pub stats: Stats,
}

/// Entropy statistics of a whole model.
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct EntropyReport {
    /// One report per layer, in layer order.
    pub layers: Vec<LayerReport>,
}

/// Collects row entropies as a model runs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EntropyCollector {
    layers: Vec<LayerReport>,
}

impl EntropyCollector {
    /// An empty collector; layers, heads and positions grow as they are recorded.
    pub fn new() -> Self {
        EntropyCollector::default()
    }

    /// Records the entropy `h` of the row of `layer`, `head`, query `position`.
    pub fn record(&mut self, layer: usize, head: usize, position: usize, h: f64) {
        let l = self.layer_mut(layer);
        l.overall.push(h);
        grow(&mut l.heads, head, Stats::new).push(h);
        grow(&mut l.positions, position, Stats::new).push(h);
        bucket_mut(l, log2_bucket(position)).stats.push(h);
    }

    /// Folds another collector's records into this one.
    pub fn merge(&mut self, other: &EntropyCollector) {
        for o in &other.layers {
            let l = self.layer_mut(o.layer);
            l.overall.merge(&o.overall);
            for (i, s) in o.heads.iter().enumerate() {
                grow(&mut l.heads, i, Stats::new).merge(s);
            }
            for (i, s) in o.positions.iter().enumerate() {
                grow(&mut l.positions, i, Stats::new).merge(s);
            }
            for (k, b) in o.buckets.iter().enumerate() {
                bucket_mut(l, k).stats.merge(&b.stats);
            }
        }
    }

    /// The report of `layer`, creating it (and any before it) if needed.
    fn layer_mut(&mut self, layer: usize) -> &mut LayerReport {
        let from = self.layers.len();
        if from <= layer {
            self.layers.extend((from..=layer).map(|layer| LayerReport {
                layer,
                overall: Stats::new(),
                ..LayerReport::default()
            }));
        }
        &mut self.layers[layer]
    }

    /// The statistics so far.
    pub fn report(&self) -> EntropyReport {
        EntropyReport { layers: self.layers.clone() }
    }
}

/// Log2 bucket `k` of a layer, created (with its bounds) if needed.
fn bucket_mut(layer: &mut LayerReport, k: usize) -> &mut BucketReport {
    let from = layer.buckets.len();
    if from <= k {
        layer.buckets.extend((from..=k).map(|i| {
            let (first, last) = log2_bucket_bounds(i);
            BucketReport { first, last, stats: Stats::new() }
        }));
    }
    &mut layer.buckets[k]
}

/// `v[i]`, growing `v` with `fill()` as needed.
fn grow<T>(v: &mut Vec<T>, i: usize, fill: impl Fn() -> T) -> &mut T {
    if v.len() <= i {
        v.resize_with(i + 1, fill);
    }
    &mut v[i]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_positions_without_gaps() {
        assert_eq!(log2_bucket(0), 0);
        assert_eq!((log2_bucket(1), log2_bucket(2)), (1, 1));
        assert_eq!((log2_bucket(3), log2_bucket(6), log2_bucket(7)), (2, 2, 3));
        for k in 0..20 {
            let (a, b) = log2_bucket_bounds(k);
            assert_eq!((log2_bucket(a), log2_bucket(b), log2_bucket(b + 1)), (k, k, k + 1));
        }
    }

    #[test]
    fn merged_stats_equal_pushed_stats() {
        let xs: Vec<f64> = (0..100).map(|i| f64::from(i).sin() * 3.0).collect();
        let mut all = Stats::new();
        xs.iter().for_each(|&x| all.push(x));
        let (mut a, mut b) = (Stats::new(), Stats::new());
        xs[..37].iter().for_each(|&x| a.push(x));
        xs[37..].iter().for_each(|&x| b.push(x));
        a.merge(&b);
        assert_eq!(a.count, all.count);
        approx::assert_relative_eq!(a.mean, all.mean, epsilon = 1e-12);
        approx::assert_relative_eq!(a.std(), all.std(), epsilon = 1e-12);
        assert_eq!((a.min, a.max), (all.min, all.max));
    }

    #[test]
    fn collector_merge_equals_recording_everything() {
        let mut all = EntropyCollector::new();
        let (mut a, mut b) = (EntropyCollector::new(), EntropyCollector::new());
        for (i, (layer, head, pos)) in [(0, 0, 0), (1, 2, 5), (0, 1, 9), (2, 0, 3), (1, 2, 5)].into_iter().enumerate() {
            let h = 0.5 + i as f64;
            all.record(layer, head, pos, h);
            if i % 2 == 0 { a.record(layer, head, pos, h) } else { b.record(layer, head, pos, h) }
        }
        a.merge(&b);
        let (x, y) = (a.report(), all.report());
        assert_eq!(x.layers.len(), y.layers.len());
        for (l, m) in x.layers.iter().zip(&y.layers) {
            assert_eq!(l.overall.count, m.overall.count);
            approx::assert_relative_eq!(l.overall.mean, m.overall.mean, epsilon = 1e-12);
            assert_eq!(l.buckets.len(), m.buckets.len());
        }
    }
}
