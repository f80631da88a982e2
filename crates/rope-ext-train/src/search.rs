//! LongRoPE's evolutionary search of per-pair rescale factors (Ding et al., arXiv 2402.13753,
//! §3.2 Algorithm 1, §4.1; microsoft/LongRoPE `evolution/algorithms/dim_mono`).
//!
//! A candidate is a non-decreasing factor vector `λ_0 ≤ … ≤ λ_{d/2−1}` (the frequencies become
//! `θ_i / λ_i`) and the number `n̂` of leading positions left uninterpolated. Fitness is a
//! caller-supplied loss, in practice perplexity at the target length; lower is better.
//!
//! - Initial population: the PI, NTK-aware and YaRN solutions at scale `s` (taken from
//!   `rope-ext-core`'s own frequencies, `λ_i = θ_i / θ'_i`), plus `P − 3` mutations of them.
//! - Each iteration keeps the top `k` as parents, adds `N₁` mutations and `N₂` crossovers.
//! - Mutation (`dim_mono`): each pair with probability `p` is redrawn on the `list_step` grid
//!   between its neighbours (`[1, λ_1]` for the first pair, `[λ_{n−2}, upper]` for the last),
//!   and `n̂` with probability `p` from its list. Repeated until the vector is new.
//! - Crossover: each pair with probability `p` (and `n̂` with probability ½) takes the second
//!   parent's value; the first new monotone child is kept, after `max_crossover_tries` failures
//!   a mutation of the first parent is used instead.
//! - Upper bound of `λ`: the paper says `1.25·s`, the code `1 + s`
//!   ([`UpperBound::Paper`], the default, and [`UpperBound::Code`]).
//!
//! Candidates are cached by their grid values, so no vector is scored twice; every random
//! draw of iteration `t` comes from a generator seeded by `(seed, t)`, and the state is saved
//! after each iteration, so an interrupted search resumed from its state file ends exactly as
//! an uninterrupted one. Progressive extension (search, fine-tune, search again) seeds the next
//! search with [`SearchState::new_seeded`] from the previous best, rescaled with
//! `rope_ext_core::methods::longrope::rescale_factors`.

use std::collections::BTreeMap;
use std::path::Path;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rope_ext_core::hf::{HfForm, write_config};
use rope_ext_core::methods::linear::Linear;
use rope_ext_core::methods::longrope::{LongRope, check_monotonic};
use rope_ext_core::methods::ntk_aware::NtkAware;
use rope_ext_core::methods::yarn::Yarn;
use rope_ext_core::{RopeConfig, RopeScaling};
use serde::{Deserialize, Serialize};

use crate::checkpoint::{read_json, write_json};
use crate::error::TrainError;
use crate::train::mix;

/// The largest `λ` a mutation may draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpperBound {
    /// `1.25·s` (the paper).
    #[default]
    Paper,
    /// `1 + s` (the released code).
    Code,
}

/// Search settings; the defaults are the paper's (§7.3 of the spec).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SearchConfig {
    /// Population `P`.
    pub population: usize,
    /// Mutations per iteration `N₁`.
    pub mutations: usize,
    /// Crossovers per iteration `N₂`.
    pub crossovers: usize,
    /// Mutation probability `p`.
    pub mutation_prob: f64,
    /// Iterations `T`.
    pub iterations: usize,
    /// Parents kept per iteration (top-k).
    pub parents: usize,
    /// The grid step of `λ`.
    pub list_step: f64,
    /// Crossover attempts before falling back to mutation.
    pub max_crossover_tries: usize,
    /// The largest `λ`.
    pub upper_bound: UpperBound,
    /// The values `n̂` may take (clipped to the original window).
    pub start_tokens: Vec<usize>,
    /// The seed.
    pub seed: u64,
}

impl Default for SearchConfig {
    fn default() -> Self {
        SearchConfig {
            population: 64,
            mutations: 16,
            crossovers: 16,
            mutation_prob: 0.3,
            iterations: 40,
            parents: 32,
            list_step: 0.01,
            max_crossover_tries: 20,
            upper_bound: UpperBound::Paper,
            start_tokens: vec![0, 1, 2, 4, 8, 12, 16, 20, 24, 28, 32, 64, 128, 256],
            seed: 0,
        }
    }
}

