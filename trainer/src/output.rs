//! Every file the CLI writes (arrays, sidecars, pictures, model files,
//! checkpoints, the feature cache) goes through here: it is written to a
//! temporary file in the same folder, flushed and synced, then renamed over
//! the target. A reader never sees half a file, a failed or interrupted write
//! keeps the previous file, and a failed write removes its temporary file.
//! Errors name the target. Temporary files can live long (`scatter --out`
//! streams the array while it analyses): an interruption (Ctrl-C, SIGTERM,
//! SIGHUP; see [`remove_on_interrupt`]) removes them too; only a kill that
//! runs no code (SIGKILL, the OOM killer) can leave one behind.

use anyhow::{Context, Result, bail};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

/// The temporary files being written now.
static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn live() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    // A panic while holding the lock leaves a list that is still right.
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

fn forget(tmp: &Path) {
    live().retain(|p| p != tmp);
}

/// On Ctrl-C, SIGTERM or SIGHUP: remove the temporary files being written,
/// then end by that signal as if unhandled (its default action, so a shell
/// reports 130, 143 or 129 and a parent sees which signal it was). Called
/// once, by `main`. A signal the process was started ignoring stays ignored
/// (`nohup` ignores SIGHUP, a shell script's background jobs SIGINT: a long
/// training run started so must not end when the terminal closes).
pub fn remove_on_interrupt() -> Result<()> {
    let watched: Vec<libc::c_int> = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP]
        .into_iter()
        .filter(|&s| !is_ignored(s))
        .collect();
    let mut signals =
        signal_hook::iterator::Signals::new(&watched).context("setting the interrupt handler")?;
    // The handler only wakes this thread, which may then take locks and
    // remove files (neither is allowed inside a signal handler).
    std::thread::Builder::new()
        .name("interrupt".into())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                // Held until the end: no new temporary file can start
                // between the clean-up and the exit.
                let mut live = live();
                for tmp in live.drain(..) {
                    let _ = std::fs::remove_file(tmp);
                }
                let _ = signal_hook::low_level::emulate_default_handler(signal);
                std::process::exit(128 + signal);
            }
        })
        .context("starting the interrupt handler")?;
    Ok(())
}

fn is_ignored(signal: libc::c_int) -> bool {
    // SAFETY: a null new action only reads the current one into `old`.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signal, std::ptr::null(), &mut old) == 0
            && old.sa_sigaction == libc::SIG_IGN
    }
}

/// A file written to its temporary name, not yet renamed into place. Dropped
/// without [`Staged::commit`] (an error, a panic), it removes its temporary
/// file.
#[must_use = "nothing is in place until commit"]
pub struct Staged {
    /// `None` for a special file (device, FIFO), written in place.
    tmp: Option<PathBuf>,
    path: PathBuf,
}

impl Staged {
    /// Rename into place (atomic on one file system).
    pub fn commit(mut self) -> Result<()> {
        if let Some(tmp) = self.tmp.take() {
            let renamed = std::fs::rename(&tmp, &self.path);
            forget(&tmp);
            if let Err(e) = renamed {
                let _ = std::fs::remove_file(&tmp);
                return Err(e).with_context(|| format!("writing {}", self.path.display()));
            }
            // Make the rename itself durable; not all file systems can.
            if let Some(dir) = self
                .path
                .parent()
                .and_then(|d| File::open(dir_or_dot(d)).ok())
            {
                let _ = dir.sync_all();
            }
        }
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let Some(tmp) = &self.tmp {
            let _ = std::fs::remove_file(tmp);
            forget(tmp);
        }
    }
}

fn dir_or_dot(dir: &Path) -> &Path {
    if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    }
}

/// A file being written: into its temporary file (or, for a device or FIFO,
/// in place), for commands that write while they compute.
pub struct Writing {
    w: BufWriter<File>,
    staged: Staged,
    /// The path as given, for messages ([`shown`]).
    shown: String,
}

impl Writing {
    pub fn writer(&mut self) -> &mut BufWriter<File> {
        &mut self.w
    }

    /// A device or FIFO, written in place: no seeking back.
    pub fn in_place(&self) -> bool {
        self.staged.tmp.is_none()
    }

    /// Flush and sync; [`Staged::commit`] puts it in place.
    pub fn finish(self) -> Result<Staged> {
        let Writing { w, staged, shown } = self;
        (|| -> Result<()> {
            let file = w.into_inner().map_err(|e| e.into_error())?;
            if staged.tmp.is_some() {
                file.sync_all()?;
            }
            Ok(())
        })()
        .with_context(|| format!("writing {shown}"))?;
        Ok(staged)
    }
}

/// Start writing `path`'s new contents (see [`Writing`]).
pub fn begin(path: &Path) -> Result<Writing> {
    begin_inner(path).with_context(|| format!("writing {}", shown(path)))
}

/// Write `path`'s new contents with `fill` into a temporary file beside it,
/// flushed and synced; [`Staged::commit`] puts it in place. Lets a command
/// write several files before replacing any of them.
pub fn stage(path: &Path, fill: impl FnOnce(&mut BufWriter<File>) -> Result<()>) -> Result<Staged> {
    let mut writing = begin(path)?;
    fill(writing.writer()).with_context(|| format!("writing {}", shown(path)))?;
    writing.finish()
}

