//! AdamW with PyTorch's semantics, clipping by the global gradient norm, and gradient
//! accumulation, over the parameters of a [`LlamaWeights`].
//!
//! burn ships an AdamW, but its defaults differ from PyTorch's (β₂ = 0.999, ε = 1e-5,
//! weight decay 1e-4), its clipping is per tensor, and its state is keyed by run-local
//! parameter ids. This one keys its state by parameter path, so it saves to and resumes from
//! a safetensors file exactly.
//!
//! PyTorch `torch.optim.AdamW` (2.9, `foreach=False` semantics), step `t ≥ 1`:
//! ```text
//! p ← p · (1 − lr·λ)                      (decoupled weight decay)
//! m ← β₁ m + (1 − β₁) g
//! v ← β₂ v + (1 − β₂) g²
//! p ← p − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
//! ```
//! `clip_grad_norm_(max_norm)`: `N = ‖(‖g_1‖₂, …, ‖g_k‖₂)‖₂`, every gradient multiplied by
//! `min(1, max_norm / (N + 1e-6))`.

use std::collections::BTreeMap;
use std::path::Path;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{Gradients, Tensor, TensorData};
use rope_ext_model::burn;
use rope_ext_model::host::to_host;
use rope_ext_model::model::LlamaWeights;
use serde::{Deserialize, Serialize};

use crate::error::TrainError;

/// `clip_grad_norm_`'s guard against division by zero.
const CLIP_EPS: f64 = 1e-6;

/// AdamW hyperparameters; the defaults are the 100-samples paper's (β = (0.9, 0.95), weight
/// decay 0.1) with PyTorch's ε = 1e-8.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdamWConfig {
    /// β₁.
    pub beta1: f64,
    /// β₂.
    pub beta2: f64,
    /// ε, added to `√v̂`.
    pub eps: f64,
    /// Decoupled weight decay λ.
    pub weight_decay: f64,
    /// Whether norm weights and biases decay too (PyTorch's AdamW on `model.parameters()`
    /// decays everything; HF `Trainer` exempts them, which is the default here).
    pub decay_norms_and_biases: bool,
    /// Clip the global gradient norm to this value (`None`: no clipping). HF `Trainer`'s
    /// default is 1.0.
    pub max_grad_norm: Option<f64>,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        AdamWConfig {
            beta1: 0.9,
            beta2: 0.95,
            eps: 1e-8,
            weight_decay: 0.1,
            decay_norms_and_biases: false,
            max_grad_norm: Some(1.0),
        }
    }
}

impl AdamWConfig {
    /// Rejects β outside `[0, 1)`, negative or non-finite ε, λ, or clipping norm.
    pub fn validate(&self, prefix: &str) -> Result<(), TrainError> {
        for (name, v) in [("beta1", self.beta1), ("beta2", self.beta2)] {
            if !(0.0..1.0).contains(&v) {
                return Err(TrainError::config(format!("{prefix}{name}"), format!("must be in [0, 1), got {v}")));
            }
        }
        for (name, v) in [("eps", self.eps), ("weight_decay", self.weight_decay)] {
            if !v.is_finite() || v < 0.0 {
                return Err(TrainError::config(format!("{prefix}{name}"), format!("must be finite and >= 0, got {v}")));
            }
        }
        if let Some(v) = self.max_grad_norm
            && !(v.is_finite() && v > 0.0)
        {
            return Err(TrainError::config(
                format!("{prefix}max_grad_norm"),
                format!("must be finite and > 0, got {v}"),
            ));
        }
        Ok(())
    }
}

/// Gradients summed over micro-batches, flattened, by parameter path, on the non-autodiff
/// device.
#[derive(Debug, Default)]
pub struct GradientBuffer {
    grads: BTreeMap<String, Tensor<1>>,
}