impl SearchConfig {
    /// Rejects empty populations, more parents than members, probabilities outside `[0, 1]`,
    /// a non-positive grid step, and an empty `n̂` list.
    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |f: &str, p: String| Err(TrainError::config(format!("search.{f}"), p));
        if self.population < 4 {
            return bad(
                "population",
                format!("must be at least 4 (PI, NTK, YaRN and a mutation), got {}", self.population),
            );
        }
        if self.parents == 0 || self.parents > self.population {
            return bad("parents", format!("must be in 1..={}, got {}", self.population, self.parents));
        }
        if !(0.0..=1.0).contains(&self.mutation_prob) {
            return bad("mutation_prob", format!("must be in [0, 1], got {}", self.mutation_prob));
        }
        if !(self.list_step.is_finite() && self.list_step > 0.0) {
            return bad("list_step", format!("must be finite and > 0, got {}", self.list_step));
        }
        if self.start_tokens.is_empty() {
            return bad("start_tokens", "must list at least one value".into());
        }
        Ok(())
    }

    fn upper(&self, scale: f64) -> f64 {
        match self.upper_bound {
            UpperBound::Paper => 1.25 * scale,
            UpperBound::Code => 1.0 + scale,
        }
    }
}

/// One point of the search space.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// `λ_i`, non-decreasing, one per rotary pair.
    pub factors: Vec<f64>,
    /// `n̂`.
    pub start_tokens: usize,
}

/// A candidate and its fitness (a non-finite fitness, e.g. a perplexity that overflowed, is
/// stored as [`f64::MAX`]: the worst value, and one JSON can hold, so a saved search reloads).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scored {
    /// The candidate.
    pub candidate: Candidate,
    /// Its fitness (lower is better).
    pub fitness: f64,
}

/// Progress after each evaluation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SearchProgress {
    /// Iterations finished.
    pub iteration: usize,
    /// Candidates scored so far.
    pub evaluations: usize,
    /// The best fitness so far.
    pub best: f64,
}

/// The whole state of a search, serialisable for resumption.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchState {
    /// The settings.
    pub config: SearchConfig,
    /// The extension scale `s`.
    pub scale: f64,
    /// The original window `L`.
    pub original: usize,
    /// Iterations finished.
    pub iteration: usize,
    /// The current population, best first (empty before initialisation).
    pub population: Vec<Scored>,
    /// Every scored candidate: grid key → fitness.
    cache: BTreeMap<String, f64>,
    /// Seeds of the initial population.
    seeds: Vec<Candidate>,
}

/// The per-pair factors `θ_i / θ'_i` of `scaling` for a model with `head_dim`, `theta` and
/// original window `original`.
pub fn factors_of(scaling: RopeScaling, head_dim: usize, theta: f64, original: usize) -> Result<Vec<f64>, TrainError> {
    let rope = RopeConfig::new(head_dim, theta, original).with_scaling(scaling).build()?;
    let base = rope.context().default_inv_freq();
    let scaled = rope.frequencies(None).inv_freq;
    Ok(base.iter().zip(&scaled).map(|(b, s)| b / s).collect())
}

/// PI, NTK-aware and YaRN at scale `s` as factor vectors (the paper's initial solutions).
pub fn initial_solutions(
    head_dim: usize,
    theta: f64,
    original: usize,
    scale: f64,
) -> Result<Vec<Candidate>, TrainError> {
    let yarn = Yarn { factor: scale, original_max_position_embeddings: Some(original), ..Yarn::default() };
    [
        RopeScaling::Linear(Linear { factor: scale }),
        RopeScaling::NtkAware(NtkAware { factor: scale }),
        RopeScaling::Yarn(yarn),
    ]
    .into_iter()
    .map(|s| Ok(Candidate { factors: monotone(factors_of(s, head_dim, theta, original)?), start_tokens: 0 }))
    .collect()
}

/// Forces `λ_{i+1} ≥ λ_i` and `λ ≥ 1` (float noise in the derived solutions).
fn monotone(mut f: Vec<f64>) -> Vec<f64> {
    let mut prev = 1.0f64;
    for v in &mut f {
        *v = v.max(prev);
        prev = *v;
    }
    f
}

