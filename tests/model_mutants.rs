//! The model-file reader against ~2500 damaged files (issue 14, "fuzzing as
//! a habit"). A libFuzzer build with burn would add ~30 CPU-minutes to every
//! fuzz build, so this deterministic mutation test stands in for a fuzz
//! target: two small saved models, and mutants of them made with a fixed
//! seed (bit flips, truncations, insertions, appended bytes, swapped and
//! overwritten chunks, edited metadata bytes, and metadata edited then
//! resealed with a valid checksum, so that the parser and the configuration
//! checks behind the checksum are reached too).
//!
//! For every mutant: `read_metadata` and `load` do not panic; damage the
//! file's checks must see (a changed metadata byte, a wrong length) is an
//! error; a mutant that loads reads back the same metadata, and computes
//! exactly what the original computes (damage never changes the weights
//! silently); and loading never allocates out of proportion to the file
//! (a few bytes of metadata must not make the loader build a large model).
//! A failing mutant is written to a temporary folder, named in the message.
//! Long (~600 lines) because the mutation kinds, the allocation meter and
//! the checks belong together.
#![cfg(feature = "model")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use burn::store::burn_pack::{Reader, Tensor as PackTensor};
use burn::tensor::{Bytes, Device, Distribution, Tensor};
use scatterbrain::model::{
    self, Architecture, ModelConfig, ModelMetadata, NormalisationStats, Precision, Tagger,
};
use serde_json::{Value, json};

// ------------------------------------------------------------ memory counter

/// Bytes allocated now and the most since [`reset_peak`]: how much a load
/// allocates, measured rather than guessed.
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

struct Counting;

