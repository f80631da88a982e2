//! The training loop: loss falls, accumulation and resumption are exact, bad settings are
//! typed errors.

mod common;

use common::{host_weights, pattern_samples, tiny_model, train_device};
use rope_ext_train::checkpoint::CheckpointDir;
use rope_ext_train::schedule::{Decay, Schedule};
use rope_ext_train::train::E2LlmTraining;
use rope_ext_train::{TrainConfig, TrainError, Trainer};

fn config() -> TrainConfig {
    TrainConfig {
        epochs: 3,
        batch_size: 8,
        micro_batch_size: 4,
        schedule: Schedule { lr: 1e-2, warmup_steps: 1, decay: Decay::Cosine },
        seed: 3,
        ..TrainConfig::default()
    }
}

#[test]
fn loss_falls_within_a_few_steps() {
    let mut t = Trainer::new(tiny_model(1), pattern_samples(16, 24), config()).unwrap();
    let m = t.run(None, None, None, &mut |_| {}).unwrap();
    assert_eq!(m.len(), 6);
    assert!(m.iter().all(|s| s.loss.is_finite() && s.grad_norm.is_finite()));
    let (first, last) = (m[0].loss, m.last().unwrap().loss);
    assert!(last < first - 0.3, "loss {first} -> {last}");
    assert!((first - 64f64.ln()).abs() < 0.5, "an untrained model is near uniform: {first}");
}

#[test]
fn e2llm_augmentation_trains_and_is_seeded() {
    let cfg = TrainConfig { e2llm: Some(E2LlmTraining { max_scale: 4, original: Some(16) }), ..config() };
    let run = || {
        let mut t = Trainer::new(tiny_model(1), pattern_samples(16, 16), cfg.clone()).unwrap();
        let m = t.run(Some(3), None, None, &mut |_| {}).unwrap();
        (m.iter().map(|s| s.loss).collect::<Vec<_>>(), host_weights(t.model()))
    };
    let (a, wa) = run();
    let (b, wb) = run();
    assert_eq!(a, b);
    assert_eq!(wa, wb);
    assert!(a[2] < a[0]);
}