impl SearchState {
    /// A search from the PI, NTK and YaRN solutions for a model with `head_dim` and base
    /// `theta`, extending `original` by `scale`.
    pub fn new(
        config: SearchConfig,
        head_dim: usize,
        theta: f64,
        original: usize,
        scale: f64,
    ) -> Result<Self, TrainError> {
        let seeds = initial_solutions(head_dim, theta, original, scale)?;
        Self::new_seeded(config, seeds, original, scale)
    }

    /// A search seeded with given candidates (e.g. a previous search's best, rescaled).
    pub fn new_seeded(
        config: SearchConfig,
        seeds: Vec<Candidate>,
        original: usize,
        scale: f64,
    ) -> Result<Self, TrainError> {
        config.validate()?;
        if !(scale.is_finite() && scale > 1.0) {
            return Err(TrainError::config("search.scale", format!("must be finite and > 1, got {scale}")));
        }
        if seeds.is_empty() || seeds.iter().any(|c| c.factors.is_empty() || c.factors.len() != seeds[0].factors.len()) {
            return Err(TrainError::config("search.seeds", "need at least one, all of the same non-zero length"));
        }
        for c in &seeds {
            check_monotonic("long_factor", &c.factors)?;
        }
        Ok(SearchState { config, scale, original, iteration: 0, population: Vec::new(), cache: BTreeMap::new(), seeds })
    }

    /// Reads a state saved by [`SearchState::save`].
    pub fn load(path: &Path) -> Result<Self, TrainError> {
        read_json(path)
    }

    /// Writes the state atomically.
    pub fn save(&self, path: &Path) -> Result<(), TrainError> {
        write_json(path, self)
    }

    /// Candidates scored so far.
    pub fn evaluations(&self) -> usize {
        self.cache.len()
    }

    /// The best candidate so far.
    pub fn best(&self) -> Option<&Scored> {
        self.population.first()
    }

    fn key(&self, c: &Candidate) -> String {
        let steps: Vec<String> =
            c.factors.iter().map(|v| format!("{}", (v / self.config.list_step).round() as i64)).collect();
        format!("{}|{}", steps.join(","), c.start_tokens)
    }

    fn allowed_start_tokens(&self) -> Vec<usize> {
        let v: Vec<usize> = self.config.start_tokens.iter().copied().filter(|&n| n <= self.original).collect();
        if v.is_empty() { vec![0] } else { v }
    }

    /// Redraws genes of `parent`; `None` if no new monotone vector turned up.
    fn mutate(&self, parent: &Candidate, rng: &mut StdRng) -> Option<Candidate> {
        let step = self.config.list_step;
        let upper = self.config.upper(self.scale);
        let starts = self.allowed_start_tokens();
        for _ in 0..100 {
            let mut c = parent.clone();
            let n = c.factors.len();
            for i in 0..n {
                if rng.random::<f64>() >= self.config.mutation_prob {
                    continue;
                }
                let lo = if i == 0 { 1.0 } else { c.factors[i - 1] };
                let hi = if i + 1 == n { upper } else { c.factors[i + 1] };
                let (lo, hi) = (lo.min(hi), hi.max(lo));
                let slots = ((hi - lo) / step + 1e-9).floor() as u64;
                c.factors[i] = lo + step * rng.random_range(0..=slots) as f64;
            }
            if rng.random::<f64>() < self.config.mutation_prob {
                c.start_tokens = starts[rng.random_range(0..starts.len())];
            }
            if check_monotonic("long_factor", &c.factors).is_ok() && !self.cache.contains_key(&self.key(&c)) {
                return Some(c);
            }
        }
        None
    }

    fn crossover(&self, a: &Candidate, b: &Candidate, rng: &mut StdRng) -> Option<Candidate> {
        for _ in 0..self.config.max_crossover_tries {
            let mut c = a.clone();
            for (i, v) in c.factors.iter_mut().enumerate() {
                if rng.random::<f64>() < self.config.mutation_prob {
                    *v = b.factors[i];
                }
            }
            if rng.random::<f64>() < 0.5 {
                c.start_tokens = b.start_tokens;
            }
            if check_monotonic("long_factor", &c.factors).is_ok() && !self.cache.contains_key(&self.key(&c)) {
                return Some(c);
            }
        }
        self.mutate(a, rng)
    }

