//! Which burn backend runs the model. Cargo features decide which are compiled; a runtime
//! [`burn::tensor::Device`] picks one of them.

use std::fmt;
use std::str::FromStr;

use burn::tensor::Device;

use crate::error::ModelError;

/// A compute backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackendKind {
    /// burn's pure-Rust CPU backend (`flex`), the default.
    #[default]
    Cpu,
    /// libtorch on the CPU (feature `tch`). burn 0.22 marks burn-tch deprecated; it is kept
    /// because users asked for it.
    Tch,
    /// libtorch on CUDA device `n` (feature `tch`, a CUDA libtorch).
    TchCuda(usize),
    /// wgpu over WGSL (feature `wgpu`).
    Wgpu,
}

impl BackendKind {
    /// The name used on command lines and in feature flags.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Cpu => "cpu",
            BackendKind::Tch => "tch",
            BackendKind::TchCuda(_) => "tch-cuda",
            BackendKind::Wgpu => "wgpu",
        }
    }

    /// The backend tests run on (feature `test-support`): `ROPE_EXT_BACKEND` (`cpu`, `tch`, `wgpu`) if set, else the
    /// first compiled of cpu, tch, wgpu.
    ///
    /// # Panics
    /// If `ROPE_EXT_BACKEND` names no backend (a misconfigured test run).
    #[cfg(feature = "test-support")]
    pub fn for_tests() -> BackendKind {
        if let Ok(name) = std::env::var("ROPE_EXT_BACKEND") {
            return name.parse().unwrap_or_else(|e| panic!("ROPE_EXT_BACKEND: {e}"));
        }
        [BackendKind::Cpu, BackendKind::Tch, BackendKind::Wgpu]
            .into_iter()
            .find(|b| b.device().is_ok())
            .unwrap_or(BackendKind::Cpu)
    }

    /// The device of this backend.
    pub fn device(self) -> Result<Device, ModelError> {
        match self {
            #[cfg(feature = "flex")]
            BackendKind::Cpu => Ok(Device::flex()),
            #[cfg(feature = "tch")]
            #[allow(deprecated)]
            BackendKind::Tch => Ok(Device::libtorch()),
            #[cfg(feature = "tch")]
            #[allow(deprecated)]
            BackendKind::TchCuda(n) => Ok(Device::libtorch_cuda(n)),
            #[cfg(feature = "wgpu")]
            BackendKind::Wgpu => Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)),
            #[allow(unreachable_patterns)]
            other => Err(ModelError::BackendNotCompiled(other.feature())),
        }
    }

    /// The cargo feature that compiles this backend.
    pub fn feature(self) -> &'static str {
        match self {
            BackendKind::Cpu => "flex",
            BackendKind::Tch | BackendKind::TchCuda(_) => "tch",
            BackendKind::Wgpu => "wgpu",
        }
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BackendKind::TchCuda(n) => write!(f, "tch-cuda:{n}"),
            other => f.write_str(other.name()),
        }
    }
}

impl FromStr for BackendKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "cpu" | "flex" => Ok(BackendKind::Cpu),
            "tch" | "libtorch" => Ok(BackendKind::Tch),
            "tch-cuda" => Ok(BackendKind::TchCuda(0)),
            s if s.starts_with("tch-cuda:") => {
                s["tch-cuda:".len()..].parse().map(BackendKind::TchCuda).map_err(|_| format!("bad CUDA index in `{s}`"))
            }
            "wgpu" => Ok(BackendKind::Wgpu),
            other => Err(format!("unknown backend `{other}` (expected cpu, tch or wgpu)")),
        }
    }
}
