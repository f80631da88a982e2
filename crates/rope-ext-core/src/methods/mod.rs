//! One module per RoPE scaling method. Each states its formula, its source and a "Parity:"
//! line naming the reference it is tested against.

pub mod abf;
pub mod default;
pub mod dynamic_ntk;
pub mod e2llm;
pub mod eabf;
pub mod linear;
pub mod llama3;
pub mod logn;
pub mod longrope;
pub mod ntk_aware;
pub mod proportional;
pub mod yarn;
