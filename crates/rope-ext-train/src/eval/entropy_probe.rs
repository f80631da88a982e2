//! Attention entropy against context length, per layer, under several RoPE methods: the
//! measurement behind the 100-samples paper's Figure 1 (entropy rises with length in layers 0–1
//! and stays flat in the others, which is why entropy-aware ABF leaves layers 0–1 unscaled).
//!
//! For each method and each length `n`, the model reads the first `n` tokens of a text (repeated
//! if shorter) with the method's RoPE scaling at factor `max(n / L, 1)` (`L` the model's
//! `max_position_embeddings`), and every layer's mean attention entropy over heads and query
//! positions is recorded. The verdict fits, per layer, the entropy change per doubling of the
//! length (least squares of `H` on `log2 n`) and says whether layers 0–1 rise by more than 0.05
//! nats per doubling and more than twice as fast as the rest on average.

use std::fmt::Write as _;
use std::path::Path;

use rope_ext_core::extension::extension;
use rope_ext_core::{RopeConfig, RopeScaling};
use rope_ext_model::{AttentionImpl, EntropyHook, ForwardOptions, Llama};
use serde::{Deserialize, Serialize};

use crate::checkpoint::write_json;
use crate::error::TrainError;
use crate::report::{LinePlot, Scale, Table, fmt_f64, grid};

/// The method name that keeps the model's own RoPE settings.
pub const CONFIGURED: &str = "config";

/// The methods probed unless asked otherwise.
pub const DEFAULT_METHODS: [&str; 6] = [CONFIGURED, "pi", "ntk", "yarn", "abf", "eabf"];

/// What to probe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EntropyProbeConfig {
    /// Context lengths; empty means `L, 2L, 4L, 8L`.
    pub lengths: Vec<usize>,
    /// [`CONFIGURED`] or names of the core's method registry (`pi`, `ntk`, `dynamic_ntk`,
    /// `yarn`, `abf`, `eabf`, `e2llm`, `base`).
    pub methods: Vec<String>,
}

impl EntropyProbeConfig {
    /// The lengths probed on a model of window `l`: the configured ones, or `l, 2l, 4l, 8l`.
    pub fn lengths_for(&self, l: usize) -> Vec<usize> {
        if self.lengths.is_empty() { vec![l, 2 * l, 4 * l, 8 * l] } else { self.lengths.clone() }
    }
}

impl Default for EntropyProbeConfig {
    fn default() -> Self {
        EntropyProbeConfig { lengths: Vec::new(), methods: DEFAULT_METHODS.map(String::from).to_vec() }
    }
}

/// One method's curves: `mean_entropy_per_layer[layer][j]` at `lengths[j]`, in nats.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MethodEntropy {
    /// The method's name.
    pub method: String,
    /// Mean attention entropy per layer and length.
    pub mean_entropy_per_layer: Vec<Vec<f64>>,
}

/// The probe's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntropyCurves {
    /// The model probed (as given).
    pub model: String,
    /// The context lengths.
    pub lengths: Vec<usize>,
    /// One entry per method, in the order asked.
    pub methods: Vec<MethodEntropy>,
}

/// Figure 1's test for one method.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure1Verdict {
    /// The method.
    pub method: String,
    /// Mean entropy change per doubling of the length in layers 0–1 (nats).
    pub early: f64,
    /// The same over layers 2 and up.
    pub late: f64,
    /// `early > 0.05` and `early > 2 |late|`.
    pub shows_pattern: bool,
}

/// The RoPE scaling of `method` for `n` tokens on a model of window `l`: the model's own
/// ([`CONFIGURED`]) or the registry's at factor `max(n / l, 1)`.
///
/// # Errors
/// [`TrainError::Rope`] for a name the registry does not know.
pub fn scaling(method: &str, configured: &RopeScaling, n: usize, l: usize) -> Result<RopeScaling, TrainError> {
    if method == CONFIGURED {
        return Ok(configured.clone());
    }
    Ok(extension(method, l, (n as f64 / l as f64).max(1.0))?.scaling)
}