fn grew(by: usize) {
    let now = LIVE.fetch_add(by, Relaxed) + by;
    PEAK.fetch_max(now, Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Start measuring; returns the baseline.
fn reset_peak() -> usize {
    let live = LIVE.load(Relaxed);
    PEAK.store(live, Relaxed);
    live
}

/// Loading a file may allocate this much beyond the file itself (copies of
/// the bytes, the tensors, the model): generous for a valid file, far below
/// what a model of a mutated, inflated configuration would need.
fn memory_bound(file_len: usize) -> usize {
    32 * file_len + (8 << 20)
}

/// Mutants whose metadata claims more weights than this are not loaded: if
/// loading built the claimed model first, one would take the machine's
/// memory (the moderate inflations that are loaded show whether it does).
const LOAD_LIMIT_WEIGHTS: u128 = 32 << 20;

/// The weights a configuration claims, without overflow (`parameter_count`
/// would overflow on a mutated `input_size`).
fn claimed_weights(c: &ModelConfig) -> u128 {
    match c.architecture {
        Architecture::Rnn {
            cell,
            layers,
            hidden,
        } => {
            let (g, h) = (cell.gates() as u128, hidden as u128);
            let mut input = c.input_size as u128;
            let mut n = 0u128;
            for _ in 0..layers.min(1 << 16) {
                n += g * h * (input + h) + 2 * g * h;
                input = h;
            }
            n + h * c.tags as u128 + c.tags as u128
        }
        // Fixed channel counts (~17 M weights) plus a head of `tags` (the
        // tag list's length, which the file itself holds).
        Architecture::Cnn => c.parameter_count() as u128,
    }
}

// ------------------------------------------------------------------ mutants

/// xorshift64*: a fixed seed, so every run tries the same mutants.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

/// What a mutant must do.
#[derive(Clone, Copy, PartialEq)]
enum Expect {
    /// Be refused: the file's own checks see this damage.
    Refused,
    /// Load or be refused (but never panic, never load different weights).
    Either,
}

struct Mutant {
    class: &'static str,
    bytes: Vec<u8>,
    expect: Expect,
    /// Metadata edited and resealed (its checksum valid).
    resealed: bool,
}

/// A small saved model and what it computes.
struct Base {
    name: &'static str,
    bytes: Vec<u8>,
    /// The metadata JSON as stored, and where it sits in the file.
    json: String,
    json_at: usize,
    tensors: Vec<PackTensor>,
    meta: ModelMetadata,
    probs: Vec<f32>,
}

fn base(
    name: &'static str,
    input: usize,
    stats: bool,
    precision: Precision,
    device: &Device,
    x: &Tensor<3>,
) -> Base {
    device.seed(7);
    let config = ModelConfig::from_name(name, input).unwrap();
    let tagger = Tagger::new(&config, device).unwrap();
    let mut meta = ModelMetadata::new(&config);
    meta.front_end = json!({"kind": "scattering", "j": 13, "q": [8, 1], "t": 8192});
    if stats {
        meta.normalisation = Some(NormalisationStats {
            mean: (0..input).map(|i| i as f32 * 0.1).collect(),
            std: vec![1.5; input],
        });
    }
    meta.provenance.notes = Some("mutation test".into());
    let bytes = model::save(&tagger, &meta, precision).unwrap();
    let reader = Reader::from_bytes(Bytes::from_bytes_vec(bytes.clone())).unwrap();
    let json = reader.metadata()["scatterbrain"].to_string();
    let tensors = reader.into_tensors().unwrap();
    let json_at = bytes
        .windows(json.len())
        .position(|w| w == json.as_bytes())
        .expect("the metadata JSON is stored as is");
    let (loaded, meta) = model::load(&bytes, device).unwrap();
    let probs = probs(&loaded, x);
    Base {
        name,
        bytes,
        json,
        json_at,
        tensors,
        meta,
        probs,
    }
}

fn probs(tagger: &Tagger, x: &Tensor<3>) -> Vec<f32> {
    tagger
        .forward_probs(x.clone())
        .into_data()
        .try_into_vec()
        .unwrap()
}

/// Byte-level damage of the whole file.
fn byte_mutants(b: &Base, rng: &mut Rng, out: &mut Vec<Mutant>) {
    let n = b.bytes.len();
    let mut push = |class, bytes: Vec<u8>, expect| {
        if bytes != b.bytes {
            out.push(Mutant {
                class,
                bytes,
                expect,
                resealed: false,
            });
        }
    };
    for _ in 0..250 {
        let mut m = b.bytes.clone();
        let flips = 1 + rng.below(3);
        for _ in 0..flips {
            let i = rng.below(n);
            m[i] ^= 1 << rng.below(8);
        }
        push("bit flips", m, Expect::Either);
    }
    // Any change to the metadata's bytes must fail its checksum (or, where
    // it breaks the container's encoding, the container's parse).
    for _ in 0..80 {
        let mut m = b.bytes.clone();
        let i = b.json_at + rng.below(b.json.len());
        m[i] = if rng.below(2) == 0 {
            m[i] ^ (1 << rng.below(8))
        } else {
            rng.byte()
        };
        push("metadata byte", m, Expect::Refused);
    }
    // Every short length, then lengths across the file and just short of it.
    let mut lengths: Vec<usize> = (0..=64).collect();
    lengths.extend((1..40).map(|k| n * k / 40));
    lengths.extend((1..=8).map(|k| n - k));
    lengths.extend([
        b.json_at,
        b.json_at + b.json.len() / 2,
        b.json_at + b.json.len(),
    ]);
    for len in lengths {
        push(
            "truncated",
            b.bytes[..len.min(n - 1)].to_vec(),
            Expect::Refused,
        );
    }
    for _ in 0..50 {
        let mut m = b.bytes.clone();
        let at = rng.below(n + 1);
        let k = 1 + rng.below(16);
        let ins: Vec<u8> = (0..k).map(|_| rng.byte()).collect();
        let _ = m.splice(at..at, ins);
        push("inserted", m, Expect::Refused);
    }
    for k in [1usize, 2, 3, 7, 8, 255, 256, 257, 4096] {
        for fill in [0u8, 0xFF, 0x5A] {
            let mut m = b.bytes.clone();
            m.extend(std::iter::repeat_n(fill, k));
            push("appended", m, Expect::Refused);
        }
    }
    for _ in 0..50 {
        let mut m = b.bytes.clone();
        let len = 1 + rng.below(256.min(n / 2));
        let a = rng.below(n - 2 * len);
        let c = a + len + rng.below(n - a - 2 * len + 1);
        let (left, right) = m.split_at_mut(c);
        left[a..a + len].swap_with_slice(&mut right[..len]);
        push("swapped chunks", m, Expect::Either);
    }
    for _ in 0..50 {
        let mut m = b.bytes.clone();
        let len = 1 + rng.below(64);
        let a = rng.below(n - len);
        let fill = [0u8, 0xFF, rng.byte()][rng.below(3)];
        m[a..a + len].fill(fill);
        push("overwritten", m, Expect::Either);
    }
}

fn reseal(b: &Base, json: &str) -> Vec<u8> {
    model::seal(b.tensors.clone(), json).unwrap()
}

/// Metadata edited as text, then resealed: the JSON parser's turn.
fn text_mutants(b: &Base, rng: &mut Rng, out: &mut Vec<Mutant>) {
    const CHARS: &[u8] = b"{}[]\",:0123456789eE.-+ truefalsnul\\";
    const NUMBERS: &[&str] = &[
        "65536",
        "1e400",
        "-0",
        "99999999999999999999",
        "4294967296",
        "-1",
        "0.0",
        "1e-400",
        "NaN",
    ];
    let mut made = 0;
    while made < 100 {
        let mut s = b.json.clone().into_bytes();
        let i = rng.below(s.len());
        match rng.below(5) {
            0 => s[i] = CHARS[rng.below(CHARS.len())],
            1 => {
                s.remove(i);
            }
            2 => s.insert(i, CHARS[rng.below(CHARS.len())]),
            3 => {
                // A number replaced: the run of digits at or after i.
                let Some(start) = s[i..].iter().position(u8::is_ascii_digit).map(|p| p + i) else {
                    continue;
                };
                let end = s[start..]
                    .iter()
                    .position(|c| !c.is_ascii_digit())
                    .map_or(s.len(), |p| p + start);
                let _ = s.splice(start..end, NUMBERS[rng.below(NUMBERS.len())].bytes());
            }
            _ => {
                // A span repeated (duplicate keys, doubled brackets).
                let len = 1 + rng.below(40.min(s.len() - i));
                let span = s[i..i + len].to_vec();
                let _ = s.splice(i..i, span);
            }
        }
        let Ok(text) = String::from_utf8(s) else {
            continue;
        };
        if text != b.json {
            out.push(Mutant {
                class: "metadata text, resealed",
                bytes: reseal(b, &text),
                expect: Expect::Either,
                resealed: true,
            });
            made += 1;
        }
    }
}

/// JSON pointers of the metadata's nodes: every object member, the first
/// element of each array, and one entry of the checksum table.
fn pointers(v: &Value, at: &str, out: &mut Vec<String>) {
    out.push(at.to_string());
    let escape = |k: &str| k.replace('~', "~0").replace('/', "~1");
    match v {
        Value::Object(m) => {
            let take = if at == "/checksums" { 1 } else { usize::MAX };
            for (k, c) in m.iter().take(take) {
                pointers(c, &format!("{at}/{}", escape(k)), out);
            }
        }
        Value::Array(a) => {
            if let Some(c) = a.first() {
                pointers(c, &format!("{at}/0"), out);
            }
        }
        _ => {}
    }
}

/// Metadata edited as values, then resealed: every node replaced by every
/// kind of value (and removed), so each field's checks are reached.
fn value_mutants(b: &Base, out: &mut Vec<Mutant>) {
    let values = [
        json!(0),
        json!(-1),
        json!(1024),
        json!(u64::MAX),
        json!(1e300),
        json!(0.5),
        json!(""),
        json!("f16"),
        Value::Null,
        json!(true),
        json!([]),
        json!({}),
        json!({"kind": "cnn"}),
    ];
    let meta: Value = serde_json::from_str(&b.json).unwrap();
    let mut ptrs = Vec::new();
    pointers(&meta, "", &mut ptrs);
    for p in &ptrs {
        for v in &values {
            let mut m = meta.clone();
            *m.pointer_mut(p).unwrap() = v.clone();
            if m != meta {
                out.push(Mutant {
                    class: "metadata value, resealed",
                    bytes: reseal(b, &m.to_string()),
                    expect: Expect::Either,
                    resealed: true,
                });
            }
        }
        // Removed.
        let Some((parent, key)) = p.rsplit_once('/') else {
            continue;
        };
        let mut m = meta.clone();
        let removed = match m.pointer_mut(parent).unwrap() {
            Value::Object(o) => o
                .remove(&key.replace("~1", "/").replace("~0", "~"))
                .is_some(),
            Value::Array(a) => {
                !a.is_empty() && {
                    a.remove(0);
                    true
                }
            }
            _ => false,
        };
        if removed {
            out.push(Mutant {
                class: "metadata field removed, resealed",
                bytes: reseal(b, &m.to_string()),
                expect: Expect::Either,
                resealed: true,
            });
        }
    }
}

// --------------------------------------------------------------------- test

static PANIC: Mutex<Option<String>> = Mutex::new(None);

/// Run `f`; a panic becomes its message (with where it happened).
fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|_| {
        PANIC
            .lock()
            .unwrap()
            .take()
            .unwrap_or_else(|| "panic".into())
    })
}

