//! Per-window features joined into one time line, at once ([`stitch`]) or as
//! the windows arrive ([`Stitcher`], in the memory of one window however long
//! the stream).

use super::WindowFeatures;
use crate::transform::Coefficients;
use std::borrow::Borrow;

/// Joins windows given in stream order. Windows follow each other; where an
/// end-aligned last window overlaps its predecessor, each side keeps the half
/// of the overlap nearer its own centre (frames near a window's edge see
/// padding). A frame is handed on once no later window can replace it, so
/// one window is held back until the next one (or [`Stitcher::finish`]).
/// Windows are taken owned or borrowed (`W` = `&WindowFeatures`).
pub struct Stitcher<W = WindowFeatures> {
    hop: usize,
    /// The held-back window and its first kept sample.
    pending: Option<(W, u64)>,
    column: Vec<f32>,
}

impl<W: Borrow<WindowFeatures>> Stitcher<W> {
    pub fn new(hop: usize) -> Self {
        Stitcher {
            hop,
            pending: None,
            column: Vec::new(),
        }
    }

    /// Add the next window; `frame(column, sample)` gets each frame it
    /// settles: its coefficients (one per row) and its centre, in samples at
    /// the front end's rate. Windows overlap at most their predecessor (as
    /// the windower cuts them).
    pub fn push<E>(
        &mut self,
        w: W,
        frame: impl FnMut(&[f32], u64) -> Result<(), E>,
    ) -> Result<(), E> {
        let start = w.borrow().start;
        let from = match self.pending.as_ref().map(|(p, _)| p.borrow()) {
            Some(p) => {
                debug_assert!(p.start < start, "windows must come in stream order");
                let end = p.start + p.valid as u64;
                if start < end {
                    (start + end) / 2
                } else {
                    start
                }
            }
            None => start,
        };
        match self.pending.replace((w, from)) {
            Some((p, p_from)) => self.emit(p.borrow(), p_from, from, frame),
            None => Ok(()),
        }
    }

    /// End of the stream: the held-back window's frames.
    pub fn finish<E>(mut self, frame: impl FnMut(&[f32], u64) -> Result<(), E>) -> Result<(), E> {
        match self.pending.take() {
            Some((p, from)) => self.emit(p.borrow(), from, u64::MAX, frame),
            None => Ok(()),
        }
    }

    /// `w`'s frames centred in `[from, to)`.
    fn emit<E>(
        &mut self,
        w: &WindowFeatures,
        from: u64,
        to: u64,
        mut frame: impl FnMut(&[f32], u64) -> Result<(), E>,
    ) -> Result<(), E> {
        let c = &w.coefficients;
        // A looped short input: only frames over real audio.
        let usable = c.frames.min(w.valid.div_ceil(self.hop).max(1));
        for f in 0..usable {
            let t = w.start + (f * self.hop) as u64;
            if t >= from && t < to {
                self.column.clear();
                self.column
                    .extend((0..c.rows).map(|r| c.data[r * c.frames + f]));
                frame(&self.column, t)?;
            }
        }
        Ok(())
    }
}

/// [`Stitcher`] over a whole list of windows: the matrix (rows × frames) and
/// the time (s) of each frame. Two passes over the windows (the frame count,
/// then the values), so that the matrix is the only copy made.
pub fn stitch(
    windows: &[WindowFeatures],
    hop: usize,
    sample_rate: u32,
) -> (Coefficients, Vec<f64>) {
    let rows = windows.first().map_or(0, |w| w.coefficients.rows);
    let mut times = Vec::new();
    each_frame(windows, hop, |_, t| {
        times.push(t as f64 / f64::from(sample_rate))
    });
    let frames = times.len();
    let mut data = vec![0.0f32; rows * frames];
    let mut f = 0;
    each_frame(windows, hop, |column, _| {
        for (r, &v) in column.iter().enumerate() {
            data[r * frames + f] = v;
        }
        f += 1;
    });
    (Coefficients { rows, frames, data }, times)
}

fn each_frame(windows: &[WindowFeatures], hop: usize, mut frame: impl FnMut(&[f32], u64)) {
    let mut add = |column: &[f32], t: u64| -> Result<(), std::convert::Infallible> {
        frame(column, t);
        Ok(())
    };
    let mut stitcher = Stitcher::new(hop);
    for w in windows {
        let Ok(()) = stitcher.push(w, &mut add);
    }
    let Ok(()) = stitcher.finish(&mut add);
}