    fn score(
        &mut self,
        c: Candidate,
        fitness: &mut dyn FnMut(&Candidate) -> Result<f64, TrainError>,
        on_progress: &mut dyn FnMut(&SearchProgress),
        out: &mut Vec<Scored>,
    ) -> Result<(), TrainError> {
        let key = self.key(&c);
        let f = match self.cache.get(&key) {
            Some(&f) => f,
            None => {
                let f = fitness(&c)?;
                let f = if f.is_finite() { f } else { f64::MAX };
                self.cache.insert(key, f);
                f
            }
        };
        out.push(Scored { candidate: c, fitness: f });
        let best = out.iter().chain(&self.population).map(|s| s.fitness).fold(f64::INFINITY, f64::min);
        on_progress(&SearchProgress { iteration: self.iteration, evaluations: self.cache.len(), best });
        Ok(())
    }

    /// Runs the search to its last iteration, saving the state to `state_file` (if given)
    /// after initialisation and after every iteration. Returns the best candidate.
    pub fn run(
        &mut self,
        fitness: &mut dyn FnMut(&Candidate) -> Result<f64, TrainError>,
        state_file: Option<&Path>,
        on_progress: &mut dyn FnMut(&SearchProgress),
    ) -> Result<Scored, TrainError> {
        if self.population.is_empty() {
            let mut rng = StdRng::seed_from_u64(mix(self.config.seed, 10, 0));
            let mut members = Vec::new();
            for s in self.seeds.clone() {
                self.score(s, fitness, on_progress, &mut members)?;
            }
            let mut k = 0;
            while members.len() < self.config.population {
                let parent = self.seeds[k % self.seeds.len()].clone();
                k += 1;
                match self.mutate(&parent, &mut rng) {
                    Some(c) => self.score(c, fitness, on_progress, &mut members)?,
                    None if k > 100 * self.config.population => break,
                    None => {}
                }
            }
            sort(&mut members);
            self.population = members;
            if let Some(p) = state_file {
                self.save(p)?;
            }
        }
        while self.iteration < self.config.iterations {
            let mut rng = StdRng::seed_from_u64(mix(self.config.seed, 11, self.iteration as u64));
            let parents: Vec<Scored> = self.population.iter().take(self.config.parents).cloned().collect();
            let mut children = Vec::new();
            for _ in 0..self.config.mutations {
                let p = &parents[rng.random_range(0..parents.len())].candidate;
                if let Some(c) = self.mutate(p, &mut rng) {
                    self.score(c, fitness, on_progress, &mut children)?;
                }
            }
            for _ in 0..self.config.crossovers {
                let a = &parents[rng.random_range(0..parents.len())].candidate;
                let b = &parents[rng.random_range(0..parents.len())].candidate;
                if let Some(c) = self.crossover(a, b, &mut rng) {
                    self.score(c, fitness, on_progress, &mut children)?;
                }
            }
            let mut next = parents;
            next.extend(children);
            sort(&mut next);
            self.population = next;
            self.iteration += 1;
            tracing::info!(
                iteration = self.iteration,
                evaluations = self.cache.len(),
                best = self.population[0].fitness,
                "search iteration"
            );
            if let Some(p) = state_file {
                self.save(p)?;
            }
        }
        self.best().cloned().ok_or_else(|| TrainError::Data("the search has no candidates".into()))
    }

    /// The best candidate as `rope-ext-core`'s LongRoPE (see [`longrope_of`]).
    pub fn to_longrope(&self, best: &Candidate, short_factor: Option<Vec<f64>>) -> LongRope {
        longrope_of(best, self.scale, self.original, short_factor)
    }

    /// The HF config fragment (`rope_scaling` with `rope_type: longrope`, 4.x form) for a model
    /// with `head_dim` and base `theta`, extended to `original · s` positions; fields
    /// transformers cannot express (`n̂ > 0`) go to the `rope_ext` extension object.
    pub fn hf_fragment(&self, best: &Candidate, head_dim: usize, theta: f64) -> Result<serde_json::Value, TrainError> {
        let target = (self.original as f64 * self.scale).round() as usize;
        let rope = RopeConfig::new(head_dim, theta, target)
            .with_scaling(RopeScaling::LongRope(self.to_longrope(best, None)))
            .build()?;
        Ok(write_config(&rope, HfForm::V4))
    }
}

