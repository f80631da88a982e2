//! Attention entropy of 8 heads × 4,096 queries × 4,096 keys (causal), one-shot over a
//! materialised logit matrix beside streamed in key chunks, with the bytes each allocates.
//!
//! The logits are a cheap deterministic function of (head, query, key), so the time measured is
//! the entropy's, not a matmul's. Bytes are counted by a global allocator wrapper over one run
//! of each path, printed before criterion's timings.
//!
//! ```text
//! cargo bench -p rope-ext-entropy --bench entropy
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};

use criterion::{Criterion, criterion_group, criterion_main};
use rope_ext_entropy::{RowMask, StreamingEntropy, masked_entropy};

const HEADS: usize = 8;
const N: usize = 4096;
const KEY_CHUNK: usize = 512;

struct Counting;

static ALLOCATED: AtomicUsize = AtomicUsize::new(0);
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATED.fetch_add(layout.size(), Ordering::Relaxed);
        let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        // SAFETY: same layout contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A deterministic logit in about [-4, 4] for (head, query, key).
#[inline]
fn logit(h: usize, q: usize, k: usize) -> f32 {
    let x = (h * 7919 + q * 104_729 + k * 1_299_709) as u32;
    let x = x.wrapping_mul(2_654_435_761) >> 8;
    (x as f32 / (1u32 << 24) as f32) * 8.0 - 4.0
}

/// Materialises the [heads, n, n] logits, then one entropy per row.
fn one_shot() -> f64 {
    let mut logits = vec![0.0f32; HEADS * N * N];
    for h in 0..HEADS {
        for q in 0..N {
            for k in 0..=q {
                logits[(h * N + q) * N + k] = logit(h, q, k);
            }
        }
    }
    let mut sum = 0.0;
    for h in 0..HEADS {
        for q in 0..N {
            let row = &logits[(h * N + q) * N..(h * N + q + 1) * N];
            sum += masked_entropy(row, RowMask::causal(q)).expect("finite logits");
        }
    }
    sum
}

/// Keys in chunks of 512 into one reusable buffer; one streaming state per row.
fn streamed() -> f64 {
    let mut chunk = vec![0.0f32; KEY_CHUNK];
    let mut sum = 0.0;
    for h in 0..HEADS {
        for q in 0..N {
            let mut st = StreamingEntropy::new();
            for start in (0..=q).step_by(KEY_CHUNK) {
                let len = KEY_CHUNK.min(q + 1 - start);
                for (j, z) in chunk[..len].iter_mut().enumerate() {
                    *z = logit(h, q, start + j);
                }
                st.push(&chunk[..len]).expect("finite logits");
            }
            sum += st.finish().expect("non-empty row");
        }
    }
    sum
}

fn measure(name: &str, f: fn() -> f64) -> f64 {
    let (a0, l0) = (ALLOCATED.load(Ordering::Relaxed), LIVE.load(Ordering::Relaxed));
    PEAK.store(l0, Ordering::Relaxed);
    let start = std::time::Instant::now();
    let v = f();
    eprintln!(
        "{name:>9}: mean entropy {:.6} nats, {:.2} s, {} bytes allocated, peak {} bytes above baseline",
        v / (HEADS * N) as f64,
        start.elapsed().as_secs_f64(),
        ALLOCATED.load(Ordering::Relaxed) - a0,
        PEAK.load(Ordering::Relaxed) - l0
    );
    v
}

fn bench(c: &mut Criterion) {
    let (a, b) = (measure("one-shot", one_shot), measure("streamed", streamed));
    assert!((a - b).abs() <= 1e-6 * a.abs(), "one-shot {a} and streamed {b} disagree");
    let mut group = c.benchmark_group("entropy_8x4096x4096_causal");
    group.sample_size(10);
    group.bench_function("one_shot_materialised", |bch| bch.iter(|| black_box(one_shot())));
    group.bench_function("streamed_512_key_chunks", |bch| bch.iter(|| black_box(streamed())));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
