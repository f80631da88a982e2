//! The side-by-side comparison of the 100-samples paper (its Table 5 in miniature): extend a
//! base model's window with each method, training-free and fine-tuned on the same N samples
//! with the same budget, and evaluate every model at several lengths by perplexity and passkey
//! retrieval.
//!
//! Every model is evaluated on the same validation chunks (the first `max(lengths)` tokens of
//! consecutive stretches of the held-out split; each length scores the first `L` tokens of each
//! chunk, the YaRN paper's `--truncate` protocol) and the same passkey prompts.

use std::path::{Path, PathBuf};
use std::time::Instant;

use rope_ext_core::RopeScaling;
use rope_ext_model::burn::tensor::Device;
use rope_ext_model::{AttentionImpl, Llama, Tokenizer};
use serde::{Deserialize, Serialize};

use crate::data::{self, END_OF_TEXT, Sample};
use crate::error::TrainError;
use crate::eval::{PasskeyCell, PasskeyConfig, Perplexity, PerplexityConfig, passkey, perplexity};
use crate::report::{HeatMap, LinePlot, MISSING, Scale, Table, grid};
use crate::run::{apply_method, recipes};
use crate::search::{Candidate, SearchConfig, SearchState, longrope_of};
use crate::train::{E2LlmTraining, StepMetrics, TrainConfig, Trainer};

/// The fine-tuning peak learning rate at this scale. The paper's 2e-5 is about 1/15 of
/// LLaMA-2's pretraining peak (3e-4); the base model here was pretrained at 2e-3, and 8 steps
/// at 2e-5 barely move it, so the comparison uses 2e-4 (1/10 of its pretraining peak).
pub const DEFAULT_LR: f64 = 2e-4;

/// Settings of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CompareConfig {
    /// The base model: an HF directory (with `tokenizer.json`) or a llama.cpp `.gguf` file
    /// (its tokenizer from a `tokenizer.json` beside it or from its vocabulary).
    pub model: PathBuf,
    /// The training corpus (samples are drawn from it).
    pub train_corpus: PathBuf,
    /// The held-out corpus (perplexity).
    pub valid_corpus: PathBuf,
    /// The target window.
    pub target: usize,
    /// Evaluation lengths.
    pub lengths: Vec<usize>,
    /// Training samples (the paper: 100).
    pub samples: usize,
    /// The seed of the sample choice.
    pub data_seed: u64,
    /// Fine-tuning settings shared by every method.
    pub train: TrainConfig,
    /// E²-LLM's `g_max`.
    pub e2llm_max_scale: u32,
    /// Fine-tuned methods, by name (`pi`, `ntk`, `yarn`, `abf`, `eabf`, `e2llm`, `longrope`).
    pub fine_tuned: Vec<String>,
    /// Training-free methods (`pi`, `ntk`, `dynamic_ntk`, `yarn`, `longrope`).
    pub training_free: Vec<String>,
    /// Validation chunks for perplexity.
    pub perplexity_chunks: usize,
    /// The passkey grid (its `lengths` are replaced by [`CompareConfig::lengths`]).
    pub passkey: PasskeyConfig,
    /// LongRoPE's search.
    pub search: SearchConfig,
    /// Long samples the search scores candidates on (perplexity at the target length).
    pub search_samples: usize,
    /// Write each fine-tuned model here as an HF directory (`<export>/<method>/`, with the
    /// base's tokenizer), if set.
    pub export: Option<PathBuf>,
}