/// Measures the curves of every method of `cfg` on `model` (its RoPE settings are restored
/// afterwards), reading `ids` repeated to each length. `on_measured(method, length)` is called
/// after each forward.
///
/// # Errors
/// An empty text, a method the registry does not know (checked before any forward), or a
/// scaling that does not build for a length.
pub fn measure(
    model: &mut Llama,
    model_name: &str,
    ids: &[u32],
    cfg: &EntropyProbeConfig,
    on_measured: &mut dyn FnMut(&str, usize),
) -> Result<EntropyCurves, TrainError> {
    if ids.is_empty() {
        return Err(TrainError::Data("the probe's text has no tokens".into()));
    }
    let base = model.config.rope.config().clone();
    let l = base.max_position_embeddings;
    let lengths = cfg.lengths_for(l);
    if let Some(&n) = lengths.iter().find(|&&n| n < 2) {
        return Err(TrainError::config("lengths", format!("every length must be at least 2, got {n}")));
    }
    for method in &cfg.methods {
        scaling(method, &base.scaling, l, l)?;
    }
    let original = model.config.rope.clone();
    let measured = measure_all(model, ids, &base, &lengths, &cfg.methods, on_measured);
    model.config.rope = original;
    Ok(EntropyCurves { model: model_name.to_string(), lengths, methods: measured? })
}

fn measure_all(
    model: &mut Llama,
    ids: &[u32],
    base: &RopeConfig,
    lengths: &[usize],
    methods: &[String],
    on_measured: &mut dyn FnMut(&str, usize),
) -> Result<Vec<MethodEntropy>, TrainError> {
    let l = base.max_position_embeddings;
    let mut out = Vec::with_capacity(methods.len());
    for method in methods {
        let mut means = vec![vec![0.0f64; lengths.len()]; model.config.num_hidden_layers];
        for (j, &n) in lengths.iter().enumerate() {
            let rope = RopeConfig { scaling: scaling(method, &base.scaling, n, l)?, ..base.clone() };
            model.config.rope = rope.build()?;
            for (layer, mean) in layer_means(model, ids, n)?.into_iter().enumerate() {
                means[layer][j] = mean;
            }
            on_measured(method, n);
        }
        out.push(MethodEntropy { method: method.clone(), mean_entropy_per_layer: means });
    }
    Ok(out)
}

/// Each layer's mean attention entropy on the first `n` tokens of `ids` repeated.
fn layer_means(model: &Llama, ids: &[u32], n: usize) -> Result<Vec<f64>, TrainError> {
    let input: Vec<u32> = ids.iter().copied().cycle().take(n).collect();
    let mut hook = EntropyHook::default();
    let tokens = model.tokens(&[input])?;
    // the entropies are gathered inside attention; the output head is not needed
    drop(model.hidden(tokens, ForwardOptions { attention: AttentionImpl::CHUNKED, entropy: Some(&mut hook) }));
    Ok(hook.collector.report().layers.iter().map(|r| r.overall.mean).collect())
}

/// Entropy change per doubling of the length: the least-squares slope of `row` on `log2 n`.
fn slope_per_doubling(lengths: &[usize], row: &[f64]) -> f64 {
    let xs: Vec<f64> = lengths.iter().map(|&n| (n as f64).log2()).collect();
    let (mx, my) = (xs.iter().sum::<f64>() / xs.len() as f64, row.iter().sum::<f64>() / row.len() as f64);
    let num: f64 = xs.iter().zip(row).map(|(x, y)| (x - mx) * (y - my)).sum();
    let den: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
    if den > 0.0 { num / den } else { 0.0 }
}

impl EntropyCurves {
    /// Figure 1's test per method; empty with fewer than 3 layers or 2 lengths.
    pub fn verdicts(&self) -> Vec<Figure1Verdict> {
        let mean_slope = |rows: &[Vec<f64>]| {
            rows.iter().map(|r| slope_per_doubling(&self.lengths, r)).sum::<f64>() / rows.len() as f64
        };
        self.methods
            .iter()
            .filter(|m| m.mean_entropy_per_layer.len() >= 3 && self.lengths.len() >= 2)
            .map(|m| {
                let (early, late) =
                    (mean_slope(&m.mean_entropy_per_layer[..2]), mean_slope(&m.mean_entropy_per_layer[2..]));
                let shows_pattern = early > 0.05 && early > 2.0 * late.abs();
                Figure1Verdict { method: m.method.clone(), early, late, shows_pattern }
            })
            .collect()
    }

    /// The verdicts as sentences, one per method.
    pub fn verdict_text(&self) -> String {
        let verdicts = self.verdicts();
        if verdicts.is_empty() {
            return "fewer than 3 layers or 2 lengths: the Figure 1 comparison (layers 0-1 vs the rest) does not apply\n"
                .into();
        }
        let mut s = String::new();
        for v in verdicts {
            let appears = if v.shows_pattern { "appears" } else { "does not appear" };
            let _ = writeln!(
                s,
                "{}: layers 0-1 change by {:+.3} nats per doubling, layers 2+ by {:+.3}: the Figure 1 pattern {appears}",
                v.method, v.early, v.late
            );
        }
        s
    }

