//! The byte source, watched: whether the medium failed a read (a failing
//! disk), whether any byte came at all, and the last bytes read (an Ogg
//! file's end tells whether it is whole: `ogg_end`).

use crate::error::AudioError;
use std::io::{Read, Seek};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use symphonia::core::io::MediaSource;

/// What [`Watched`] saw of the byte source.
#[derive(Default)]
pub(super) struct Medium {
    /// The first read error (the medium's, not the data's).
    pub(super) failed: OnceLock<String>,
    /// Whether any byte was read.
    pub(super) got: AtomicBool,
    /// The last bytes read since the last seek, up to [`TAIL`] (more
    /// between trims); `None` once known not to be needed (not an Ogg).
    tail: Mutex<Option<Vec<u8>>>,
}

/// The tail kept: an Ogg page, the largest there is, and a little more.
const TAIL: usize = super::ogg_end::MAX_PAGE + 1024;

impl Medium {
    pub(super) fn has_failed(&self) -> bool {
        self.failed.get().is_some()
    }

    /// Whether the bytes read so far end as a whole Ogg file does (see
    /// `ogg_end::closes`; `None`: not judged, or not an Ogg).
    pub(super) fn ogg_closes(&self) -> Option<bool> {
        super::ogg_end::closes(self.tail.lock().ok()?.as_ref()?)
    }

    /// Stop keeping the last bytes read: the source is not an Ogg file (known
    /// once probed; until then every byte is kept, since a small file may be
    /// read whole while probing).
    pub(super) fn not_ogg(&self) {
        if let Ok(mut tail) = self.tail.lock() {
            *tail = None;
        }
    }

    fn keep(&self, bytes: &[u8]) {
        if let Ok(mut guard) = self.tail.lock()
            && let Some(tail) = guard.as_mut()
        {
            tail.extend_from_slice(bytes);
            // Trimmed at twice the size kept: a copy per TAIL bytes read.
            if tail.len() > 2 * TAIL {
                let cut = tail.len() - TAIL;
                tail.drain(..cut);
            }
        }
    }

    /// The read error, placed by `when` ("after 1.00 s of audio").
    pub(super) fn error(&self, when: &str) -> AudioError {
        let why = self.failed.get().map_or("", String::as_str);
        AudioError::Io(format!("read error {when}: {why}"))
    }
}

/// The byte source, watched for read errors: symphonia reports damaged data
/// as I/O errors too ("unexpected end of bitstream"), and only a failure
/// seen here is the medium's (a failing disk), not the file's.
pub(super) struct Watched {
    inner: Box<dyn MediaSource>,
    medium: Arc<Medium>,
}

impl Watched {
    /// `inner`, watched, and what will be seen of it.
    pub(super) fn new(inner: Box<dyn MediaSource>) -> (Self, Arc<Medium>) {
        let medium = Arc::new(Medium {
            tail: Mutex::new(Some(Vec::new())),
            ..Medium::default()
        });
        let watched = Watched {
            inner,
            medium: medium.clone(),
        };
        (watched, medium)
    }
}

impl Read for Watched {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                if n > 0 {
                    self.medium.got.store(true, Ordering::Relaxed);
                    self.medium.keep(&buf[..n]);
                }
                Ok(n)
            }
            Err(e) => {
                if e.kind() != std::io::ErrorKind::Interrupted {
                    let _ = self.medium.failed.set(e.to_string());
                }
                Err(e)
            }
        }
    }
}

impl Seek for Watched {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        // The tail is of contiguous bytes (symphonia reads an Ogg's last
        // page for its length, then goes back to its start).
        if let Ok(mut guard) = self.medium.tail.lock()
            && let Some(tail) = guard.as_mut()
        {
            tail.clear();
        }
        self.inner.seek(pos)
    }
}

impl MediaSource for Watched {
    fn is_seekable(&self) -> bool {
        self.inner.is_seekable()
    }

    fn byte_len(&self) -> Option<u64> {
        self.inner.byte_len()
    }
}
