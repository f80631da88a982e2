//! How an inference engine with tensors of its own (candle-style) uses rope-ext-core: read the
//! model's HF `config.json`, take the cos/sin table at the current length, rotate its own
//! query/key buffers with it, and ask the runtime whether the table must change as it grows.

use rope_ext_core::{RopeRuntime, apply_rotary, hf};

/// The engine's own tensor: `[positions, head_dim]`, row-major.
struct Heads {
    data: Vec<f32>,
    head_dim: usize,
}

fn main() -> Result<(), rope_ext_core::RopeError> {
    let config = r#"{"hidden_size": 64, "num_attention_heads": 4, "max_position_embeddings": 256,
        "rope_theta": 10000.0, "rope_scaling": {"rope_type": "yarn", "factor": 4.0,
        "original_max_position_embeddings": 256}}"#;
    let rope = hf::read_config_str(config)?;
    let n = 1024;
    let table = rope.table_range(0..n as u64, Some(n))?;
    let mut q = Heads { data: (0..n * 16).map(|i| (i % 7) as f32 * 0.1).collect(), head_dim: 16 };
    let rows = table.cos().chunks(table.pairs()).zip(table.sin().chunks(table.pairs()));
    for (x, (cos, sin)) in q.data.chunks_mut(q.head_dim).zip(rows) {
        apply_rotary(x, cos, sin, rope.layout())?;
    }
    let mut runtime = RopeRuntime::new(rope);
    let changed = runtime.update(2048);
    let f = runtime.frequencies();
    println!("pairs {} attention factor {:.6} q[1023][0] {:.6}", table.pairs(), f.attention_factor, q.data[1023 * 16]);
    println!("frequencies changed at 2,048 tokens: {changed}");
    Ok(())
}
