//! Which burn backend runs the model. Cargo features decide which are compiled; a runtime
//! [`burn::tensor::Device`] picks one of them.

use std::fmt;
use std::str::FromStr;

use burn::tensor::Device;

use crate::error::ModelError;

/// A compute backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
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

impl Backend {
    /// The name used on command lines and in feature flags.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Cpu => "cpu",
            Backend::Tch => "tch",
            Backend::TchCuda(_) => "tch-cuda",
            Backend::Wgpu => "wgpu",
        }
    }

    /// The backend tests run on: `ROPE_EXT_BACKEND` (`cpu`, `tch`, `wgpu`) if set, else the
    /// first compiled of cpu, tch, wgpu.
    ///
    /// # Panics
    /// If `ROPE_EXT_BACKEND` names no backend (a misconfigured test run).
    pub fn for_tests() -> Backend {
        if let Ok(name) = std::env::var("ROPE_EXT_BACKEND") {
            return name.parse().unwrap_or_else(|e| panic!("ROPE_EXT_BACKEND: {e}"));
        }
        [Backend::Cpu, Backend::Tch, Backend::Wgpu].into_iter().find(|b| b.device().is_ok()).unwrap_or(Backend::Cpu)
    }

    /// The device of this backend.
    pub fn device(self) -> Result<Device, ModelError> {
        match self {
            #[cfg(feature = "flex")]
            Backend::Cpu => Ok(Device::flex()),
            #[cfg(feature = "tch")]
            #[allow(deprecated)]
            Backend::Tch => Ok(Device::libtorch()),
            #[cfg(feature = "tch")]
            #[allow(deprecated)]
            Backend::TchCuda(n) => Ok(Device::libtorch_cuda(n)),
            #[cfg(feature = "wgpu")]
            Backend::Wgpu => Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)),
            #[allow(unreachable_patterns)]
            other => Err(ModelError::BackendNotCompiled(other.feature())),
        }
    }

    /// The cargo feature that compiles this backend.
    pub fn feature(self) -> &'static str {
        match self {
            Backend::Cpu => "flex",
            Backend::Tch | Backend::TchCuda(_) => "tch",
            Backend::Wgpu => "wgpu",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Backend::TchCuda(n) => write!(f, "tch-cuda:{n}"),
            other => f.write_str(other.name()),
        }
    }
}

impl FromStr for Backend {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "cpu" | "flex" => Ok(Backend::Cpu),
            "tch" | "libtorch" => Ok(Backend::Tch),
            "tch-cuda" => Ok(Backend::TchCuda(0)),
            s if s.starts_with("tch-cuda:") => {
                s["tch-cuda:".len()..].parse().map(Backend::TchCuda).map_err(|_| format!("bad CUDA index in `{s}`"))
            }
            "wgpu" => Ok(Backend::Wgpu),
            other => Err(format!("unknown backend `{other}` (expected cpu, tch or wgpu)")),
        }
    }
}