impl Default for CompareConfig {
    fn default() -> Self {
        CompareConfig {
            model: "data/base-model".into(),
            train_corpus: "data/corpus/train.jsonl.gz".into(),
            valid_corpus: "data/corpus/valid.jsonl.gz".into(),
            target: 1024,
            lengths: vec![256, 512, 1024, 2048],
            samples: 100,
            data_seed: 0,
            train: TrainConfig {
                schedule: crate::schedule::Schedule { lr: DEFAULT_LR, ..crate::schedule::Schedule::default() },
                ..recipes::hundred_samples()
            },
            e2llm_max_scale: 8,
            fine_tuned: ["pi", "ntk", "yarn", "abf", "eabf", "longrope", "e2llm"].map(String::from).to_vec(),
            training_free: ["pi", "ntk", "dynamic_ntk", "yarn", "longrope"].map(String::from).to_vec(),
            perplexity_chunks: 8,
            passkey: PasskeyConfig { lengths: vec![], depths: vec![0.2, 0.5, 0.8], trials: 2, seed: 7 },
            search: SearchConfig {
                population: 16,
                mutations: 8,
                crossovers: 8,
                parents: 8,
                iterations: 6,
                ..SearchConfig::default()
            },
            search_samples: 2,
            export: None,
        }
    }
}

/// How a model was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The base model, unchanged.
    Base,
    /// The method applied without training.
    TrainingFree,
    /// The method applied and fine-tuned on the samples.
    FineTuned,
}

/// The results of one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MethodResult {
    /// The method's name.
    pub method: String,
    /// How the model was obtained.
    pub kind: Kind,
    /// The RoPE settings evaluated.
    pub rope: RopeScaling,
    /// Perplexity per length.
    pub perplexity: Vec<Perplexity>,
    /// Passkey cells per length and depth.
    pub passkey: Vec<PasskeyCell>,
    /// Training loss of the first and last step (fine-tuned models).
    pub train_loss: Option<(f64, f64)>,
    /// Seconds spent on this model (search, training and evaluation).
    pub seconds: f64,
}

impl MethodResult {
    /// Passkey accuracy at `length`, over depths and trials.
    pub fn passkey_accuracy(&self, length: usize) -> Option<f64> {
        let cells: Vec<&PasskeyCell> = self.passkey.iter().filter(|c| c.length == length).collect();
        let trials: usize = cells.iter().map(|c| c.trials).sum();
        (trials > 0).then(|| cells.iter().map(|c| c.correct).sum::<usize>() as f64 / trials as f64)
    }

    /// Perplexity (per-window mean) at `length`.
    pub fn perplexity_at(&self, length: usize) -> Option<f64> {
        self.perplexity.iter().find(|p| p.len == length).map(|p| p.window_mean)
    }

    /// A row label: `pi (fine-tuned)`.
    pub fn label(&self) -> String {
        label(&self.method, self.kind)
    }
}

/// The label of a model: `base`, `pi (no training)`, `pi (fine-tuned)`.
fn label(method: &str, kind: Kind) -> String {
    match kind {
        Kind::Base => "base".into(),
        Kind::TrainingFree => format!("{method} (no training)"),
        Kind::FineTuned => format!("{method} (fine-tuned)"),
    }
}

/// All results of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The settings.
    pub config: CompareConfig,
    /// The base model's window.
    pub base_window: usize,
    /// One entry per model, in evaluation order.
    pub results: Vec<MethodResult>,
    /// Total seconds.
    pub seconds: f64,
}

