//! A `kill -9` at any moment of a checkpoint write leaves the previous checkpoint loadable.
//!
//! The test re-runs its own binary as a child that trains a fixed number of steps and
//! checkpoints after each (`ROPE_EXT_KILL9_CHILD` set), kills it with SIGKILL after a random
//! delay, and checks that the newest `step-*` directory resumes; repeated at twenty seeded
//! random delays, each child resuming where the last was killed. The run is then continued
//! in-process from the last checkpoint for a few more steps and must end with the weights of
//! the same run never interrupted, stopped at the same step.

mod common;

use std::process::Command;

use std::time::Duration;

use common::{host_weights, pattern_samples, tiny_model, train_device};
use rope_ext_train::checkpoint::CheckpointDir;
use rope_ext_train::{TrainConfig, Trainer};

const CHILD: &str = "ROPE_EXT_KILL9_CHILD";

/// Kills, at seeded random delays.
const KILLS: usize = 20;
/// Epochs of 2 steps: far more than the kills let the children take, so every kill interrupts
/// the run (the learning-rate schedule spans them all, identically in both runs).
const EPOCHS: u32 = 5000;

fn config() -> TrainConfig {
    TrainConfig {
        epochs: EPOCHS,
        batch_size: 4,
        micro_batch_size: 4,
        checkpoint_every: Some(1),
        ..TrainConfig::default()
    }
}

/// Resumes from the newest checkpoint in `dir`, or starts afresh.
fn start(dir: &CheckpointDir) -> Trainer {
    match dir.latest().unwrap() {
        Some((_, p)) => Trainer::resume(&p, pattern_samples(8, 16), config(), &train_device()).unwrap(),
        None => Trainer::new(tiny_model(9), pattern_samples(8, 16), config()).unwrap(),
    }
}

/// In the child: train to the end, checkpointing every step, unless killed first.
fn child(root: &str) -> ! {
    let dir = CheckpointDir::new(root, 2);
    let mut t = start(&dir);
    while t.step() < t.total_steps() {
        t.run(Some(t.step() + 1), Some(&dir), None, &mut |_| {}).unwrap();
    }
    std::process::exit(0);
}

#[test]
fn checkpoints_survive_kill_9() {
    if let Ok(root) = std::env::var(CHILD) {
        child(&root);
    }
    let root_guard = tempfile::tempdir().unwrap();
    let root = root_guard.path().to_path_buf();
    let exe = std::env::current_exe().unwrap();
    let mut last_step = 0;
    // Kill times drawn at random (seeded: the same delays every run, though where in the
    // child's work each lands depends on the machine) over start-up,
    // training and writing, in milliseconds; each child resumes where the last one was killed.
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(9);
    let delays: Vec<u64> = (0..KILLS).map(|_| rand::RngExt::random_range(&mut rng, 600..2400)).collect();
    for delay in delays {
        let mut c = Command::new(&exe)
            .args(["--exact", "checkpoints_survive_kill_9", "--nocapture", "--test-threads", "1"])
            .env(CHILD, &root)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        c.kill().unwrap(); // SIGKILL on Unix
        c.wait().unwrap();
        let dir = CheckpointDir::new(&root, 2);
        if let Some((step, path)) = dir.latest().unwrap() {
            let t = Trainer::resume(&path, pattern_samples(8, 16), config(), &train_device())
                .unwrap_or_else(|e| panic!("checkpoint {} after kill at {delay} ms: {e}", path.display()));
            assert_eq!(t.step(), step);
            assert!(step >= last_step);
            last_step = step;
        }
    }
    assert!(last_step > 0, "the child never completed a checkpoint");
    let dir = CheckpointDir::new(&root, 2);
    let mut resumed = start(&dir);
    let end = resumed.step() + 3;
    assert!(end <= resumed.total_steps(), "the kills must interrupt the run, not follow its end");
    resumed.run(Some(end), Some(&dir), None, &mut |_| {}).unwrap();
    let mut uninterrupted = Trainer::new(tiny_model(9), pattern_samples(8, 16), config()).unwrap();
    uninterrupted.run(Some(end), None, None, &mut |_| {}).unwrap();
    assert_eq!((resumed.step(), uninterrupted.step()), (end, end));
    assert_eq!(host_weights(resumed.model()), host_weights(uninterrupted.model()), "interrupted run's weights");
}