/// What became of a mutant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    Refused,
    Loaded,
    /// Not loaded: its metadata claims a model over [`LOAD_LIMIT_WEIGHTS`].
    NotTried,
}

/// What became of this mutant, or what is wrong with its handling.
fn check(b: &Base, m: &Mutant, device: &Device, x: &Tensor<3>) -> Result<Outcome, String> {
    let meta = guarded(|| model::read_metadata(&m.bytes))
        .map_err(|p| format!("read_metadata panicked: {p}"))?;
    match &meta {
        Ok(_) if m.expect == Expect::Refused => return Err("read_metadata accepted it".into()),
        Ok(meta) if claimed_weights(&meta.model) > LOAD_LIMIT_WEIGHTS => {
            return Ok(Outcome::NotTried);
        }
        _ => {}
    }
    let base_live = reset_peak();
    let loaded = guarded(|| model::load(&m.bytes, device));
    let used = PEAK.load(Relaxed).saturating_sub(base_live);
    if used > memory_bound(m.bytes.len()) {
        return Err(format!(
            "loading allocated {used} bytes for a file of {}",
            m.bytes.len()
        ));
    }
    let (tagger, loaded_meta) = match loaded.map_err(|p| format!("load panicked: {p}"))? {
        Err(_) => return Ok(Outcome::Refused),
        Ok(_) if m.expect == Expect::Refused => {
            return Err("loaded, but its damage should have been seen".into());
        }
        Ok(t) => t,
    };
    if meta.as_ref() != Ok(&loaded_meta) {
        return Err("read_metadata and load disagree".into());
    }
    if !m.resealed && loaded_meta != b.meta {
        return Err("damaged bytes loaded as different metadata".into());
    }
    match guarded(|| probs(&tagger, x)) {
        Err(p) => Err(format!("the loaded model panicked: {p}")),
        Ok(p) if p != b.probs => Err("loaded, but computes other scores than the original".into()),
        Ok(_) => Ok(Outcome::Loaded),
    }
}