    /// A markdown table: one row per method and layer, one column per length.
    pub fn markdown(&self) -> String {
        let header =
            ["method".to_string(), "layer".to_string()].into_iter().chain(self.lengths.iter().map(usize::to_string));
        let mut t = Table::new(header);
        for m in &self.methods {
            for (layer, row) in m.mean_entropy_per_layer.iter().enumerate() {
                t.push_row([m.method.clone(), layer.to_string()].into_iter().chain(row.iter().map(|h| fmt_f64(*h, 3))));
            }
        }
        t.render()
    }

    /// One panel per method, one line per layer, a shared entropy axis with 5% room above and
    /// below the data (SVG).
    pub fn svg(&self) -> String {
        let all = self.methods.iter().flat_map(|m| m.mean_entropy_per_layer.iter().flatten().copied());
        let (lo, hi) =
            all.filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
        let plots: Vec<LinePlot> = self
            .methods
            .iter()
            .map(|m| {
                let mut p = LinePlot::new(m.method.as_str(), "tokens", "mean entropy (nats)")
                    .x_scale(Scale::Log2)
                    .with_size(340.0, 280.0);
                if hi > lo {
                    let room = 0.05 * (hi - lo);
                    p = p.y_range(lo - room, hi + room);
                }
                for (layer, row) in m.mean_entropy_per_layer.iter().enumerate() {
                    let points = self.lengths.iter().zip(row).map(|(&n, &h)| (n as f64, h));
                    p = p.series(format!("layer {layer}"), points);
                }
                p
            })
            .collect();
        grid("Mean attention entropy against context length", &plots, 3)
    }

    /// Writes `entropy.json`, `entropy.md` (table and verdicts) and `entropy.svg` into `dir`.
    ///
    /// # Errors
    /// The I/O error of creating `dir` or writing a file.
    pub fn write(&self, dir: &Path) -> Result<(), TrainError> {
        std::fs::create_dir_all(dir).map_err(|e| TrainError::io(dir, e))?;
        write_json(&dir.join("entropy.json"), self)?;
        crate::checkpoint::write_text(
            &dir.join("entropy.md"),
            &format!("{}\n{}", self.markdown(), self.verdict_text()),
        )?;
        crate::checkpoint::write_text(&dir.join("entropy.svg"), &self.svg())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curves(rows: Vec<Vec<f64>>) -> EntropyCurves {
        EntropyCurves {
            model: "m".into(),
            lengths: vec![64, 128, 256, 512],
            methods: vec![MethodEntropy { method: "pi".into(), mean_entropy_per_layer: rows }],
        }
    }

    #[test]
    fn slope_is_the_change_per_doubling() {
        let slope = slope_per_doubling(&[64, 128, 256, 512], &[1.0, 1.5, 2.0, 2.5]);
        assert!((slope - 0.5).abs() < 1e-12);
        assert_eq!(slope_per_doubling(&[64], &[1.0]), 0.0);
    }

    #[test]
    fn verdict_finds_the_figure_1_pattern_only_when_early_layers_rise_faster() {
        let rising = vec![0.0, 0.3, 0.6, 0.9];
        let flat = vec![2.0, 2.01, 2.0, 2.02];
        let shows = curves(vec![rising.clone(), rising.clone(), flat.clone(), flat.clone()]);
        let v = &shows.verdicts()[0];
        assert!(v.shows_pattern && (v.early - 0.3).abs() < 1e-12, "{v:?}");
        assert!(shows.verdict_text().contains("the Figure 1 pattern appears"));
        let everywhere = curves(vec![rising.clone(), rising.clone(), rising.clone()]);
        assert!(!everywhere.verdicts()[0].shows_pattern);
        assert!(curves(vec![rising.clone(), rising]).verdicts().is_empty());
        assert!(curves(vec![flat.clone(), flat.clone(), flat]).verdict_text().contains("does not appear"));
    }

    #[test]
    fn unknown_methods_are_named() {
        let err = scaling("warp", &RopeScaling::Default, 512, 256).unwrap_err().to_string();
        assert!(err.contains("warp"), "{err}");
        assert_eq!(scaling(CONFIGURED, &RopeScaling::Default, 512, 256).unwrap(), RopeScaling::Default);
    }
}
