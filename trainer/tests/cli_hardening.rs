//! Issue 14 through the real binary: a file whose samples overflow does not
//! lose the batch, and every output (`scatter --png/--out`, `model
//! init/convert`) is complete or absent — a failed or interrupted write keeps
//! the previous file, leaves no temporary file and names the file.

mod common;

use common::reference::read_npy;
use common::wav::float_wav;
use common::{bin, fixture, run};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The binary under `bash` with file writes limited to 16 KiB: a write past
/// the limit kills the process (SIGXFSZ, as an interruption would), or with
/// `ignore_signal` fails with EFBIG (as a full disk would).
fn limited(ignore_signal: bool) -> Command {
    let trap = if ignore_signal { "trap '' XFSZ; " } else { "" };
    let mut c = Command::new("bash");
    c.arg("-c")
        .arg(format!(
            "{trap}ulimit -c 0; ulimit -f 16; exec \"$0\" \"$@\""
        ))
        .arg(env!("CARGO_BIN_EXE_scatterbrain"));
    c
}

/// A fresh, empty folder per test, removed when it is dropped.
fn tmp(name: &str) -> common::Tmp {
    common::tmp("hard", name)
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Issue 14, item 1: a float WAV whose channel sum overflows f32 (3e38 in
/// both channels) used to panic inside the resampler (exit 101), so no file
/// of the batch was tagged and `--json` printed nothing.
#[test]
fn a_float_wav_whose_channel_sum_overflows_does_not_lose_the_batch() {
    let dir = tmp("overflow");
    let model = dir.join("tiny.bpk");
    assert!(
        run(bin()
            .args(["model", "init", "scat-1l-8h-gru", "--seed", "3", "--out"])
            .arg(&model))
        .status
        .success()
    );
    let bad = dir.join("bad.wav");
    std::fs::write(&bad, float_wav(44_100, 2, &vec![3e38; 2 * 44_100 * 2])).unwrap();
    let good = [
        fixture("tone300_8k_6ch.wav"),
        fixture("tone1k_44k_stereo.mp3"),
    ];
    let out = run(bin()
        .args(["tag", "--json", "--model"])
        .arg(&model)
        .arg(&good[0])
        .arg(&bad)
        .arg(&good[1]));
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    assert_ne!(out.status.code(), Some(101), "a panic");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let files = doc["files"].as_array().unwrap();
    assert_eq!(files.len(), 3);
    let scores_ok = |f: &Value| {
        f["scores"].as_array().is_some_and(|s| {
            s.len() == 50
                && s.iter()
                    .all(|v| v.as_f64().is_some_and(|x| (0.0..=1.0).contains(&x)))
        })
    };
    assert!(
        scores_ok(&files[0]) && scores_ok(&files[2]),
        "good files tagged"
    );
    // The bad file is either tagged (finite scores) or one clear error, and
    // the exit code says which.
    if files[1]["error"].is_string() {
        assert!(!out.status.success());
        assert!(err.contains("bad.wav"), "{err}");
    } else {
        assert!(scores_ok(&files[1]), "{}", files[1]);
        assert!(out.status.success());
    }
}

/// Issue 14, item 5: the PNG encoder's and the buffer's final writes were
/// dropped unchecked, so `--png /dev/full` said "wrote /dev/full".
#[test]
fn scatter_png_to_a_full_device_fails_naming_it() {
    let out = run(bin()
        .arg("scatter")
        .arg(fixture("tone1k_44k_stereo.mp3"))
        .args(["--png", "/dev/full"]));
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("/dev/full"), "{err}");
    assert!(!err.contains("wrote"), "{err}");
    // Still the device (a special file is written in place, never replaced).
    use std::os::unix::fs::FileTypeExt;
    assert!(
        std::fs::metadata("/dev/full")
            .unwrap()
            .file_type()
            .is_char_device()
    );
}

/// Issue 14, item 6: `--out x.json` wrote the array and then its sidecar
/// (`x.json` too) over it.
#[test]
fn scatter_out_refuses_a_sidecar_that_would_overwrite_the_array() {
    let dir = tmp("sidecar");
    let out = run(bin()
        .arg("scatter")
        .arg(fixture("tone1k_44k_stereo.mp3"))
        .arg("--out")
        .arg(dir.join("coeffs.json")));
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("coeffs.json") && err.contains("sidecar"),
        "{err}"
    );
    assert!(listing(&dir).is_empty(), "{:?}", listing(&dir));
}