/// Whether `path` is written in place: `-` (standard output), anything
/// under /dev (but /dev/shm's files) or /proc (whatever /dev/stdout leads
/// to: a pipe, a terminal or a redirected file), a device or a FIFO, which
/// cannot be replaced (and have no folder for a sidecar).
pub fn is_stream(path: &Path) -> bool {
    to_stdout(path)
        || (path.starts_with("/dev") && !path.starts_with("/dev/shm"))
        || path.starts_with("/proc")
        || std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

/// Whether writing `path` would reach a terminal: binary output there is
/// garbage on the screen (and can upset the terminal), so callers refuse it.
pub fn is_terminal(path: &Path) -> bool {
    use std::io::IsTerminal;
    if to_stdout(path) {
        return std::io::stdout().is_terminal();
    }
    // A character device (/dev/tty, /dev/pts/N): opened only to ask, without
    // waiting (a serial line) or becoming our controlling terminal.
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    std::fs::metadata(path).is_ok_and(|m| m.file_type().is_char_device())
        && std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(path)
            .is_ok_and(|f| f.is_terminal())
}

/// An output's name in messages: `-` is standard output.
pub fn shown(path: &Path) -> String {
    if path == Path::new("-") {
        "standard output".into()
    } else {
        path.display().to_string()
    }
}

/// `-` and the names of standard output: written through its descriptor,
/// so a `>>` redirection appends and a pipe (which no path opens) works.
fn to_stdout(path: &Path) -> bool {
    ["-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"]
        .iter()
        .any(|p| path == Path::new(p))
}

fn begin_inner(path: &Path) -> Result<Writing> {
    let in_place = |file: File| Writing {
        w: BufWriter::new(file),
        staged: Staged {
            tmp: None,
            path: path.to_path_buf(),
        },
        shown: shown(path),
    };
    if to_stdout(path) {
        // Through a duplicate of its descriptor.
        use std::os::fd::AsFd;
        let fd = std::io::stdout().as_fd().try_clone_to_owned()?;
        return Ok(in_place(File::from(fd)));
    }
    let existing = std::fs::metadata(path).ok();
    if existing.as_ref().is_some_and(|m| m.is_dir()) {
        bail!("it is a folder");
    }
    if is_stream(path) {
        // A device, a FIFO, or anything under /dev or /proc: written by the
        // name given, never replaced.
        return Ok(in_place(
            std::fs::OpenOptions::new().write(true).open(path)?,
        ));
    }
    // Replace what a symbolic link points to, not the link.
    let target = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(path)?,
        _ => path.to_path_buf(),
    };
    let Some(name) = target.file_name() else {
        bail!("not a file path");
    };
    // Unique per process and call: concurrent writers never share one.
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let tmp = target.with_file_name(format!(
        ".{}.{}-{}.tmp",
        name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    // Listed before it exists: an interruption between the two removes
    // nothing, or the new file, never leaves it.
    live().push(tmp.clone());
    let file = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
    {
        Ok(f) => f,
        Err(e) => {
            forget(&tmp);
            return Err(e.into());
        }
    };
    // From here on, dropping `staged` removes the temporary file.
    let staged = Staged {
        tmp: Some(tmp),
        path: target,
    };
    if let Some(m) = &existing {
        // Keep the replaced file's permissions.
        let _ = file.set_permissions(m.permissions());
    }
    Ok(Writing {
        w: BufWriter::new(file),
        staged,
        shown: shown(path),
    })
}

/// Write `path` atomically with `fill`.
pub fn write_with(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<File>) -> Result<()>,
) -> Result<()> {
    stage(path, fill)?.commit()
}

/// Write `bytes` to `path` atomically.
pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    write_with(path, |w| Ok(w.write_all(bytes)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh folder, removed when the test ends.
    fn dir(name: &str) -> tempfile::TempDir {
        tempfile::Builder::new()
            .prefix(&format!("sb-output-{name}-"))
            .tempdir()
            .unwrap()
    }

    fn names(d: &Path) -> Vec<String> {
        let mut v: Vec<_> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn replaces_on_success_and_keeps_the_old_file_on_error() {
        let d_ = dir("replace");
        let d = d_.path();
        let p = d.join("a.bin");
        write(&p, b"one").unwrap();
        write(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let err = write_with(&p, |w| {
            w.write_all(b"half")?;
            bail!("the encoder failed")
        })
        .unwrap_err();
        assert!(format!("{err:#}").contains("a.bin"), "{err:#}");
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(names(d), ["a.bin"]);
        // Staged but never committed: nothing changes.
        drop(stage(&p, |w| Ok(w.write_all(b"three")?)).unwrap());
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(names(d), ["a.bin"]);
    }

    #[test]
    fn errors_name_the_file() {
        let d_ = dir("errors");
        let d = d_.path();
        let err = write(&d.join("missing/x.npy"), b"x").unwrap_err();
        assert!(format!("{err:#}").contains("missing/x.npy"), "{err:#}");
        let err = write(d, b"x").unwrap_err();
        assert!(format!("{err:#}").contains("folder"), "{err:#}");
        let err = write(Path::new("/dev/full"), b"x").unwrap_err();
        assert!(format!("{err:#}").contains("/dev/full"), "{err:#}");
    }

    #[test]
    fn a_symbolic_link_keeps_pointing_at_the_new_contents() {
        let d_ = dir("link");
        let d = d_.path();
        let real = d.join("real.json");
        write(&real, b"old").unwrap();
        std::os::unix::fs::symlink(&real, d.join("link.json")).unwrap();
        write(&d.join("link.json"), b"new").unwrap();
        assert!(
            std::fs::symlink_metadata(d.join("link.json"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read(&real).unwrap(), b"new");
    }
}
