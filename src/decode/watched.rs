//! The byte source, watched: whether the medium failed a read (a failing
//! disk) and whether any byte came at all.

use crate::error::AudioError;
use std::io::{Read, Seek};
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use symphonia::core::io::MediaSource;

/// What [`Watched`] saw of the byte source.
#[derive(Default)]
pub(super) struct Medium {
    /// The first read error (the medium's, not the data's).
    pub(super) failed: OnceLock<String>,
    /// Whether any byte was read.
    pub(super) got: AtomicBool,
}

impl Medium {
    pub(super) fn has_failed(&self) -> bool {
        self.failed.get().is_some()
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
        let medium = Arc::new(Medium::default());
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