/// A new user's trial: `scatter nope.wav` said "nope.wav: nope.wav: No such
/// file…" (`tag` names it once); a directory likewise.
#[test]
fn scatter_names_a_missing_file_or_a_directory_once() {
    let dir = tmp("missing");
    let missing = dir.join("nope.wav");
    for (input, words) in [
        (missing.as_path(), "No such file"),
        (&*dir, "is a directory"),
    ] {
        let out = run(bin()
            .arg("scatter")
            .arg(input)
            .arg("--out")
            .arg(dir.join("x.npy")));
        let err = stderr(&out);
        let shown = input.display().to_string();
        assert!(!out.status.success() && err.contains(words), "{err}");
        assert_eq!(err.matches(&shown).count(), 1, "{err}");
    }
}

/// `scatter --config feat.json --out feat.npy` replaced the configuration
/// with the sidecar, and `--out` or `--png` naming the audio replaced it.
#[test]
fn scatter_refuses_outputs_that_would_overwrite_its_inputs() {
    let dir = tmp("inputs");
    let audio = dir.join("song.mp3");
    std::fs::copy(fixture("tone1k_44k_stereo.mp3"), &audio).unwrap();
    let config = dir.join("feat.json");
    let default = scatterbrain::features::FeatureConfig::default();
    std::fs::write(&config, serde_json::to_string(&default).unwrap()).unwrap();
    let before = |p: &Path| std::fs::read(p).unwrap();
    let (audio0, config0) = (before(&audio), before(&config));
    for (flag, target, said) in [
        // Its sidecar is feat.json.
        (
            "--out",
            dir.join("feat.npy"),
            "the sidecar of --out (its name with .json)",
        ),
        ("--out", dir.join("./song.mp3"), "--out"), // another spelling of the audio
        ("--png", dir.join("song.mp3"), "--png"),
    ] {
        let out = run(bin()
            .arg("scatter")
            .arg(&audio)
            .arg("--config")
            .arg(&config)
            .arg(flag)
            .arg(&target));
        assert!(!out.status.success(), "{flag} {}", target.display());
        let err = stderr(&out);
        // Which output would overwrite which input, and what to rename.
        let input = if target.ends_with("feat.npy") {
            "the --config file"
        } else {
            "the audio file"
        };
        assert!(err.starts_with(&format!("error: {said}, ")), "{err}");
        assert!(err.contains(&format!("would overwrite {input}, ")), "{err}");
        assert!(
            err.contains(&format!("choose another name for {flag}")),
            "{err}"
        );
    }
    assert_eq!(before(&audio), audio0, "the audio was changed");
    assert_eq!(before(&config), config0, "the configuration was changed");
    assert_eq!(listing(&dir), ["feat.json", "song.mp3"]);
}

/// Issue 14, item 6: `scatter --out` wrote the .npy in place, so a write cut
/// short left a truncated array (its header claiming the full shape) where
/// the previous good file was.
#[test]
fn a_failed_or_interrupted_scatter_out_keeps_the_previous_files() {
    for ignore_signal in [false, true] {
        let dir = tmp(&format!("scatter-out-{ignore_signal}"));
        let (npy, json) = (dir.join("c.npy"), dir.join("c.json"));
        std::fs::write(&npy, "previous array").unwrap();
        std::fs::write(&json, "previous sidecar").unwrap();
        let out = run(limited(ignore_signal)
            .arg("scatter")
            .arg(fixture("tone1k_44k_stereo.mp3"))
            .arg("--out")
            .arg(&npy));
        assert!(!out.status.success());
        assert_eq!(std::fs::read_to_string(&npy).unwrap(), "previous array");
        assert_eq!(std::fs::read_to_string(&json).unwrap(), "previous sidecar");
        if ignore_signal {
            // An error, not a kill: it names the file and cleans up.
            let err = stderr(&out);
            assert!(err.contains("c.npy") || err.contains("c.json"), "{err}");
            assert_eq!(listing(&dir), ["c.json", "c.npy"]);
        }
    }
    // Without the limit both are replaced, and nothing else is left.
    let dir = tmp("scatter-out-ok");
    let npy = dir.join("c.npy");
    std::fs::write(&npy, "previous array").unwrap();
    let out = run(bin()
        .arg("scatter")
        .arg(fixture("tone1k_44k_stereo.mp3"))
        .arg("--out")
        .arg(&npy));
    assert!(out.status.success());
    assert_eq!(listing(&dir), ["c.json", "c.npy"]);
    assert!(std::fs::read(&npy).unwrap().starts_with(b"\x93NUMPY"));
    let meta: Value = serde_json::from_slice(&std::fs::read(dir.join("c.json")).unwrap()).unwrap();
    assert_eq!(meta["shape"][0], 644);
}

