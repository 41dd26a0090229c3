//! The 50 MagnaTagATune tags the model predicts.
//!
//! The list is the top 50 tags of MagnaTagATune by frequency, in the order used
//! by musicnn's MTT models (Pons & Serra), so the teacher's output columns and
//! ours line up index for index. The model's output `i` is the score of `TAGS[i]`.

/// Number of tags the model predicts.
pub const TAG_COUNT: usize = 50;

/// The tags, in model output order (musicnn's MTT order).
pub const TAGS: [&str; TAG_COUNT] = [
    "guitar",
    "classical",
    "slow",
    "techno",
    "strings",
    "drums",
    "electronic",
    "rock",
    "fast",
    "piano",
    "ambient",
    "beat",
    "violin",
    "vocal",
    "synth",
    "female",
    "indian",
    "opera",
    "male",
    "singing",
    "vocals",
    "no vocals",
    "harpsichord",
    "loud",
    "quiet",
    "flute",
    "woman",
    "male vocal",
    "no vocal",
    "pop",
    "soft",
    "sitar",
    "solo",
    "man",
    "classic",
    "choir",
    "voice",
    "new age",
    "dance",
    "male voice",
    "female vocal",
    "beats",
    "harp",
    "cello",
    "no voice",
    "weird",
    "country",
    "metal",
    "female voice",
    "choral",
];

/// Index of `tag` in [`TAGS`], if it is one of them (exact, case-sensitive match).
pub fn tag_index(tag: &str) -> Option<usize> {
    TAGS.iter().position(|t| *t == tag)
}

/// The `n` highest-scoring tags as `(index, tag, score)`, best first.
///
/// `scores` is indexed like `names` (a model's tag list: [`TAGS`] or its
/// file's own); extra entries are ignored, and NaN scores sort last. Ties
/// keep the tag-list order.
pub fn top_tags<'a, S: AsRef<str>>(
    names: &'a [S],
    scores: &[f32],
    n: usize,
) -> Vec<(usize, &'a str, f32)> {
    let scores = &scores[..scores.len().min(names.len())];
    (top_indices(scores, n).into_iter())
        .map(|i| (i, names[i].as_ref(), scores[i]))
        .collect()
}

/// Indices of the `n` highest `scores`, best first (NaN last, ties in index
/// order).
fn top_indices(scores: &[f32], n: usize) -> Vec<usize> {
    let mut ranked: Vec<usize> = (0..scores.len()).collect();
    ranked.sort_by(|&a, &b| match (scores[a].is_nan(), scores[b].is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Greater,
        (false, true) => std::cmp::Ordering::Less,
        (false, false) => scores[b].total_cmp(&scores[a]),
    });
    ranked.truncate(n);
    ranked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifty_distinct_tags_in_musicnn_order() {
        assert_eq!(TAGS.len(), 50);
        let mut sorted = TAGS.to_vec();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 50, "tags must be distinct");
        assert_eq!(TAGS[0], "guitar");
        assert_eq!(TAGS[21], "no vocals");
        assert_eq!(TAGS[49], "choral");
        assert_eq!(tag_index("female voice"), Some(48));
        assert_eq!(tag_index("Guitar"), None);
    }

    #[test]
    fn top_tags_ranks_and_handles_nan() {
        let mut scores = vec![0.0f32; 50];
        scores[3] = 0.9;
        scores[7] = 0.5;
        scores[1] = f32::NAN;
        let top = top_tags(&TAGS, &scores, 3);
        assert_eq!(top[0], (3, "techno", 0.9));
        assert_eq!(top[1], (7, "rock", 0.5));
        assert_eq!(top[2].2, 0.0);
        assert!(top.iter().all(|(_, t, _)| *t != "classical"));
        assert_eq!(top_tags(&TAGS, &scores[..2], 5).len(), 2);
        let own = ["a".to_string(), "b".to_string()];
        assert_eq!(top_tags(&own, &[0.1, 0.7], 1), vec![(1, "b", 0.7)]);
    }
}