#[test]
fn damaged_model_files_are_errors_never_panics() {
    let start = std::time::Instant::now();
    let device = Device::flex();
    device.seed(3);
    // The counter must see burn's tensors, or the memory check proves nothing.
    let calib = ModelConfig::from_name("scat-1l-512h-gru", 12).unwrap();
    let before = reset_peak();
    let t = Tagger::new(&calib, &device).unwrap();
    let _ = probs(
        &t,
        &Tensor::random([1, 2, 12], Distribution::Normal(0.0, 1.0), &device),
    );
    let seen = PEAK.load(Relaxed) - before;
    assert!(
        seen >= 4 * calib.parameter_count(),
        "the allocation counter saw {seen} bytes for {} weights",
        calib.parameter_count()
    );
    drop(t);

    let xa = Tensor::random([2, 5, 12], Distribution::Normal(0.0, 1.0), &device);
    let xb = Tensor::random([2, 5, 10], Distribution::Normal(0.0, 1.0), &device);
    let bases = [
        (
            base("scat-2l-16h-gru", 12, true, Precision::F32, &device, &xa),
            &xa,
        ),
        (
            base("mel-1l-8h-lstm", 10, false, Precision::F16, &device, &xb),
            &xb,
        ),
    ];

    std::panic::set_hook(Box::new(|info| {
        *PANIC.lock().unwrap() = Some(info.to_string());
    }));
    let dir = std::env::temp_dir().join("scatterbrain-model-mutants");
    let mut rng = Rng(0x5CA7_7E4B_4A11_0014);
    // (class, outcome) → count, for the summary.
    let mut seen = std::collections::BTreeMap::<(&str, Outcome), usize>::new();
    let mut total = 0;
    let mut failures = Vec::new();
    for (b, x) in &bases {
        let mut mutants = Vec::new();
        byte_mutants(b, &mut rng, &mut mutants);
        text_mutants(b, &mut rng, &mut mutants);
        value_mutants(b, &mut mutants);
        for (i, m) in mutants.iter().enumerate() {
            total += 1;
            match check(b, m, &device, x) {
                Ok(outcome) => *seen.entry((m.class, outcome)).or_default() += 1,
                Err(why) => {
                    std::fs::create_dir_all(&dir).unwrap();
                    let file = dir.join(format!("{}-{i}.bpk", b.name));
                    std::fs::write(&file, &m.bytes).unwrap();
                    failures.push(format!(
                        "{} mutant {i} ({}): {why} [{}]",
                        b.name,
                        m.class,
                        file.display()
                    ));
                }
            }
        }
    }
    let _ = std::panic::take_hook();
    println!(
        "{total} mutants in {:.1} s, {} mishandled",
        start.elapsed().as_secs_f64(),
        failures.len()
    );
    for ((class, outcome), n) in &seen {
        println!("  {class}: {n} {outcome:?}");
    }
    assert!(total >= 2000, "only {total} mutants");
    assert!(
        failures.is_empty(),
        "{} of {total} mutants mishandled:\n{}",
        failures.len(),
        failures[..failures.len().min(30)].join("\n")
    );
}