/// A new user's trial: `model info` printed a file whose weights are damaged
/// as if it were good (rc 0), while `tag` refused it.
#[test]
fn model_info_checks_the_weights_too() {
    let dir = tmp("info-weights");
    let model = dir.join("m.bpk");
    let init = run(bin()
        .args(["model", "init", "scat-1l-8h-gru", "--out"])
        .arg(&model));
    assert!(init.status.success());
    assert!(
        run(bin().args(["model", "info"]).arg(&model))
            .status
            .success()
    );
    // One byte of the last tensor's data.
    let mut bytes = std::fs::read(&model).unwrap();
    let at = bytes.len() - 100;
    bytes[at] ^= 0x40;
    std::fs::write(&model, &bytes).unwrap();
    for json in [false, true] {
        let mut cmd = bin();
        cmd.args(["model", "info"]).arg(&model);
        if json {
            cmd.arg("--json");
        }
        let out = run(&mut cmd);
        let err = stderr(&out);
        assert!(!out.status.success(), "json {json}: {err}");
        assert!(err.contains("m.bpk") && err.contains("weights"), "{err}");
    }
}

/// Issue 14, item 6: `model init` and `model convert` left `.NAME.tmp` behind
/// when the write failed.
#[test]
fn model_init_and_convert_leave_nothing_behind_when_the_write_fails() {
    let dir = tmp("model-write");
    let model = dir.join("m.bpk");
    assert!(
        run(bin()
            .args(["model", "init", "scat-1l-8h-gru", "--out"])
            .arg(&model))
        .status
        .success()
    );
    let before = std::fs::read(&model).unwrap();
    assert!(before.len() > 32 << 10, "bigger than the write limit");

    let out = run(limited(true)
        .args(["model", "init", "scat-1l-8h-gru", "--out"])
        .arg(dir.join("new.bpk")));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("new.bpk"), "{}", stderr(&out));
    // Converting a file onto itself: it keeps its old bytes.
    let out = run(limited(true)
        .args(["model", "convert", "--precision", "f16", "--out"])
        .arg(&model)
        .arg(&model));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("m.bpk"), "{}", stderr(&out));
    assert_eq!(listing(&dir), ["m.bpk"]);
    assert!(std::fs::read(&model).unwrap() == before);
}

/// Issue 14, item 7: `--device wgpu` on a machine without a display printed
/// "error: XDG_RUNTIME_DIR is invalid" four times (Mesa's Vulkan
/// device-select layer looking for a Wayland display), whether or not a
/// Vulkan device was then found. Either way the output has no such line now.
#[test]
fn wgpu_on_a_headless_machine_prints_no_display_errors() {
    let dir = tmp("headless");
    let model = dir.join("tiny.bpk");
    common::init_model(&model, "scat-1l-8h-gru", 5);
    let out = run(bin()
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("DISPLAY")
        .env_remove("NODEVICE_SELECT")
        .args(["tag", "--device", "wgpu", "--top", "3", "--model"])
        .arg(&model)
        .arg(fixture("tone500_48k_mono.flac")));
    let err = stderr(&out);
    assert!(!err.contains("XDG_RUNTIME_DIR"), "{err}");
    // With lavapipe (tests/run installs it) the file is tagged; without any
    // Vulkan device the message says what to install.
    assert!(
        out.status.success() || err.contains("no wgpu adapter"),
        "{err}"
    );
}

