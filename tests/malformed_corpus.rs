//! The committed corpus of malformed inputs in `tests/fixtures/malformed/`: configs
//! (`configs/*.json`) and corrupt or mismatched model directories (`files/*/`, made by
//! `make_files.py`). `manifest.json` lists every case with the loader that reads it and the
//! substrings its error must contain (the field or tensor, and the bad value where the error
//! prints it). Each case must give an `Err` whose text has all of them: not `Ok`, not a panic.
//! Every failing case is reported, in one message.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Once;

use rope_ext::model::{BackendKind, Llama, LlamaConfig, Tokenizer};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Case {
    /// Relative to the corpus root: `configs/NNN-name.json` or `files/NN-name` (a directory).
    path: String,
    loader: Loader,
    /// Substrings that must all appear in the error's `Display` text.
    expect: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Loader {
    /// `LlamaConfig::from_file(path)`.
    Config,
    /// `Llama::load(dir, device)`.
    Model,
    /// `Tokenizer::from_dir(dir)`.
    Tokenizer,
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/malformed")
}

fn manifest() -> Vec<Case> {
    let path = corpus().join("manifest.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

thread_local! {
    /// While a loader runs: `Some`, filled with the panic's message and location if it panics.
    static CAPTURED: RefCell<Option<Option<String>>> = const { RefCell::new(None) };
}

/// A panic hook that records panics of the loaders (on the capturing thread) instead of
/// printing them, and leaves every other panic to the previous hook.
fn install_quiet_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let captured = CAPTURED
                .try_with(|c| match c.borrow_mut().as_mut() {
                    Some(slot) => {
                        let at = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
                        *slot = Some(format!("{}{at}", payload_text(info.payload())));
                        true
                    }
                    None => false,
                })
                .unwrap_or(false);
            if !captured {
                previous(info);
            }
        }));
    });
}

/// What a loader did: its error text, or why that is not what a malformed input must give.
enum Outcome {
    Error(String),
    Accepted(String),
    Panicked(String),
}

fn run(load: impl FnOnce() -> Result<String, String>) -> Outcome {
    install_quiet_hook();
    CAPTURED.with(|c| *c.borrow_mut() = Some(None));
    let result = panic::catch_unwind(AssertUnwindSafe(load));
    let message = CAPTURED.with(|c| c.borrow_mut().take().flatten());
    match result {
        Ok(Ok(what)) => Outcome::Accepted(what),
        Ok(Err(e)) => Outcome::Error(e),
        Err(payload) => Outcome::Panicked(message.unwrap_or_else(|| payload_text(payload.as_ref()))),
    }
}

fn payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    match (payload.downcast_ref::<&str>(), payload.downcast_ref::<String>()) {
        (Some(s), _) => (*s).to_string(),
        (_, Some(s)) => s.clone(),
        _ => "(a panic without a message)".into(),
    }
}

#[test]
fn every_malformed_input_gives_a_typed_error_naming_what_is_wrong() {
    let cases = manifest();
    let device = BackendKind::for_tests().device().expect("a compiled backend");
    let root = corpus();
    let mut failures = Vec::new();
    for case in &cases {
        let path = root.join(&case.path);
        if case.expect.is_empty() {
            failures.push(format!("{}: the manifest entry lists no expected substring", case.path));
        }
        let outcome = match case.loader {
            Loader::Config => run(|| {
                LlamaConfig::from_file(&path)
                    .map(|c| format!("model_type {}, {} layers", c.model_type, c.num_hidden_layers))
                    .map_err(|e| e.to_string())
            }),
            Loader::Model => run(|| {
                Llama::load(&path, &device)
                    .map(|m| format!("a model with {} layers", m.config.num_hidden_layers))
                    .map_err(|e| e.to_string())
            }),
            Loader::Tokenizer => run(|| {
                Tokenizer::from_dir(&path)
                    .map(|t| format!("a tokenizer of {} tokens", t.inner().get_vocab_size(true)))
                    .map_err(|e| e.to_string())
            }),
        };
        match outcome {
            Outcome::Error(text) => {
                let missing: Vec<&str> = case.expect.iter().map(String::as_str).filter(|s| !text.contains(s)).collect();
                if !missing.is_empty() {
                    failures.push(format!("{}: error lacks {missing:?}; it reads: {text}", case.path));
                }
            }
            Outcome::Accepted(what) => failures.push(format!("{}: ACCEPTED as {what}", case.path)),
            Outcome::Panicked(msg) => failures.push(format!("{}: PANICKED: {msg}", case.path)),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} malformed cases failed:\n  {}",
        failures.len(),
        cases.len(),
        failures.join("\n  ")
    );
}

#[test]
fn the_manifest_covers_the_whole_corpus_and_its_size() {
    let cases = manifest();
    let root = corpus();
    let mut problems = Vec::new();

    let configs = cases.iter().filter(|c| c.loader == Loader::Config).count();
    let files = cases.len() - configs;
    if configs < 60 {
        problems.push(format!("only {configs} config cases (at least 60 wanted)"));
    }
    if files < 15 {
        problems.push(format!("only {files} weight/tokenizer file cases (at least 15 wanted)"));
    }

    let mut listed = BTreeSet::new();
    for case in &cases {
        if !listed.insert(case.path.as_str()) {
            problems.push(format!("{}: listed twice", case.path));
        }
        let path = root.join(&case.path);
        match case.loader {
            Loader::Config if !case.path.starts_with("configs/") || !path.is_file() => {
                problems.push(format!("{}: a config case must be a file under configs/", case.path))
            }
            Loader::Model | Loader::Tokenizer if !case.path.starts_with("files/") || !path.is_dir() => {
                problems.push(format!("{}: a model or tokenizer case must be a directory under files/", case.path))
            }
            _ => {}
        }
    }

    // No orphan fixtures: every entry of configs/ and files/ is a case.
    for dir in ["configs", "files"] {
        let entries = std::fs::read_dir(root.join(dir)).unwrap_or_else(|e| panic!("{dir}: {e}"));
        for entry in entries {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            let rel = format!("{dir}/{name}");
            if !listed.contains(rel.as_str()) {
                problems.push(format!("{rel}: not in manifest.json"));
            }
        }
    }
    assert!(problems.is_empty(), "malformed corpus:\n  {}", problems.join("\n  "));
}
