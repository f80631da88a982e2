//! What the examples share: logging, the `--backend` option, progress display and the exit
//! path. Each example includes it with `mod support;` and uses the parts it needs.
#![allow(dead_code)]

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use rope_ext::model::BackendKind;
use rope_ext::train::run::RunEvent;
use rope_ext::train::train::StepMetrics;
use tracing_subscriber::EnvFilter;

/// The compute backend, a command-line option shared by every example that runs a model.
#[derive(Debug, Clone, clap::Args)]
pub struct BackendArg {
    /// Compute backend: cpu (burn's flex), tch (libtorch; feature `tch`), tch-cuda[:N], wgpu
    /// (feature `wgpu`).
    #[arg(long, default_value = "cpu", value_parser = parse_backend)]
    pub backend: BackendKind,
}

fn parse_backend(s: &str) -> Result<BackendKind, String> {
    s.parse()
}

/// Installs a `tracing` subscriber on stderr, filtered by `RUST_LOG` (default: warnings), so
/// the library's events are visible.
pub fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}

/// Prints the example's error on stderr and exits with status 1; success exits 0. The error's
/// causes follow it, each unless its text is already there (the library's errors name their
/// source in their own message).
pub fn exit(name: &str, result: anyhow::Result<()>) -> ExitCode {
    let Err(e) = result else { return ExitCode::SUCCESS };
    let mut message = e.to_string();
    for cause in e.chain().skip(1).map(ToString::to_string) {
        if !message.contains(&cause) {
            message = format!("{message}: {cause}");
        }
    }
    eprintln!("{name}: {message}");
    ExitCode::FAILURE
}

/// Writes `line` to stdout; a closed pipe (`| head`) is the reader's choice, not an error.
pub fn emit(line: &str) -> anyhow::Result<()> {
    use std::io::Write;
    match writeln!(std::io::stdout().lock(), "{line}") {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// How often a progress without a terminal prints a line.
const PLAIN_EVERY: Duration = Duration::from_secs(10);

/// Progress of long work: an `indicatif` bar with rate and ETA on a terminal; on a pipe or in
/// CI (stderr not a terminal), a plain line at most every ten seconds and at the end.
pub struct Progress {
    bar: ProgressBar,
    plain: Option<Instant>,
}

impl Progress {
    /// A bar of `total` items (0: not known yet, a spinner) labelled `prefix`.
    pub fn new(prefix: impl Into<String>, total: u64) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let bar = if terminal { ProgressBar::new(total) } else { ProgressBar::hidden() };
        let prefix = prefix.into();
        if !terminal {
            eprintln!("{prefix}");
        }
        bar.set_prefix(prefix);
        let plain = (!terminal).then(Instant::now);
        let progress = Progress { bar, plain };
        progress.restyle(total);
        progress
    }

    /// Sets the number of items (0: unknown, a spinner with a count).
    pub fn set_total(&self, total: u64) {
        if self.bar.length() != Some(total) {
            self.restyle(total);
        }
    }

    fn restyle(&self, total: u64) {
        self.bar.set_length(total);
        let template = if total > 0 {
            "{prefix} [{elapsed_precise}] [{bar:28}] {pos}/{len} {per_sec} ETA {eta} {msg}"
        } else {
            "{prefix} [{elapsed_precise}] {spinner} {pos} {msg}"
        };
        self.bar.set_style(ProgressStyle::with_template(template).expect("a valid template").progress_chars("#>."));
    }

    /// Starts counting at `position` (a resumed run): rate and ETA count from here.
    pub fn starting_at(self, position: u64) -> Self {
        self.bar.set_position(position);
        self.bar.reset_eta();
        self
    }

    /// Sets the position and the message after it.
    pub fn set(&mut self, position: u64, message: String) {
        self.bar.set_position(position);
        self.bar.set_message(message);
        if let Some(last) = self.plain.as_mut()
            && (last.elapsed() >= PLAIN_EVERY || position == self.bar.length().unwrap_or(0))
        {
            *last = Instant::now();
            eprintln!("{}", self.plain_line());
        }
    }

    /// A training step: the position is the step, the message its loss, gradient norm,
    /// learning rate and throughput.
    pub fn step(&mut self, m: &StepMetrics) {
        self.set(m.step, m.summary());
    }

    /// A line above the bar (or on its own line without a terminal).
    pub fn println(&self, line: impl AsRef<str>) {
        if self.plain.is_some() { eprintln!("{}", line.as_ref()) } else { self.bar.println(line.as_ref()) }
    }

    /// Ends the bar, leaving it on screen.
    pub fn finish(&self) {
        self.bar.abandon();
    }

    fn plain_line(&self) -> String {
        let (pos, elapsed) = (self.bar.position(), self.bar.elapsed().as_secs_f64());
        let of = self.bar.length().filter(|&n| n > 0).map(|n| format!("/{n}")).unwrap_or_default();
        format!("{} {pos}{of} after {} {}", self.bar.prefix(), clock(elapsed), self.bar.message())
    }
}

/// Shows the events of a training run (`train`, `pretrain_base`): a line per stage, prefixed
/// with the run's name, and a progress bar over the steps.
pub struct RunDisplay {
    name: String,
    bar: Option<Progress>,
}

impl RunDisplay {
    /// A display for the run `name`.
    pub fn new(name: impl Into<String>) -> Self {
        RunDisplay { name: name.into(), bar: None }
    }

    /// Shows one event.
    pub fn show(&mut self, event: RunEvent<'_>) {
        let name = self.name.clone();
        match event {
            RunEvent::Loading { model } => eprintln!("{name}: loading {}", model.display()),
            RunEvent::Tokenizing { corpus } => eprintln!("{name}: reading and tokenizing {}", corpus.display()),
            RunEvent::Samples { samples, tokens } => eprintln!("{name}: {samples} training samples, {tokens} tokens"),
            RunEvent::Resuming { step, checkpoint } => {
                eprintln!("{name}: resuming at step {step} from {}", checkpoint.display())
            }
            RunEvent::Training { step, total_steps } => {
                self.bar = Some(Progress::new(format!("{name}: training"), total_steps).starting_at(step));
            }
            RunEvent::Step(m) => {
                if let Some(bar) = self.bar.as_mut() {
                    bar.step(m)
                }
            }
            RunEvent::Exporting { dir } => {
                self.finish();
                eprintln!("{name}: writing the model to {}", dir.display())
            }
        }
    }

    /// Ends the progress bar, if one is shown.
    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish()
        }
    }
}

/// `1h02m03s` / `2m03s` / `3s`.
pub use rope_ext::train::train::clock;