/// `model average`: the written weights are the element-wise mean of the
/// inputs', in any input precision; files of another configuration are
/// refused by name, and nothing is written then.
#[test]
fn model_average_writes_the_mean_and_refuses_other_configurations() {
    use burn::store::ModuleSnapshot;
    use scatterbrain::model::{self, Device};
    let dir = tmp("average");
    let (a, b, c) = (dir.join("a.bpk"), dir.join("b.bpk"), dir.join("c.bpk"));
    common::init_model(&a, "scat-1l-8h-gru", 1);
    common::init_model(&b, "scat-1l-8h-gru", 2);
    let average = |inputs: [&PathBuf; 2], out: &Path| {
        run(bin()
            .args(["model", "average"])
            .args(inputs)
            .arg("--out")
            .arg(out))
    };
    let mean = dir.join("mean.bpk");
    let out = average([&a, &b], &mean);
    assert!(out.status.success(), "{}", stderr(&out));
    let weights = |p: &Path| {
        let (tagger, meta) = model::load(&std::fs::read(p).unwrap(), &Device::flex()).unwrap();
        let w: Vec<(String, Vec<f32>)> = tagger
            .collect(None, None, false)
            .into_iter()
            .map(|t| (t.name.clone(), model::quant::f32s(&t).unwrap()))
            .collect();
        (w, meta)
    };
    let ((wa, _), (wb, _), (wm, meta)) = (weights(&a), weights(&b), weights(&mean));
    assert_eq!(wa.len(), wm.len());
    for (((na, va), (_, vb)), (nm, vm)) in wa.iter().zip(&wb).zip(&wm) {
        assert_eq!(na, nm);
        for ((x, y), m) in va.iter().zip(vb).zip(vm) {
            assert!((m - (x + y) / 2.0).abs() <= 1e-6 * (1.0 + m.abs()), "{na}");
        }
    }
    assert!(meta.metrics.extra["averaged_from"].is_array(), "{meta:?}");

    common::init_model(&c, "scat-1l-9h-gru", 3);
    let refused = dir.join("refused.bpk");
    let out = average([&a, &c], &refused);
    let err = stderr(&out);
    assert!(!out.status.success());
    assert!(
        err.contains("c.bpk") && err.contains("configuration"),
        "{err}"
    );
    assert!(!refused.exists());
}