/// Step 1's loss computed by hand from what the step feeds the model: positions `(m + t)/g`
/// with the sampler's integer `g ∈ 1..=g_max` and `t ∈ 0..=g·L − n` (sink tokens unshifted),
/// the unscaled frequencies, and the mean NLL over the batch's targets. A trainer that dropped
/// the augmentation would report the loss at positions `0..n`, which differs.
#[test]
fn an_e2llm_step_feeds_the_sampled_positions_and_reports_their_loss() {
    use rope_ext_core::methods::e2llm::SINK_TOKENS;
    use rope_ext_core::{RopeConfig, RopeScaling};
    use rope_ext_model::{ForwardOptions, Positions};
    let (max_scale, original, len) = (4u32, 16usize, 16usize);
    let cfg = TrainConfig { e2llm: Some(E2LlmTraining { max_scale, original: Some(original) }), ..config() };
    let samples = pattern_samples(16, len);
    let mut trainer = Trainer::new(tiny_model(1), samples.clone(), cfg).unwrap();
    let inputs = trainer.step_inputs(0).unwrap();
    let model = trainer.model().valid();
    let freqs = RopeConfig { scaling: RopeScaling::Default, ..model.config.rope.config().clone() }
        .build()
        .unwrap()
        .frequencies(None);
    let vocab = model.config.vocab_size;
    let targets: usize = inputs.micro_batches.iter().flatten().map(|&i| samples[i].num_targets()).sum();
    let (mut augmented, mut plain, mut scales) = (0.0f64, 0.0f64, Vec::new());
    for (micro, positions) in inputs.micro_batches.iter().zip(&inputs.positions) {
        let Some(Positions::PerSample(rows)) = positions else { panic!("E2-LLM steps carry positions") };
        assert_eq!(rows.len(), micro.len());
        for (&i, row) in micro.iter().zip(rows) {
            // Recover (g, t) from the row and check its shape.
            let g: f64 = 1.0 / (row[1] - row[0]);
            let t = row[len - 1] * g - (len - 1) as f64;
            assert!((g - g.round()).abs() < 1e-9 && (1.0..=f64::from(max_scale)).contains(&g.round()), "g = {g}");
            let (g, t) = (g.round(), t.round());
            assert!((0.0..=g * original as f64 - len as f64).contains(&t), "t = {t} for g = {g}");
            for (m, &p) in row.iter().enumerate() {
                let shift = if m < SINK_TOKENS { 0.0 } else { t };
                assert!((p - (m as f64 + shift) / g).abs() < 1e-9, "position {m}: {p}");
            }
            scales.push(g);
            let tokens = model.tokens(&[samples[i].tokens.clone()]).unwrap();
            let nll = |logits: Vec<f32>| -> f64 {
                (1..len)
                    .filter(|&m| samples[i].targets[m])
                    .map(|m| {
                        let row = &logits[(m - 1) * vocab..m * vocab];
                        let max = row.iter().fold(f32::MIN, |a, &b| a.max(b)) as f64;
                        let lse = max + row.iter().map(|&x| (x as f64 - max).exp()).sum::<f64>().ln();
                        lse - row[samples[i].tokens[m] as usize] as f64
                    })
                    .sum()
            };
            let at = Positions::PerSample(vec![row.clone()]);
            augmented += nll(rope_ext_model::host::to_host(model.forward_with(
                tokens.clone(),
                &at,
                &freqs,
                None,
                ForwardOptions::default(),
            )));
            plain += nll(rope_ext_model::host::to_host(model.forward(tokens, ForwardOptions::default())));
        }
    }
    assert!(scales.iter().any(|&g| g > 1.0), "some sample is interpolated: {scales:?}");
    let (augmented, plain) = (augmented / targets as f64, plain / targets as f64);
    let reported = trainer.train_step().unwrap().loss;
    assert!((reported - augmented).abs() < 1e-5 * augmented, "step loss {reported}, by hand {augmented}");
    assert!((reported - plain).abs() > 1e-3, "the augmentation must change the loss ({reported} vs {plain})");
}

#[test]
fn a_model_with_attention_dropout_is_refused() {
    let mut model = tiny_model(1);
    model.config.attention_dropout = 0.1;
    let Err(e) = Trainer::new(model, pattern_samples(4, 8), config()) else {
        panic!("a model with dropout must be refused")
    };
    assert!(e.to_string().contains("attention_dropout"), "{e}");
}

#[test]
fn micro_batches_do_not_change_the_result() {
    let run = |micro| {
        let cfg = TrainConfig { micro_batch_size: micro, ..config() };
        let mut t = Trainer::new(tiny_model(2), pattern_samples(16, 16), cfg).unwrap();
        t.run(Some(2), None, None, &mut |_| {}).unwrap();
        host_weights(t.model())
    };
    let (a, b) = (run(8), run(2));
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        let diff = x.iter().zip(y).map(|(p, q)| (p - q).abs()).fold(0.0f32, f32::max);
        assert!(diff < 1e-5, "{name}: {diff}");
    }
}

#[test]
fn resuming_gives_the_uninterrupted_weights() {
    let tmp = tempfile::tempdir().unwrap();
    let samples = pattern_samples(16, 16);
    let mut whole = Trainer::new(tiny_model(4), samples.clone(), config()).unwrap();
    let metrics_whole = whole.run(Some(4), None, None, &mut |_| {}).unwrap();

    let dir = CheckpointDir::new(tmp.path().join("ckpt"), 2);
    let log = tmp.path().join("metrics.jsonl");
    let mut first = Trainer::new(tiny_model(4), samples.clone(), config()).unwrap();
    first.run(Some(2), Some(&dir), Some(&log), &mut |_| {}).unwrap();
    // A third step that is "lost" with the process: logged, never checkpointed.
    first.run(Some(3), None, Some(&log), &mut |_| {}).unwrap();
    drop(first);
    let (step, path) = dir.latest().unwrap().unwrap();
    assert_eq!(step, 2);
    let mut resumed = Trainer::resume(&path, samples, config(), &train_device()).unwrap();
    assert_eq!(resumed.step(), 2);
    let metrics_rest = resumed.run(Some(4), Some(&dir), Some(&log), &mut |_| {}).unwrap();
    assert_eq!(host_weights(whole.model()), host_weights(resumed.model()), "weights differ bit for bit");
    assert_eq!(metrics_whole[2].loss, metrics_rest[0].loss);
    let logged: Vec<u64> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<rope_ext_train::StepMetrics>(l).unwrap().step)
        .collect();
    assert_eq!(logged, vec![1, 2, 3, 4]);
}