/// A candidate as `rope-ext-core`'s LongRoPE: long factors and `n̂` from the candidate, short
/// factors given (or all ones), scale `s` and original window `L`, monotonic checking on.
pub fn longrope_of(c: &Candidate, scale: f64, original: usize, short_factor: Option<Vec<f64>>) -> LongRope {
    LongRope {
        short_factor: short_factor.unwrap_or_else(|| vec![1.0; c.factors.len()]),
        long_factor: c.factors.clone(),
        factor: Some(scale),
        original_max_position_embeddings: Some(original),
        start_tokens: c.start_tokens,
        monotonic: true,
        ..LongRope::default()
    }
}

/// Best first; ties keep their order.
fn sort(v: &mut [Scored]) {
    v.sort_by(|a, b| a.fitness.total_cmp(&b.fitness));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> SearchConfig {
        SearchConfig {
            population: 16,
            mutations: 8,
            crossovers: 8,
            parents: 8,
            iterations: 15,
            ..SearchConfig::default()
        }
    }

    /// A known optimum: squared distance to a fixed monotone target, plus a preference for
    /// `n̂ = 8`.
    fn target() -> Vec<f64> {
        (0..16).map(|i| 1.0 + 3.0 * (i as f64 / 15.0).powi(2)).collect()
    }

    fn synthetic(c: &Candidate) -> Result<f64, TrainError> {
        let d: f64 = c.factors.iter().zip(target()).map(|(a, b)| (a - b).powi(2)).sum();
        Ok(d + if c.start_tokens == 8 { 0.0 } else { 0.05 })
    }

    #[test]
    fn never_emits_non_monotone_vectors_and_beats_its_start() {
        for seed in 0..3 {
            let mut s = SearchState::new(SearchConfig { seed, ..small() }, 32, 10_000.0, 256, 4.0).unwrap();
            let mut seen = Vec::new();
            let mut f = |c: &Candidate| {
                assert!(check_monotonic("x", &c.factors).is_ok(), "{c:?}");
                assert!(c.factors.iter().all(|&v| (1.0..=5.0 + 1e-9).contains(&v)), "{c:?}");
                seen.push(c.clone());
                synthetic(c)
            };
            let mut initial_best = f64::INFINITY;
            let best = s
                .run(&mut f, None, &mut |p| {
                    if p.iteration == 0 && p.evaluations <= 16 {
                        initial_best = initial_best.min(p.best);
                    }
                })
                .unwrap();
            assert!(best.fitness < initial_best * 0.5, "{} vs {initial_best}", best.fitness);
            let keys: std::collections::BTreeSet<String> = seen.iter().map(|c| s.key(c)).collect();
            assert_eq!(keys.len(), seen.len(), "a candidate was scored twice");
            assert!(s.population.iter().all(|m| check_monotonic("x", &m.candidate.factors).is_ok()));
        }
    }

    #[test]
    fn resumed_search_ends_as_an_uninterrupted_one() {
        let dir_guard = tempfile::tempdir().unwrap();
        let dir = dir_guard.path().to_path_buf();
        let file = dir.join("state.json");
        let mut whole = SearchState::new(small(), 32, 10_000.0, 256, 4.0).unwrap();
        let a = whole.run(&mut synthetic, None, &mut |_| {}).unwrap();
        let mut first = SearchState::new(SearchConfig { iterations: 6, ..small() }, 32, 10_000.0, 256, 4.0).unwrap();
        first.run(&mut synthetic, Some(&file), &mut |_| {}).unwrap();
        let mut resumed = SearchState::load(&file).unwrap();
        resumed.config.iterations = small().iterations;
        let b = resumed.run(&mut synthetic, Some(&file), &mut |_| {}).unwrap();
        assert_eq!(a, b);
        assert_eq!(whole.population, resumed.population);
    }

    /// A candidate whose fitness is not finite (a diverged perplexity) is saved and reloaded
    /// like any other: the search state stays valid JSON.
    #[test]
    fn a_search_with_non_finite_fitness_saves_and_reloads() {
        let dir_guard = tempfile::tempdir().unwrap();
        let dir = dir_guard.path().to_path_buf();
        let file = dir.join("state.json");
        let mut s = SearchState::new(SearchConfig { iterations: 2, ..small() }, 32, 10_000.0, 256, 4.0).unwrap();
        let mut calls = 0;
        let mut f = |c: &Candidate| {
            calls += 1;
            if calls % 3 == 0 {
                Ok(f64::NAN)
            } else if calls % 3 == 1 {
                Ok(f64::INFINITY)
            } else {
                synthetic(c)
            }
        };
        s.run(&mut f, Some(&file), &mut |_| {}).unwrap();
        let back = SearchState::load(&file).unwrap();
        assert_eq!(back.population, s.population);
        assert!(back.population.iter().all(|m| m.fitness.is_finite()));
    }

    #[test]
    fn initial_solutions_are_pi_ntk_and_yarn() {
        let init = initial_solutions(32, 10_000.0, 256, 4.0).unwrap();
        assert!(init[0].factors.iter().all(|&v| (v - 4.0).abs() < 1e-12));
        // NTK: λ_i = s^(2i/(d−2)), from 1 at the first pair to s at the last.
        assert!((init[1].factors[0] - 1.0).abs() < 1e-12 && (init[1].factors[15] - 4.0).abs() < 1e-9);
        assert!((init[1].factors[5] - 4f64.powf(10.0 / 30.0)).abs() < 1e-9);
        assert!((init[2].factors[0] - 1.0).abs() < 1e-12 && (init[2].factors[15] - 4.0).abs() < 1e-9);
    }

    /// Progressive extension: a ×4 result, rescaled to ×8, seeds the next search.
    #[test]
    fn a_previous_result_seeds_the_next_scale() {
        let mut first = SearchState::new(SearchConfig { iterations: 2, ..small() }, 32, 10_000.0, 256, 4.0).unwrap();
        let best = first.run(&mut synthetic, None, &mut |_| {}).unwrap().candidate;
        let rescaled = rope_ext_core::methods::longrope::rescale_factors(&best.factors, 4.0, 8.0).unwrap();
        let seed = Candidate { factors: rescaled.clone(), start_tokens: best.start_tokens };
        let mut second =
            SearchState::new_seeded(SearchConfig { iterations: 2, ..small() }, vec![seed], 256, 8.0).unwrap();
        let mut scored = Vec::new();
        second
            .run(
                &mut |c| {
                    scored.push(c.clone());
                    synthetic(c)
                },
                None,
                &mut |_| {},
            )
            .unwrap();
        assert_eq!(scored[0].factors, rescaled);
        assert!(scored.iter().all(|c| check_monotonic("x", &c.factors).is_ok()));
        assert!(scored.iter().any(|c| c.factors.iter().any(|&v| v > 5.0 + 1e-9)), "the ×8 bound is in use");
    }

    #[test]
    fn bad_settings_name_the_field() {
        for (cfg, field) in [
            (SearchConfig { population: 2, ..small() }, "search.population"),
            (SearchConfig { parents: 99, ..small() }, "search.parents"),
            (SearchConfig { mutation_prob: 1.5, ..small() }, "search.mutation_prob"),
            (SearchConfig { list_step: 0.0, ..small() }, "search.list_step"),
            (SearchConfig { start_tokens: vec![], ..small() }, "search.start_tokens"),
        ] {
            match SearchState::new(cfg, 32, 10_000.0, 256, 4.0) {
                Err(TrainError::Config { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
        assert!(matches!(SearchState::new(small(), 32, 10_000.0, 256, 1.0), Err(TrainError::Config { .. })));
    }

    #[test]
    fn the_hf_fragment_reads_back_as_the_same_longrope() {
        let mut s = SearchState::new(SearchConfig { iterations: 1, ..small() }, 32, 10_000.0, 256, 4.0).unwrap();
        let best = s.run(&mut synthetic, None, &mut |_| {}).unwrap().candidate;
        let frag = s.hf_fragment(&best, 32, 10_000.0).unwrap();
        let mut cfg = frag.as_object().unwrap().clone();
        cfg.insert("head_dim".into(), 32.into());
        cfg.insert("max_position_embeddings".into(), 1024.into());
        let rope = rope_ext_core::hf::read_config(&serde_json::Value::Object(cfg)).unwrap();
        match rope.scaling() {
            RopeScaling::LongRope(l) => {
                assert_eq!(l.long_factor, best.factors);
                assert_eq!(l.start_tokens, best.start_tokens);
            }
            other => panic!("{other:?}"),
        }
    }
}