/// Issue 14's precision: `scatter --precise` computes the scattering at its
/// reference precision (float64, within 1e-4 of the definition where the
/// default is within 1e-3): the sidecar says so, the array has the default's
/// shape and differs from it (another computation) by less than the two
/// bounds; other front ends refuse the flag.
#[test]
fn scatter_precise_writes_the_reference_precision_and_says_so() {
    let dir = tmp("scatter-precise");
    let mut arrays = Vec::new();
    for (name, precise) in [("fast", false), ("precise", true)] {
        let npy = dir.join(format!("{name}.npy"));
        let mut cmd = bin();
        cmd.arg("scatter")
            .arg(fixture("tone1k_44k_stereo.mp3"))
            .arg("--out")
            .arg(&npy);
        if precise {
            cmd.arg("--precise");
        }
        assert!(run(&mut cmd).status.success());
        let meta: Value =
            serde_json::from_slice(&std::fs::read(npy.with_extension("json")).unwrap()).unwrap();
        let precision = &meta["feature_config"]["front_end"]["precision"];
        assert_eq!(precision.as_str(), precise.then_some("reference"));
        let orders: Vec<u64> = meta["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["order"].as_u64().unwrap())
            .collect();
        let (shape, values) = read_npy(&dir, &format!("{name}.npy"));
        arrays.push((shape, orders, values));
    }
    let ((shape, orders, fast), (shape2, _, precise)) = (&arrays[0], &arrays[1]);
    assert_eq!(shape, shape2);
    let frames = shape[1] as usize;
    for order in 1..=2 {
        let rows = || (0..orders.len()).filter(|&r| orders[r] == order);
        let values = |a: &[f32]| {
            rows()
                .flat_map(|r| a[r * frames..(r + 1) * frames].to_vec())
                .collect::<Vec<f32>>()
        };
        let (f, p) = (values(fast), values(precise));
        let peak = p.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        // The default's error model (README, "Against the definition
        // itself"): 1e-3 relative (aliasing at its reduced rates) plus
        // float32's rounding floor, ~1e-5 of the order's peak. The floor
        // shows here: this file is looped to fill its window, a loud 1 kHz
        // tone beside an MP3's near-silent 7–8 kHz band, whose second order
        // near 3e-3 of the peak is 2e-3 off (6e-6 of the peak).
        let worst = f
            .iter()
            .zip(&p)
            .filter(|(_, p)| p.abs() >= 1e-3 * peak)
            .map(|(f, p)| (f - p).abs() / (1.1e-3 * p.abs() + 1e-5 * peak))
            .fold(0.0f32, |m, e| {
                if e.is_finite() {
                    m.max(e)
                } else {
                    f32::INFINITY
                }
            });
        // Differ (another computation), within the model.
        assert!(
            worst > 0.0 && worst <= 1.0,
            "order {order}: {worst} of the bound"
        );
    }

    let mel = dir.join("mel.json");
    let config = scatterbrain::features::FeatureConfig {
        front_end: scatterbrain::transform::FrontEndKind::Mel.default_config(),
        ..Default::default()
    };
    std::fs::write(&mel, serde_json::to_vec(&config).unwrap()).unwrap();
    let out = run(bin()
        .arg("scatter")
        .arg(fixture("tone1k_44k_stereo.mp3"))
        .args(["--precise", "--png"])
        .arg(dir.join("m.png"))
        .arg("--config")
        .arg(&mel));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--precise applies to the scattering"), "{err}");
}

/// Issue 14 (left by stop 37): `scatter` kept every window of a file, then
/// the stitched matrix, then the picture's values: an hour of mel frames took
/// 281 MB resident, ten hours would take 2.8 GB. Frames now go to the array and the
/// picture as they are settled: an hour of mel frames (225 000) in bounded
/// memory, with the array, its sidecar and the picture complete.
#[test]
fn scatter_of_a_long_file_takes_bounded_memory() {
    let dir = tmp("scatter-long");
    let wav = dir.join("hour.wav");
    let rate = 8_000u32;
    let samples: Vec<f32> = (0..3600 * rate as usize)
        .map(|i| 0.2 * (i as f32 * 0.31).sin() + 0.05 * ((i * 7919 % 1000) as f32 / 500.0 - 1.0))
        .collect();
    std::fs::write(
        &wav,
        common::wav::wav_bytes(rate, 1, common::wav::Sample::I16, &samples),
    )
    .unwrap();
    drop(samples);
    let config = dir.join("features.json");
    std::fs::write(
        &config,
        r#"{"front_end": {"kind": "mel", "sample_rate": 16000, "n_fft": 512, "hop": 256,
            "n_mels": 96, "f_min": 0.0, "f_max": 8000.0},
            "normaliser": {"eps1": 1e-4, "eps2": 1e-6, "log_eps": 1e-4,
            "standardise_orders": [0, 1, 2]},
            "window": {"min_seconds": 1.0, "seconds": 29.0}}"#,
    )
    .unwrap();
    let (npy, png) = (dir.join("mel.npy"), dir.join("mel.png"));
    // Its heap and other private memory limited to 100 MB (it needs ~50): a
    // kernel limit of the process itself, so nothing else counts.
    let out = run(Command::new("bash")
        .arg("-c")
        .arg("ulimit -c 0; ulimit -d 102400; exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_scatterbrain"))
        .arg("scatter")
        .arg(&wav)
        .arg("--config")
        .arg(&config)
        .arg("--out")
        .arg(&npy)
        .arg("--png")
        .arg(&png));
    assert!(out.status.success(), "scatter failed in 100 MB of memory");
    let (shape, values) = read_npy::<f32>(&dir, "mel.npy");
    let meta: Value =
        serde_json::from_slice(&std::fs::read(dir.join("mel.json")).unwrap()).unwrap();
    let times: Vec<f64> = serde_json::from_value(meta["frame_times_s"].clone()).unwrap();
    // A frame every 256 samples; each 29 s window's grid starts on the window.
    let frames = times.len();
    assert!((225_000..225_125).contains(&frames), "{frames} frames");
    assert!(times.windows(2).all(|t| t[1] > t[0]) && *times.last().unwrap() < 3600.0);
    assert_eq!(shape, [96, frames as u64]);
    assert_eq!(meta["shape"], serde_json::json!([96, frames]));
    assert!(values.iter().all(|v| v.is_finite()));
    let header = std::fs::read(&png).unwrap();
    let width = u32::from_be_bytes(header[16..20].try_into().unwrap());
    assert!((5_000..=8192).contains(&width), "picture {width} px wide");
}