impl GradientBuffer {
    /// Adds the gradients of `weights`' parameters found in `grads`.
    pub fn accumulate(&mut self, weights: &LlamaWeights, grads: &Gradients) {
        let mut v = Collect { path: Vec::new(), grads, buffer: &mut self.grads };
        weights.visit(&mut v);
    }

    /// `N`, the 2-norm of the per-parameter 2-norms (f32 sums of squares, combined in f64).
    pub fn global_norm(&self) -> f64 {
        let sums: Vec<Tensor<1>> = self.grads.values().map(|g| g.clone().square().sum()).collect();
        if sums.is_empty() {
            return 0.0;
        }
        to_host(Tensor::cat(sums, 0)).iter().map(|&s| f64::from(s)).sum::<f64>().sqrt()
    }

    /// Whether no gradient has been accumulated.
    pub fn is_empty(&self) -> bool {
        self.grads.is_empty()
    }
}

struct Collect<'a> {
    path: Vec<String>,
    grads: &'a Gradients,
    buffer: &'a mut BTreeMap<String, Tensor<1>>,
}

impl ModuleVisitor for Collect<'_> {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = param.val().grad(self.grads) {
            let n = g.shape().num_elements();
            let g = g.reshape([n]);
            let key = self.path.join(".");
            let sum = match self.buffer.remove(&key) {
                Some(prev) => prev + g,
                None => g,
            };
            self.buffer.insert(key, sum);
        }
    }
}

/// `clip_grad_norm_`'s factor: `min(1, max / (N + 1e-6))` for a global norm `N`, 1 without a
/// maximum.
fn clip_factor(max_grad_norm: Option<f64>, norm: f64) -> f64 {
    match max_grad_norm {
        Some(max) => (max / (norm + CLIP_EPS)).min(1.0),
        None => 1.0,
    }
}

/// First and second moments of one parameter, flattened.
#[derive(Debug, Clone)]
struct Moments {
    m: Tensor<1>,
    v: Tensor<1>,
}

/// AdamW state: the step count and the moments by parameter path.
#[derive(Debug)]
pub struct AdamW {
    config: AdamWConfig,
    step: u64,
    moments: BTreeMap<String, Moments>,
}

/// What one optimizer step did.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StepReport {
    /// The global gradient norm before clipping.
    pub grad_norm: f64,
    /// The factor the gradients were multiplied by (1 when not clipped).
    pub clip_factor: f64,
}

impl AdamW {
    /// A fresh optimizer.
    pub fn new(config: AdamWConfig) -> Self {
        AdamW { config, step: 0, moments: BTreeMap::new() }
    }

    /// Optimizer steps taken.
    pub fn steps(&self) -> u64 {
        self.step
    }

    /// Clips the accumulated gradients by their global norm and applies one AdamW step with
    /// learning rate `lr` to `weights`; empties `grads`.
    pub fn step(&mut self, weights: LlamaWeights, grads: &mut GradientBuffer, lr: f64) -> (LlamaWeights, StepReport) {
        let norm = grads.global_norm();
        let clip_factor = clip_factor(self.config.max_grad_norm, norm);
        self.step += 1;
        let mut mapper = Update {
            path: Vec::new(),
            config: self.config,
            step: self.step,
            lr,
            clip: clip_factor,
            grads: std::mem::take(&mut grads.grads),
            moments: &mut self.moments,
        };
        let weights = weights.map(&mut mapper);
        (weights, StepReport { grad_norm: norm, clip_factor })
    }

    /// Writes the state: `moments.safetensors` (`m.<path>`, `v.<path>`) and `adamw.json`.
    pub fn save(&self, dir: &Path) -> Result<(), TrainError> {
        let mut tensors = Vec::with_capacity(2 * self.moments.len());
        for (path, mo) in &self.moments {
            let n = mo.m.shape().num_elements();
            tensors.push((format!("m.{path}"), vec![n], to_host(mo.m.clone())));
            tensors.push((format!("v.{path}"), vec![n], to_host(mo.v.clone())));
        }
        rope_ext_model::weights::write_tensors(&dir.join("moments.safetensors"), &tensors)?;
        let meta = AdamWMeta { step: self.step, config: self.config };
        crate::checkpoint::write_json(&dir.join("adamw.json"), &meta)
    }

