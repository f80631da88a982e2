//! Tensors on the host: reading a burn tensor back as f32 values, and the f32 tensors read
//! from checkpoint files (safetensors, GGUF) before they become parameters.

use burn::tensor::Tensor;

/// A float tensor's values on the host, as f32.
///
/// # Panics
/// Only if the backend cannot read back a float tensor as f32, which no burn backend does.
pub fn to_host<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().expect("float tensors read back as f32")
}

/// A host-side f32 tensor read from a checkpoint.
pub(crate) struct HostTensor {
    pub(crate) shape: Vec<usize>,
    pub(crate) data: Vec<f32>,
}