/// A FIFO given to `--out` cannot be seeked back into: the array is built
/// in memory and written whole, the same bytes as into a file.
#[test]
fn scatter_out_into_a_fifo_writes_the_same_array() {
    let dir = tmp("scatter-fifo");
    let (file, fifo) = (dir.join("file.npy"), dir.join("fifo.npy"));
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let reader = std::thread::spawn({
        let fifo = fifo.clone();
        move || std::fs::read(fifo).unwrap()
    });
    let song = fixture("tone1k_44k_stereo.mp3");
    let out = run(bin().arg("scatter").arg(&song).arg("--out").arg(&fifo));
    assert!(out.status.success());
    let piped = reader.join().unwrap();
    assert!(
        run(bin().arg("scatter").arg(&song).arg("--out").arg(&file))
            .status
            .success()
    );
    assert_eq!(piped, std::fs::read(&file).unwrap());
}

/// `cmd` (the binary, or a wrapper that runs it) scattering `seconds` of
/// `dir/long.wav` into `dir/c.npy`, returned once its temporary array exists
/// (the analysis has begun). Its SIGINT, SIGTERM and SIGHUP start at their
/// defaults, whatever this test inherited (a test run started in the
/// background by a script ignores SIGINT, and so would the command).
fn scatter_midway(cmd: &mut Command, dir: &Path, seconds: f64) -> std::process::Child {
    use std::os::unix::process::CommandExt;
    let wav = dir.join("long.wav");
    common::tone_wav(&wav, seconds);
    // SAFETY: only `signal`, which is async-signal-safe, between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            for s in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                libc::signal(s, libc::SIG_DFL);
            }
            Ok(())
        });
    }
    let child = cmd
        .arg("scatter")
        .arg(&wav)
        .arg("--out")
        .arg(dir.join("c.npy"))
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while !listing(dir).iter().any(|n| n.ends_with(".tmp")) {
        assert!(start.elapsed().as_secs() < 60, "no temporary file appeared");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child
}

/// `scatter --out` streams the array into its temporary file while it
/// analyses, so that file lives as long as the run: Ctrl-C or SIGTERM midway
/// removes it (and keeps the previous array), instead of leaving a hidden
/// file of up to hundreds of MB beside the target, and the command ends by
/// that signal, so that its parent knows which one it was.
#[test]
fn an_interrupted_scatter_leaves_no_temporary_file() {
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        let dir = tmp(&format!("scatter-interrupt-{signal}"));
        let npy = dir.join("c.npy");
        std::fs::write(&npy, "previous array").unwrap();
        let mut child = scatter_midway(&mut bin(), &dir, 1200.0);
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, signal) }, 0);
        let status = child.wait().unwrap();
        // Ended by the signal itself, as if unhandled (a shell says 128 + n).
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(signal), "{status:?}");
        assert_eq!(listing(&dir), ["c.npy", "long.wav"], "signal {signal}");
        assert_eq!(std::fs::read_to_string(&npy).unwrap(), "previous array");
    }
    // Started ignoring SIGHUP (`nohup`): it stays ignored, the run finishes.
    let dir = tmp("scatter-nohup");
    let mut nohup = Command::new("bash");
    nohup
        .arg("-c")
        .arg("trap '' HUP; exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_scatterbrain"));
    let mut child = scatter_midway(&mut nohup, &dir, 600.0);
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGHUP) },
        0
    );
    assert!(
        child.wait().unwrap().success(),
        "a SIGHUP it ignored ended it"
    );
    assert_eq!(listing(&dir), ["c.json", "c.npy", "long.wav"]);
}

