//! Whether an Ogg file ends as a whole one does: with the page that closes
//! its stream (flag 4). No header states an Ogg stream's length, and
//! symphonia ends quietly on a file cut between two pages in some cases (a
//! chained stream cut right after its header pages: its whole audio lost).
//! The page's `oggCut()` (www/package/sniff.js) judges the files only the
//! browser decodes (Opus) by the same rule.

use symphonia::core::checksum::Crc32;
use symphonia::core::io::Monitor;

/// The most bytes an Ogg page takes (a 27-byte header, 255 lacing values
/// of 255 bytes each): the tail to keep to see the last page whole.
pub(super) const MAX_PAGE: usize = 27 + 255 + 255 * 255;

/// Whether `tail`, the last bytes of an Ogg file, ends with the page that
/// closes its stream: `Some(false)` when its last whole page (one whose
/// checksum holds: `OggS` may also occur inside a packet) does not close
/// it, or is followed by a page cut short; `None` when no whole page is
/// found in it (not Ogg, or damaged: not judged).
pub(super) fn closes(tail: &[u8]) -> Option<bool> {
    let (at, len) = (0..tail.len().saturating_sub(26))
        .rev()
        .find_map(|at| Some((at, page_len(tail, at)?)))?;
    let end = at + len;
    if end == tail.len() {
        Some(tail[at + 5] & 4 != 0)
    } else {
        // Not a page after it: junk, not judged.
        tail[end..].starts_with(b"OggS").then_some(false)
    }
}

/// The length of the Ogg page at `at` in `b`, if it is whole and its
/// checksum (CRC-32, polynomial 0x04c11db7, over the page with its checksum
/// field zeroed) holds.
fn page_len(b: &[u8], at: usize) -> Option<usize> {
    let head = b.get(at..at + 27)?;
    if &head[..4] != b"OggS" || head[4] != 0 {
        return None;
    }
    let segments = usize::from(head[26]);
    let lacing = b.get(at + 27..at + 27 + segments)?;
    let len = 27 + segments + lacing.iter().map(|&l| usize::from(l)).sum::<usize>();
    let page = b.get(at..at + len)?;
    let mut crc = Crc32::new(0);
    crc.process_buf_bytes(&page[..22]);
    crc.process_buf_bytes(&[0; 4]);
    crc.process_buf_bytes(&page[26..]);
    let stated = u32::from_le_bytes([page[22], page[23], page[24], page[25]]);
    (crc.crc() == stated).then_some(len)
}

#[cfg(test)]
mod tests {
    use super::closes;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(
            crate::test_support::manifest_dir()
                .join("tests/fixtures/audio")
                .join(name),
        )
        .unwrap()
    }

    /// Where each page of a whole Ogg file begins and ends.
    fn pages(b: &[u8]) -> Vec<(usize, usize)> {
        let mut pages = vec![];
        let mut at = 0;
        while at < b.len() {
            let end = at + super::page_len(b, at).expect("a whole page");
            pages.push((at, end));
            at = end;
        }
        pages
    }

    #[test]
    fn whole_files_close_and_cut_ones_do_not() {
        for name in [
            "tone2k_22k.ogg",
            "chained_same.ogg",
            "tone600_48k_stereo.opus",
        ] {
            let b = fixture(name);
            assert_eq!(closes(&b), Some(true), "{name} whole");
            let pages = pages(&b);
            // Cut on every page boundary: only a page that closes its
            // stream ends a whole file (a chained file's first stream too).
            for &(start, end) in &pages {
                let closed = b[start + 5] & 4 != 0;
                assert_eq!(closes(&b[..end]), Some(closed), "{name} cut at {end}");
            }
            assert!(pages.iter().filter(|&&(s, _)| b[s + 5] & 4 == 0).count() >= 2);
            // Cut inside the last page.
            let inside = b.len() - 10;
            assert_eq!(closes(&b[..inside]), Some(false), "{name} cut at {inside}");
            // Only the tail, as the reader keeps it.
            let tail = &b[b.len().saturating_sub(super::MAX_PAGE)..];
            assert_eq!(closes(tail), Some(true), "{name} tail");
        }
    }

    #[test]
    fn other_data_is_not_judged() {
        assert_eq!(closes(&fixture("tone1k_44k_stereo.mp3")), None);
        assert_eq!(closes(b""), None);
        let mut junk = fixture("tone2k_22k.ogg");
        junk.extend_from_slice(b"not a page");
        assert_eq!(closes(&junk), None);
        // One flipped bit in the last page: its checksum fails, so the page
        // before it is the last whole one, and a cut page follows it.
        let mut flipped = fixture("tone2k_22k.ogg");
        let n = flipped.len();
        flipped[n - 3] ^= 1;
        assert_eq!(closes(&flipped), Some(false));
    }
}