/// What the comparison is doing, for progress displays.
#[derive(Debug)]
pub enum Event<'a> {
    /// A model's stage begins (`"pi (fine-tuned)"`, `"training"`).
    Stage(&'a str, &'a str),
    /// A training step finished.
    Step(&'a StepMetrics),
    /// A search iteration finished: evaluations so far and the best fitness.
    Search(usize, f64),
    /// An evaluation item finished: done, total.
    Eval(usize, usize),
    /// A model's results are complete.
    Done(&'a MethodResult),
}

/// Everything the comparison reuses across models.
struct Setup {
    tokenizer: Tokenizer,
    samples: Vec<Sample>,
    chunks: Vec<Vec<u32>>,
    original: usize,
    factor: f64,
    /// The LongRoPE search's result, shared by the training-free and fine-tuned runs.
    longrope: std::cell::OnceCell<(RopeScaling, Option<usize>)>,
}

/// Runs the comparison on `device` (the plain device; training uses its autodiff form).
pub fn run(
    cfg: &CompareConfig,
    device: &Device,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<Comparison, TrainError> {
    let started = Instant::now();
    let setup = prepare(cfg, device, on_event)?;
    let attention = AttentionImpl::default();
    let mut results = Vec::new();
    let run_one = |name: &str, kind: Kind, on_event: &mut dyn FnMut(Event<'_>)| -> Result<MethodResult, TrainError> {
        let t0 = Instant::now();
        let label = label(name, kind);
        let (model, train_loss) = build(cfg, &setup, name, kind, device, &label, on_event)?;
        on_event(Event::Stage(&label, "evaluating"));
        let (perplexity, passkey) = evaluate(cfg, &setup, &model, attention, &mut |d, t| on_event(Event::Eval(d, t)))?;
        let r = MethodResult {
            method: name.to_string(),
            kind,
            rope: model.config.rope.scaling().clone(),
            perplexity,
            passkey,
            train_loss,
            seconds: t0.elapsed().as_secs_f64(),
        };
        on_event(Event::Done(&r));
        Ok(r)
    };
    results.push(run_one("base", Kind::Base, on_event)?);
    for name in &cfg.training_free {
        results.push(run_one(name, Kind::TrainingFree, on_event)?);
    }
    for name in &cfg.fine_tuned {
        results.push(run_one(name, Kind::FineTuned, on_event)?);
    }
    Ok(Comparison {
        config: cfg.clone(),
        base_window: setup.original,
        results,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn prepare(cfg: &CompareConfig, device: &Device, on_event: &mut dyn FnMut(Event<'_>)) -> Result<Setup, TrainError> {
    if cfg.lengths.is_empty() {
        return Err(TrainError::config("lengths", "must name at least one length"));
    }
    on_event(Event::Stage("setup", &format!("loading {}", cfg.model.display())));
    let tokenizer = Tokenizer::for_model(&cfg.model)?;
    let base = Llama::load(&cfg.model, device)?;
    let original = base.config.rope.context().max_position_embeddings;
    if cfg.target <= original {
        return Err(TrainError::config(
            "target",
            format!("{} does not extend the base window of {original}", cfg.target),
        ));
    }
    let what =
        format!("tokenizing {} for {} samples of {} tokens", cfg.train_corpus.display(), cfg.samples, cfg.target);
    on_event(Event::Stage("setup", &what));
    let samples = crate::run::training_samples(
        &crate::run::DataConfig {
            corpus: cfg.train_corpus.clone(),
            format: crate::run::DataFormat::Text,
            samples: cfg.samples,
            seq_len: cfg.target,
            seed: cfg.data_seed,
        },
        &tokenizer,
    )?;
    let longest = cfg.lengths.iter().copied().max().unwrap_or(cfg.target);
    on_event(Event::Stage(
        "setup",
        &format!("tokenizing {} into chunks of {longest} tokens", cfg.valid_corpus.display()),
    ));
    let valid = data::tokenize(&tokenizer, &data::read_corpus(&cfg.valid_corpus)?)?;
    let eot = tokenizer.inner().token_to_id(END_OF_TEXT);
    let chunks: Vec<Vec<u32>> =
        data::pack(&valid, longest, eot)?.into_iter().take(cfg.perplexity_chunks).map(|s| s.tokens).collect();
    if chunks.len() < cfg.perplexity_chunks {
        return Err(TrainError::Data(format!(
            "the validation split gives {} chunks of {longest} tokens, {} requested",
            chunks.len(),
            cfg.perplexity_chunks
        )));
    }
    Ok(Setup {
        tokenizer,
        samples,
        chunks,
        original,
        factor: cfg.target as f64 / original as f64,
        longrope: std::cell::OnceCell::new(),
    })
}

/// The RoPE settings of a method at the comparison's scale, training-free or fine-tuned, of a method at the comparison's scale, from the core's registry
/// ([`rope_ext_core::extension`]).
fn method(name: &str, setup: &Setup) -> Result<(RopeScaling, Option<usize>), TrainError> {
    let e = rope_ext_core::extension::extension(name, setup.original, setup.factor)
        .map_err(|e| TrainError::config("method", e.to_string()))?;
    Ok((e.scaling, e.max_position_embeddings))
}

#[allow(clippy::too_many_arguments)]
fn build(
    cfg: &CompareConfig,
    setup: &Setup,
    name: &str,
    kind: Kind,
    device: &Device,
    label: &str,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<(Llama, Option<(f64, f64)>), TrainError> {
    // A model to fine-tune is loaded straight onto the autodiff device.
    let load_on = if kind == Kind::FineTuned { device.clone().autodiff() } else { device.clone() };
    let mut model = Llama::load(&cfg.model, &load_on)?;
    let (scaling, max_pos) = if name == "longrope" {
        on_event(Event::Stage(label, "searching"));
        match setup.longrope.get() {
            Some(found) => found.clone(),
            None => {
                let found = search_longrope(cfg, setup, &model.valid(), on_event)?;
                setup.longrope.get_or_init(|| found).clone()
            }
        }
    } else {
        method(name, setup)?
    };
    if kind == Kind::TrainingFree && matches!(scaling, RopeScaling::Abf(_) | RopeScaling::EntropyAwareAbf(_)) {
        return Err(TrainError::config("training_free", format!("`{name}` changes the base and needs fine-tuning")));
    }
    apply_method(&mut model, &scaling, max_pos)?;
    if kind != Kind::FineTuned {
        return Ok((model, None));
    }
    on_event(Event::Stage(label, "training"));
    let train = match scaling {
        RopeScaling::E2Llm(_) => TrainConfig {
            e2llm: Some(E2LlmTraining { max_scale: cfg.e2llm_max_scale, original: None }),
            ..cfg.train.clone()
        },
        _ => cfg.train.clone(),
    };
    let (train_cfg, samples) = crate::run::training_inputs(&scaling, &train, setup.samples.clone(), setup.original)?;
    let mut trainer = Trainer::new(model, samples, train_cfg)?;
    let metrics = trainer.run(None, None, None, &mut |m| on_event(Event::Step(m)))?;
    let loss = metrics.first().zip(metrics.last()).map(|(a, b)| (a.loss, b.loss));
    let model = trainer.into_model().valid();
    if let Some(root) = &cfg.export {
        crate::run::export(&model, Some(&setup.tokenizer), &root.join(name))?;
    }
    Ok((model, loss))
}

/// LongRoPE's search at the target length: fitness is the perplexity of the first
/// `search_samples` training samples (truncated to the target), as the paper scores
/// candidates on a few long validation samples.
fn search_longrope(
    cfg: &CompareConfig,
    setup: &Setup,
    model: &Llama,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<(RopeScaling, Option<usize>), TrainError> {
    let rope = model.config.rope.config().clone();
    let (scale, original, target) = (setup.factor, setup.original, cfg.target);
    let mut state = SearchState::new(cfg.search.clone(), rope.head_dim, rope.rope_theta, original, scale)?;
    let docs: Vec<Vec<u32>> = setup.samples.iter().take(cfg.search_samples.max(1)).map(|s| s.tokens.clone()).collect();
    let ppl_cfg = PerplexityConfig { len: target, stride: target, bos: None, truncate: true, max_windows: None };
    let mut fitness = |c: &Candidate| -> Result<f64, TrainError> {
        let mut m = Llama { config: model.config.clone(), weights: model.weights.clone() };
        apply_method(&mut m, &RopeScaling::LongRope(longrope_of(c, scale, original, None)), Some(target))?;
        Ok(perplexity::sliding_window(&m, &docs, &ppl_cfg, AttentionImpl::default())?.window_mean)
    };
    let best = state.run(&mut fitness, None, &mut |p| on_event(Event::Search(p.evaluations, p.best)))?;
    Ok((RopeScaling::LongRope(state.to_longrope(&best.candidate, None)), Some(target)))
}

fn evaluate(
    cfg: &CompareConfig,
    setup: &Setup,
    model: &Llama,
    attention: AttentionImpl,
    on_item: &mut dyn FnMut(usize, usize),
) -> Result<(Vec<Perplexity>, Vec<PasskeyCell>), TrainError> {
    let per_length = cfg.passkey.depths.len() * cfg.passkey.trials;
    let total = cfg.lengths.len() * (1 + per_length);
    let mut done = 0;
    let mut ppl = Vec::new();
    for &len in &cfg.lengths {
        let docs: Vec<Vec<u32>> = setup.chunks.iter().map(|c| c[..len].to_vec()).collect();
        let pc = PerplexityConfig { len, stride: len, bos: None, truncate: true, max_windows: None };
        ppl.push(perplexity::sliding_window(model, &docs, &pc, attention)?);
        done += 1;
        on_item(done, total);
    }
    let pk = PasskeyConfig { lengths: cfg.lengths.clone(), ..cfg.passkey.clone() };
    let cells = passkey::evaluate(model, &setup.tokenizer, &pk, attention, &mut |_, _| {
        done += 1;
        on_item(done, total);
    })?;
    Ok((ppl, cells))
}

/// Writes `results.json`, `results.md`, `perplexity.svg` and `passkey.svg` into `dir`.
pub fn write_results(c: &Comparison, dir: &Path) -> Result<(), TrainError> {
    std::fs::create_dir_all(dir).map_err(|e| TrainError::io(dir, e))?;
    crate::checkpoint::write_json(&dir.join("results.json"), c)?;
    let write = |name: &str, text: String| crate::checkpoint::write_text(&dir.join(name), &text);
    write("results.md", markdown(c))?;
    write("perplexity.svg", perplexity_plot(c))?;
    write("passkey.svg", passkey_plot(c))
}

/// The results as a markdown table: perplexity (per-window mean) and passkey accuracy per
/// length.
pub fn markdown(c: &Comparison) -> String {
    let lengths = &c.config.lengths;
    let header = std::iter::once("model".to_string())
        .chain(lengths.iter().map(|l| format!("ppl@{l}")))
        .chain(lengths.iter().map(|l| format!("passkey@{l}")));
    let mut t = Table::new(header);
    for r in &c.results {
        let row = std::iter::once(r.label())
            .chain(lengths.iter().map(|&l| r.perplexity_at(l).map_or(MISSING.into(), fmt_ppl)))
            .chain(
                lengths.iter().map(|&l| r.passkey_accuracy(l).map_or(MISSING.into(), |a| format!("{:.0}%", a * 100.0))),
            );
        t.push_row(row);
    }
    t.render()
}

/// Perplexity against length, one line per model, log-log, with the base and target windows
/// marked.
pub fn perplexity_plot(c: &Comparison) -> String {
    let original = c.base_window;
    let mut plot = LinePlot::new("Perplexity by evaluation length", "tokens", "perplexity (per-window mean)")
        .x_scale(Scale::Log2)
        .y_scale(Scale::Log10)
        .with_size(760.0, 460.0)
        .marker(original as f64, format!("trained window {original}"))
        .marker(c.config.target as f64, format!("target {}", c.config.target));
    for r in &c.results {
        plot = plot.series(r.label(), r.perplexity.iter().map(|p| (p.len as f64, p.window_mean)));
    }
    plot.svg()
}

/// Passkey accuracy heat maps (needle depth × length), one panel per model.
pub fn passkey_plot(c: &Comparison) -> String {
    let maps: Vec<HeatMap> =
        c.results
            .iter()
            .map(|r| {
                let mut h = HeatMap::new(r.label(), "tokens", "needle depth")
                    .columns(c.config.lengths.iter().map(usize::to_string))
                    .range(0.0, 1.0);
                for &d in &c.config.passkey.depths {
                    let row =
                        c.config.lengths.iter().map(|&l| {
                            r.passkey.iter().find(|p| p.length == l && p.depth == d).map(PasskeyCell::accuracy)
                        });
                    h = h.row(format!("{d}"), row);
                }
                h
            })
            .collect();
    grid("Passkey retrieval accuracy", &maps, 4)
}

fn fmt_ppl(p: f64) -> String {
    if !p.is_finite() {
        "inf".into()
    } else if p >= 1000.0 {
        format!("{p:.3e}")
    } else {
        format!("{p:.2}")
    }
}