/// The array `scatter --out` streams is the pipeline's coefficients joined by
/// `stitch` (what the page shows), value for value and frame for frame, over
/// several windows and the end-aligned last one.
#[test]
fn scatter_out_holds_the_stitched_coefficients() {
    use scatterbrain::decode::AudioReader;
    use scatterbrain::features::{FeatureConfig, Features};
    use scatterbrain::pipeline::{Form, Pipeline, stitch};
    let dir = tmp("scatter-values");
    let wav = dir.join("70s.wav");
    common::tone_wav(&wav, 70.0);
    let npy = dir.join("c.npy");
    assert!(
        run(bin().arg("scatter").arg(&wav).arg("--out").arg(&npy))
            .status
            .success()
    );
    let (shape, values) = read_npy::<f32>(&dir, "c.npy");
    let meta: Value = serde_json::from_slice(&std::fs::read(dir.join("c.json")).unwrap()).unwrap();
    let mut features = Features::new(FeatureConfig::default());
    let mut reader = AudioReader::open(&wav).unwrap();
    let info = reader.info();
    let mut pipeline =
        Pipeline::new(&features, Form::Raw, info.sample_rate, info.channels).unwrap();
    let mut windows = Vec::new();
    while let Some(pcm) = reader.next_packet().unwrap() {
        pipeline
            .push(&mut features, None, pcm, |w| windows.push(w))
            .unwrap();
    }
    pipeline
        .finish(&mut features, None, |w| windows.push(w))
        .unwrap();
    assert_eq!(windows.len(), 3, "two windows of 29 s and one end-aligned");
    let (c, times) = stitch(&windows, features.hop(), features.sample_rate());
    assert_eq!(shape, [c.rows as u64, c.frames as u64]);
    assert!(
        values == c.data,
        "the array differs from the stitched coefficients"
    );
    assert_eq!(meta["frame_times_s"], serde_json::json!(times));
}

/// A new user's trial, round 2: `--out -` is standard output, and
/// `/dev/stdout` (a link to a pipe no path opens) works too; standard
/// output, devices and pipes get no sidecar beside them (`--out /dev/null`
/// wrote `/dev/null.json`) unless `--sidecar` names one.
#[test]
fn scatter_out_to_standard_output_and_devices() {
    let dir = tmp("scatter-stdout");
    let song = fixture("tone1k_44k_stereo.mp3");
    let file = dir.join("file.npy");
    assert!(
        run(bin().arg("scatter").arg(&song).arg("--out").arg(&file))
            .status
            .success()
    );
    let expected = std::fs::read(&file).unwrap();
    for out in ["-", "/dev/stdout"] {
        let got = run(bin()
            .arg("scatter")
            .arg(&song)
            .args(["--out", out])
            .stdout(std::process::Stdio::piped()));
        assert!(got.status.success(), "--out {out}: {}", stderr(&got));
        assert_eq!(got.stdout, expected, "--out {out}");
        assert!(stderr(&got).contains("no sidecar"), "{}", stderr(&got));
    }
    // /dev/stdout into a file (a `>` redirection), and /dev/null: no
    // sidecar in /dev.
    let leaks = ["/dev/null.json", "/dev/stdout.json"];
    let redirected = dir.join("redirected.npy");
    for (out, stdout) in [
        ("/dev/stdout", std::fs::File::create(&redirected).unwrap()),
        (
            "/dev/null",
            std::fs::File::create(dir.join("ignored")).unwrap(),
        ),
    ] {
        leaks.iter().for_each(|p| drop(std::fs::remove_file(p)));
        let got = run(bin()
            .arg("scatter")
            .arg(&song)
            .args(["--out", out])
            .stdout(stdout));
        let leaked: Vec<_> = leaks.iter().filter(|p| Path::new(p).exists()).collect();
        leaks.iter().for_each(|p| drop(std::fs::remove_file(p)));
        assert!(got.status.success(), "{out}: {}", stderr(&got));
        assert!(leaked.is_empty(), "--out {out} wrote {leaked:?}");
    }
    assert_eq!(std::fs::read(&redirected).unwrap(), expected);
    // --sidecar: standard output's array with its sidecar in a file, and a
    // file's sidecar elsewhere.
    let side = dir.join("side.json");
    let got = run(bin()
        .arg("scatter")
        .arg(&song)
        .args(["--out", "-", "--sidecar"])
        .arg(&side));
    assert!(got.status.success());
    assert_eq!(got.stdout, expected);
    let meta: Value = serde_json::from_slice(&std::fs::read(&side).unwrap()).unwrap();
    assert_eq!(
        meta["shape"][1].as_u64().unwrap() as usize,
        meta["frame_times_s"].as_array().unwrap().len()
    );
}