    /// Reads the state written by [`AdamW::save`]; `config` must equal the saved one.
    pub fn load(dir: &Path, config: AdamWConfig, device: &burn::tensor::Device) -> Result<Self, TrainError> {
        let meta: AdamWMeta = crate::checkpoint::read_json(&dir.join("adamw.json"))?;
        if meta.config != config {
            return Err(TrainError::Checkpoint {
                path: dir.join("adamw.json"),
                problem: format!("saved with optimizer {:?}, resumed with {config:?}", meta.config),
            });
        }
        let path = dir.join("moments.safetensors");
        let bytes = std::fs::read(&path).map_err(|e| TrainError::io(&path, e))?;
        let st = safetensors::SafeTensors::deserialize(&bytes)
            .map_err(|e| TrainError::Checkpoint { path: path.clone(), problem: e.to_string() })?;
        let mut parts: BTreeMap<String, (Option<Tensor<1>>, Option<Tensor<1>>)> = BTreeMap::new();
        for (name, view) in st.tensors() {
            if view.dtype() != safetensors::Dtype::F32 {
                return Err(TrainError::Checkpoint { path, problem: format!("`{name}` is not F32") });
            }
            let data: Vec<f32> =
                view.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
            let n = data.len();
            let t = Tensor::from_data(TensorData::new(data, [n]), device);
            match name.split_once('.') {
                Some(("m", p)) => parts.entry(p.to_string()).or_default().0 = Some(t),
                Some(("v", p)) => parts.entry(p.to_string()).or_default().1 = Some(t),
                _ => return Err(TrainError::Checkpoint { path, problem: format!("unexpected tensor `{name}`") }),
            }
        }
        let mut moments = BTreeMap::new();
        for (p, pair) in parts {
            match pair {
                (Some(m), Some(v)) => {
                    moments.insert(p, Moments { m, v });
                }
                _ => return Err(TrainError::Checkpoint { path, problem: format!("`{p}` lacks m or v") }),
            }
        }
        Ok(AdamW { config, step: meta.step, moments })
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct AdamWMeta {
    step: u64,
    config: AdamWConfig,
}

/// The settings of one parameter's update.
struct Hyper {
    config: AdamWConfig,
    step: u64,
    lr: f64,
    clip: f64,
    decays: bool,
}

/// One AdamW step of a flattened parameter `p` with gradient `grad` (multiplied by the clip
/// factor first), PyTorch's order of operations: decay, moments, bias-corrected step.
fn adamw_update(p: Tensor<1>, grad: Tensor<1>, moments: Option<Moments>, h: &Hyper) -> (Tensor<1>, Moments) {
    let c = h.config;
    let g = if h.clip < 1.0 { grad.mul_scalar(h.clip) } else { grad };
    let (m, v) = match moments {
        Some(Moments { m, v }) => (
            m.mul_scalar(c.beta1) + g.clone().mul_scalar(1.0 - c.beta1),
            v.mul_scalar(c.beta2) + g.square().mul_scalar(1.0 - c.beta2),
        ),
        None => (g.clone().mul_scalar(1.0 - c.beta1), g.square().mul_scalar(1.0 - c.beta2)),
    };
    let mut p = p;
    if h.decays && c.weight_decay > 0.0 {
        p = p.mul_scalar(1.0 - h.lr * c.weight_decay);
    }
    let t = h.step as i32;
    let bc1 = 1.0 - c.beta1.powi(t);
    let bc2 = 1.0 - c.beta2.powi(t);
    let denom = v.clone().sqrt().div_scalar(bc2.sqrt()).add_scalar(c.eps);
    let p = p - m.clone().div(denom).mul_scalar(h.lr / bc1);
    (p, Moments { m, v })
}

struct Update<'a> {
    path: Vec<String>,
    config: AdamWConfig,
    step: u64,
    lr: f64,
    clip: f64,
    grads: BTreeMap<String, Tensor<1>>,
    moments: &'a mut BTreeMap<String, Moments>,
}

impl ModuleMapper for Update<'_> {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let key = self.path.join(".");
        let Some(grad) = self.grads.remove(&key) else {
            return param;
        };
        let (id, tensor, mapper) = param.consume();
        let shape = tensor.shape();
        let checkpointing = tensor.gradient_checkpointing_strategy();
        let require_grad = tensor.is_require_grad();
        let distributed = tensor.is_distributed();
        let n = shape.num_elements();
        let decays = self.config.decay_norms_and_biases || D >= 2;
        let (p, moments) = adamw_update(
            tensor.inner().reshape([n]),
            grad,
            self.moments.remove(&key),
            &Hyper { config: self.config, step: self.step, lr: self.lr, clip: self.clip, decays },
        );
        self.moments.insert(key, moments);
        let mut updated = Tensor::from_inner(p.reshape(shape));
        if let Some(strategy) = checkpointing {
            updated = updated.with_gradient_checkpointing_strategy(strategy);
        }
        if require_grad {
            updated = updated.require_grad();
        }
        if distributed {
            // burn's multi-device autodiff all-reduces the gradients of distributed parameters.
            updated = updated.set_distributed(id);
        }
        Param::from_mapped_value(id, updated, mapper)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `tests/goldens/adamw.json`, written by `tests/goldens/make_adamw.py` with torch 2.9.0:
    /// `torch.optim.AdamW` (β (0.9, 0.95), ε 1e-8, weight decay 0.1) and `clip_grad_norm_(1.0)`
    /// over three steps of two parameters with given gradients and learning rates.
    #[test]
    fn matches_torch_adamw_with_global_clipping() {
        let text = include_str!("../tests/goldens/adamw.json");
        let g: serde_json::Value = serde_json::from_str(text).unwrap();
        let device = rope_ext_model::BackendKind::for_tests().device().unwrap();
        let vec = |v: &serde_json::Value| -> Vec<f32> {
            v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()
        };
        let tensor = |x: Vec<f32>| {
            let n = x.len();
            Tensor::<1>::from_data(TensorData::new(x, [n]), &device)
        };
        let config = AdamWConfig { decay_norms_and_biases: true, ..AdamWConfig::default() };
        let names = ["a", "b"];
        let mut params: Vec<Tensor<1>> = names.iter().map(|k| tensor(vec(&g["initial"][k]))).collect();
        let mut moments: Vec<Option<Moments>> = vec![None, None];
        for (t, step) in g["steps"].as_array().unwrap().iter().enumerate() {
            let grads: Vec<Tensor<1>> = names.iter().map(|k| tensor(vec(&step["grads"][k]))).collect();
            // The trainer's own buffer and clipping rule, as `AdamW::step` uses them.
            let buffer =
                GradientBuffer { grads: names.iter().map(|k| k.to_string()).zip(grads.iter().cloned()).collect() };
            let norm = buffer.global_norm();
            assert!((norm - step["total_norm"].as_f64().unwrap()).abs() < 1e-5 * norm);
            let clip = clip_factor(config.max_grad_norm, norm);
            let lr = step["lr"].as_f64().unwrap();
            for i in 0..2 {
                let h = Hyper { config, step: t as u64 + 1, lr, clip, decays: true };
                let (p, m) = adamw_update(params[i].clone(), grads[i].clone(), moments[i].take(), &h);
                params[i] = p;
                moments[i] = Some(m);
                let want = vec(&step["after"][names[i]]);
                for (x, y) in to_host(params[i].clone()).iter().zip(&want) {
                    assert!((x - y).abs() <= 1e-6 + 1e-6 * y.abs(), "step {t} {}: {x} vs {y}", names[i]);
                }
            }
        }
    }
}