#[test]
fn resuming_with_other_settings_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = CheckpointDir::new(tmp.path().join("ckpt"), 1);
    let mut t = Trainer::new(tiny_model(5), pattern_samples(16, 16), config()).unwrap();
    t.run(Some(1), Some(&dir), None, &mut |_| {}).unwrap();
    let (_, path) = dir.latest().unwrap().unwrap();
    let other = TrainConfig { seed: 99, ..config() };
    let err = Trainer::resume(&path, pattern_samples(16, 16), other, &train_device()).unwrap_err();
    assert!(matches!(err, TrainError::Checkpoint { .. }), "{err}");
}

/// Without `checkpoint_every` a run checkpoints at the end of each epoch (so a kill loses at
/// most an epoch) and where it stops; with it, every that many steps; `checkpoint_minutes`
/// adds checkpoints by time (here after every step).
#[test]
fn runs_checkpoint_without_being_asked() {
    let written = |cfg: TrainConfig, until: u64| -> Vec<u64> {
        let tmp = tempfile::tempdir().unwrap();
        let dir = CheckpointDir::new(tmp.path().join("ckpt"), 100);
        // 16 samples in batches of 8: 2 steps per epoch, 6 in all.
        let mut t = Trainer::new(tiny_model(2), pattern_samples(16, 16), cfg).unwrap();
        t.run(Some(until), Some(&dir), None, &mut |_| {}).unwrap();
        let mut steps: Vec<u64> = std::fs::read_dir(dir.root())
            .unwrap()
            .filter_map(|e| e.unwrap().file_name().to_str()?.strip_prefix("step-")?.parse().ok())
            .collect();
        steps.sort();
        steps
    };
    assert_eq!(written(config(), 5), [2, 4, 5], "each epoch and at the end");
    assert_eq!(written(TrainConfig { checkpoint_every: Some(3), ..config() }, 6), [3, 6]);
    assert_eq!(written(TrainConfig { checkpoint_minutes: Some(1e-9), ..config() }, 3), [1, 2, 3]);
    let both = TrainConfig { checkpoint_every: Some(5), checkpoint_minutes: Some(1e-9), ..config() };
    assert_eq!(written(both, 2), [1, 2]);
}

#[test]
fn bad_settings_name_the_field() {
    let cases: Vec<(TrainConfig, &str)> = vec![
        (TrainConfig { batch_size: 0, ..config() }, "batch_size"),
        (TrainConfig { epochs: 0, ..config() }, "epochs"),
        (TrainConfig { schedule: Schedule { lr: f64::NAN, ..Schedule::default() }, ..config() }, "schedule.lr"),
        (
            TrainConfig {
                optimizer: rope_ext_train::optim::AdamWConfig { beta2: 1.0, ..Default::default() },
                ..config()
            },
            "optimizer.beta2",
        ),
        (TrainConfig { e2llm: Some(E2LlmTraining { max_scale: 0, original: None }), ..config() }, "e2llm.max_scale"),
        (TrainConfig { checkpoint_minutes: Some(0.0), ..config() }, "checkpoint_minutes"),
        (TrainConfig { checkpoint_minutes: Some(f64::INFINITY), ..config() }, "checkpoint_minutes"),
    ];
    for (cfg, field) in cases {
        match Trainer::new(tiny_model(1), pattern_samples(4, 8), cfg) {
            Err(TrainError::Config { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    let plain = rope_ext_model::Llama::init(common::tiny_config(), 1, &train_device().inner()).unwrap();
    assert!(matches!(Trainer::new(plain, pattern_samples(4, 8), config()), Err(TrainError::Config { .. })));
}