/// Stop 41: `--out -` with standard output on a terminal wrote the binary
/// array to the screen. A terminal (standard output or a named one) is
/// refused for the array and the picture, before any work; `script` gives
/// the command a pseudo-terminal, as a user's shell would.
#[test]
fn scatter_refuses_to_write_binary_to_a_terminal() {
    let song = fixture("tone1k_44k_stereo.mp3");
    let exe = env!("CARGO_BIN_EXE_scatterbrain");
    for (args, option) in [("--out -", "--out"), ("--png /dev/tty", "--png")] {
        let command = format!("'{exe}' scatter '{}' {args}", song.display());
        let got = run(std::process::Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .stdin(std::process::Stdio::null()));
        // What the pseudo-terminal showed: the message, no array.
        let shown = String::from_utf8_lossy(&got.stdout);
        assert!(!got.status.success(), "{args}: {shown}");
        assert!(
            shown.contains(option) && shown.contains("is a terminal, and the output is binary"),
            "{args}: {shown}"
        );
        assert!(
            !shown.contains("NUMPY"),
            "{args}: the array reached the terminal"
        );
    }
}

/// Round 2: `--batch 0` panicked (a division by zero in `train`, a zero
/// chunk size in `eval`) with a backtrace, leaving a half-made run folder.
#[test]
fn a_zero_batch_is_an_argument_error() {
    let dir = tmp("batch-zero");
    let out_dir = dir.join("run");
    for args in [
        vec![
            "train",
            "--manifest",
            "m.csv",
            "--out",
            out_dir.to_str().unwrap(),
            "--batch",
            "0",
        ],
        vec!["eval", "m.bpk", "--manifest", "m.csv", "--batch", "0"],
    ] {
        let out = run(bin().args(&args).current_dir(&dir));
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let e = stderr(&out);
        assert!(
            e.contains("--batch") && e.contains("at least 1") && !e.contains("panicked"),
            "{e}"
        );
    }
    assert!(!out_dir.exists());
}

/// Round 2: `--front-end` took only a file, and a whole configuration
/// (`scatter --config` takes part of one); a model could be named `scat-…`
/// over a mel front end.
#[test]
fn model_init_front_end_inline_partial_and_checked() {
    let dir = tmp("front-end");
    let init = |name: &str, fe: &str| {
        let m = dir.join("m.bpk");
        let _ = std::fs::remove_file(&m);
        let out = run(bin()
            .args(["model", "init", name, "--front-end", fe, "--out"])
            .arg(&m));
        let info = out.status.success().then(|| {
            let o = run(bin().args(["model", "info", "--json"]).arg(&m));
            serde_json::from_slice::<Value>(&o.stdout).unwrap()
        });
        (info, stderr(&out))
    };
    // Inline and partial: the kind is the name's, the rest the defaults.
    let (info, _) = init("mel-1l-8h-gru", r#"{"front_end": {"n_mels": 64}}"#);
    let info = info.expect("inline partial JSON");
    assert_eq!(info["front_end"]["front_end"]["kind"], "mel");
    assert_eq!(info["front_end"]["front_end"]["n_mels"], 64);
    let q4 = dir.join("q4.json");
    std::fs::write(&q4, r#"{"front_end": {"q1": 4}}"#).unwrap();
    let (info, _) = init("scat-1l-8h-gru", q4.to_str().unwrap());
    let info = info.expect("partial file");
    assert_eq!(info["front_end"]["front_end"]["q1"], 4);
    assert_eq!(info["front_end"]["front_end"]["t"], 8192);
    // A name that contradicts the front end, and bad values, are refused.
    let (info, e) = init("scat-1l-8h-gru", r#"{"front_end": {"kind": "mel"}}"#);
    assert!(
        info.is_none() && e.contains("mel front end") && e.contains("scat-1l-8h-gru"),
        "{e}"
    );
    let (info, e) = init("scat-1l-8h-gru", r#"{"front_end": {"q1": 0}}"#);
    assert!(info.is_none() && e.contains("q1"), "{e}");
    // `convert` says what it wrote, as `init` and `average` do.
    let (info, _) = init("scat-1l-8h-gru", "{}");
    assert!(info.is_some());
    let out = run(bin()
        .args(["model", "convert", "--precision", "int8", "--out"])
        .arg(dir.join("c.bpk"))
        .arg(dir.join("m.bpk")));
    assert!(
        out.status.success() && stderr(&out).contains("wrote"),
        "{}",
        stderr(&out)
    );
}
