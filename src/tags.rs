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

/// One row of a ranked tag list: a tag, and its spelling variants that rank
/// below it (MagnaTagATune has "no vocals" and "no vocal", "vocals" and
/// "vocal", "beats" and "beat" as separate tags: one tag, scored twice;
/// listed apart they read as a duplicate row).
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked<'a> {
    pub index: usize,
    pub tag: &'a str,
    pub score: f32,
    /// `(index, tag, score)` of the variants folded into this row, best first.
    pub also: Vec<(usize, &'a str, f32)>,
}

/// The `n` best rows of `names` by score, best first, each tag's spelling
/// variants folded into the row of the best of them ([`Ranked`]).
///
/// `scores` is indexed like `names` (a model's tag list: [`TAGS`] or its
/// file's own); extra entries are ignored, and NaN scores sort last. Ties
/// keep the tag-list order.
pub fn top_tags<'a, S: AsRef<str>>(names: &'a [S], scores: &[f32], n: usize) -> Vec<Ranked<'a>> {
    let scores = &scores[..scores.len().min(names.len())];
    let keys: Vec<String> = names[..scores.len()]
        .iter()
        .map(|t| spelling(t.as_ref()))
        .collect();
    let mut rows: Vec<Ranked<'a>> = Vec::new();
    for i in top_indices(scores, scores.len()) {
        let entry = (i, names[i].as_ref(), scores[i]);
        if let Some(row) = rows.iter_mut().find(|r| keys[r.index] == keys[i]) {
            row.also.push(entry);
        } else if rows.len() < n {
            rows.push(Ranked {
                index: i,
                tag: entry.1,
                score: entry.2,
                also: Vec::new(),
            });
        }
    }
    rows
}

/// What spelling variants share: lower case, and each word without a plural
/// "s" after a consonant other than "s" or "y" ("No Vocals" and "no vocal" →
/// "no vocal", "beats" → "beat"). Conservative: "blues" and "blue", "bass"
/// and "bas", "chorus", "keys" and "key", "voices" and "voice" stay apart.
fn spelling(tag: &str) -> String {
    let words: Vec<String> = tag
        .split_whitespace()
        .map(|w| {
            let w = w.to_lowercase();
            let stem = w.strip_suffix('s').filter(|stem| {
                let before = stem.chars().last();
                stem.len() >= 3
                    && before.is_some_and(|c| c.is_ascii_alphabetic() && !"aeiouys".contains(c))
            });
            stem.map_or(w.clone(), str::to_string)
        })
        .collect();
    words.join(" ")
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
        fn plain<'a>(r: &Ranked<'a>) -> (usize, &'a str, f32) {
            (r.index, r.tag, r.score)
        }
        assert_eq!(plain(&top[0]), (3, "techno", 0.9));
        assert_eq!(plain(&top[1]), (7, "rock", 0.5));
        assert_eq!(top[2].score, 0.0);
        assert!(top.iter().all(|r| r.tag != "classical"));
        assert_eq!(top_tags(&TAGS, &scores[..2], 5).len(), 2);
        let own = ["a".to_string(), "b".to_string()];
        let top = top_tags(&own, &[0.1, 0.7], 1);
        assert_eq!((top.len(), plain(&top[0])), (1, (1, "b", 0.7)));
    }

    #[test]
    fn spelling_variants_share_one_row_at_the_best_ones_rank() {
        let mut scores = vec![0.0f32; 50];
        let at = |t| tag_index(t).unwrap();
        scores[at("no vocal")] = 0.62;
        scores[at("no vocals")] = 0.61;
        scores[at("piano")] = 0.5;
        scores[at("beats")] = 0.3;
        scores[at("beat")] = 0.2;
        scores[at("vocals")] = 0.1;
        let top = top_tags(&TAGS, &scores, 4);
        let rows: Vec<(&str, Vec<&str>)> = top
            .iter()
            .map(|r| (r.tag, r.also.iter().map(|a| a.1).collect()))
            .collect();
        assert_eq!(
            rows,
            [
                ("no vocal", vec!["no vocals"]),
                ("piano", vec![]),
                ("beats", vec!["beat"]),
                ("vocals", vec!["vocal"]),
            ]
        );
        assert_eq!(top[0].also[0], (at("no vocals"), "no vocals", 0.61));
        // Only these three pairs among the 50; every tag is in some row.
        assert_eq!(top_tags(&TAGS, &scores, 50).len(), 47);
        let n: usize = top_tags(&TAGS, &scores, 50)
            .iter()
            .map(|r| 1 + r.also.len())
            .sum();
        assert_eq!(n, 50);
        // Other lists: case and any word; an "s" that is no plural's stays.
        let own = [
            "Hand Claps",
            "piano",
            "hand clap",
            "blues",
            "blue",
            "bass",
            "bas",
            "chorus",
            "choru",
            "keys",
            "key",
            "voices",
            "voice",
        ];
        let scores = [
            0.2, 0.1, 0.3, 0.5, 0.4, 0.6, 0.65, 0.7, 0.8, 0.15, 0.25, 0.35, 0.45,
        ];
        let top = top_tags(&own, &scores, 20);
        assert_eq!(top.len(), 12);
        let claps = top.iter().find(|r| r.tag == "hand clap").unwrap();
        assert_eq!(claps.also, vec![(0, "Hand Claps", 0.2)]);
        let others = top.iter().filter(|r| r.tag != "hand clap");
        assert!(others.map(|r| r.also.len()).sum::<usize>() == 0, "{top:?}");
    }
}
