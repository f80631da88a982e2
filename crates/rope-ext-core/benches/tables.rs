//! cos/sin tables for 131,072 positions × 64 pairs (head_dim 128): `Rope::table` (f64 angles,
//! rounded once to f32) and `Rope::table_range` (the same values by angle addition) beside a naive f32 loop (angle and cos/sin in
//! f32, what HF and most ports do) in the same run. The naive loop's worst error against an
//! f64 reference is printed first, so the speed can be read next to what it costs.
//!
//! ```text
//! cargo bench -p rope-ext-core --bench tables
//! ```

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use rope_ext_core::methods::yarn::Yarn;
use rope_ext_core::{RopeConfig, RopeScaling};

const POSITIONS: u32 = 131_072;

fn naive_f32(inv_freq: &[f32], attention_factor: f32) -> (Vec<f32>, Vec<f32>) {
    let n = POSITIONS as usize * inv_freq.len();
    let (mut cos, mut sin) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for m in 0..POSITIONS {
        for &theta in inv_freq {
            let angle = m as f32 * theta;
            cos.push(angle.cos() * attention_factor);
            sin.push(angle.sin() * attention_factor);
        }
    }
    (cos, sin)
}

fn tables(c: &mut Criterion) {
    let rope = RopeConfig::new(128, 10_000.0, 4096)
        .with_scaling(RopeScaling::Yarn(Yarn::with_factor(32.0)))
        .build()
        .expect("valid config");
    let freqs = rope.frequencies(None);
    let inv_f32 = freqs.inv_freq_f32();
    let af = freqs.attention_factor as f32;

    let ours = rope.table((0..POSITIONS).map(f64::from), None);
    let fast = rope.table_range(0..u64::from(POSITIONS), None).expect("small enough");
    let (naive_cos, _) = naive_f32(&inv_f32, af);
    let max_err = |cos: &[f32]| {
        cos.iter()
            .enumerate()
            .map(|(k, &c)| {
                let (m, i) = (k / 64, k % 64);
                let exact = (m as f64 * freqs.inv_freq[i]).cos() * freqs.attention_factor;
                (f64::from(c) - exact).abs()
            })
            .fold(0.0, f64::max)
    };
    eprintln!(
        "max |cos - f64 reference| over 131072 x 64: rope_ext table {:.2e}, table_range {:.2e}, naive f32 {:.2e}",
        max_err(ours.cos()),
        max_err(fast.cos()),
        max_err(&naive_cos)
    );

    let mut group = c.benchmark_group("cos_sin_131072x64");
    group.sample_size(20);
    group.bench_function("rope_ext_table_f64_angles", |b| {
        b.iter(|| black_box(rope.table((0..POSITIONS).map(f64::from), None)))
    });
    group.bench_function("rope_ext_table_range", |b| {
        b.iter(|| black_box(rope.table_range(0..u64::from(POSITIONS), None).expect("small enough")))
    });
    group.bench_function("naive_f32_loop", |b| b.iter(|| black_box(naive_f32(black_box(&inv_f32), af))));
    group.finish();
}

criterion_group!(benches, tables);
criterion_main!(benches);
