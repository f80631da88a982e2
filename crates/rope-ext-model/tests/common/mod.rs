//! Shared by the parity tests: a fixture's `reference.safetensors` (transformers' token ids and
//! float32 logits) and the comparison against it.

use std::path::Path;

use safetensors::SafeTensors;

/// `input_ids` and the float32 tensors `names` of the `reference.safetensors` in `dir`.
pub fn reference(dir: &Path, names: &[&str]) -> (Vec<u32>, Vec<Vec<f32>>) {
    let path = dir.join("reference.safetensors");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let tensor = |name: &str| st.tensor(name).unwrap_or_else(|e| panic!("{}: {name}: {e}", path.display()));
    let ids = tensor("input_ids").data().chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap()) as u32);
    let logits = names
        .iter()
        .map(|n| tensor(n).data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
        .collect();
    (ids.collect(), logits)
}

fn argmax(row: &[f32]) -> usize {
    row.iter().enumerate().fold((0, f32::MIN), |(bi, bv), (i, &v)| if v > bv { (i, v) } else { (bi, bv) }).0
}

/// The largest absolute difference.
pub fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max)
}

/// Within 1e-4 absolute, with the same argmax in every row of `vocab` logits.
pub fn compare(what: &str, ours: &[f32], theirs: &[f32], vocab: usize) {
    assert_eq!(ours.len(), theirs.len(), "{what}: logits size");
    let worst = max_diff(ours, theirs);
    assert!(worst <= 1e-4, "{what}: max |Δlogit| = {worst:e} > 1e-4");
    for (i, (a, b)) in ours.chunks(vocab).zip(theirs.chunks(vocab)).enumerate() {
        assert_eq!(argmax(a), argmax(b), "{what}: argmax differs at token {i}");
    }
}
