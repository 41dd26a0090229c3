//! How well a model knows each of its tags, from the per-tag counts its file
//! records: a score for a tag the model met a handful of times is a guess,
//! and a "no vocals" from a model that barely heard a voice says nothing
//! about the song. The CLI and the page both mark such tags ("?") with these
//! words, so the two say the same thing.
//!
//! Counts, best first: `metrics.extra.train_positives` (training clips with
//! each tag, in tag order, or `{tag: n}`), which the trainer writes; else
//! `metrics.per_tag[i].positives` (clips with the tag in the split the
//! metrics were measured on, `metrics.split`, of `metrics.extra.clips[split]`
//! clips). The held-out split is a smaller sample of the same corpus, so its
//! counts get a smaller threshold.

use serde::Serialize;
use serde_json::Value;

use super::ModelMetadata;

/// Fewer training clips with a tag than this: its score is a guess.
pub const MIN_TRAIN_POSITIVES: u64 = 30;
/// The same for the held-out split's counts (about a tenth of the corpus).
pub const MIN_HELD_OUT_POSITIVES: u64 = 5;

/// What a model file's counts say of each of its tags.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TagSupport {
    /// Whether the file records per-tag counts (without them no tag is
    /// marked uncertain).
    pub known: bool,
    /// Clips a tag needs not to be uncertain (0 when nothing is known).
    pub min: u64,
    /// Which clips were counted: `"train"` or the held-out split's name.
    pub split: Option<String>,
    /// How many clips that split has, when recorded.
    pub clips: Option<u64>,
    /// One per tag, in the model's output order.
    pub tags: Vec<TagNote>,
    /// One line explaining the marks.
    pub legend: String,
}

/// What the counts say of one tag.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TagNote {
    /// A tag that says something is absent ("no vocals").
    pub negative: bool,
    /// Too few clips had the tag (for an absence: the tags it negates) for
    /// its score to mean much.
    pub uncertain: bool,
    /// A short sentence; empty when nothing needs saying.
    pub why: String,
    /// The clips counted for it (for an absence: at most this many had what
    /// it negates); `None` when not recorded.
    pub count: Option<u64>,
}

/// A tag that says something is absent: "no vocals", "no voice"… ("no"
/// and a space first, in any case).
pub fn is_negative(tag: &str) -> bool {
    let b = tag.as_bytes();
    b.len() > 2 && b[..2].eq_ignore_ascii_case(b"no") && b[2].is_ascii_whitespace()
}

/// What an absence tag negates: "no vocals" → "vocals".
fn absent(tag: &str) -> &str {
    if is_negative(tag) {
        tag[2..].trim_start()
    } else {
        tag
    }
}

/// Whether `tag` speaks of a voice (a word of [`VOICE_WORDS`], or the whole
/// tag one of "male", "female", "man", "woman"): what a "no voice" tag needs
/// to have been learnt from. Words are ASCII letters, digits and `_`.
fn is_voice(tag: &str) -> bool {
    const VOICE_WORDS: [&str; 12] = [
        "vocal", "vocals", "voice", "voices", "sing", "singing", "singer", "singers", "choir",
        "choral", "opera", "rap",
    ];
    const WHOLE: [&str; 4] = ["male", "female", "man", "woman"];
    let lower = tag.to_ascii_lowercase();
    WHOLE.contains(&lower.as_str())
        || (lower.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')))
            .any(|w| VOICE_WORDS.contains(&w))
}

/// The positive tags an absence tag is the absence of (indices).
fn present(negative: &str, tags: &[String]) -> Vec<usize> {
    let what = absent(negative).to_lowercase();
    let voice = is_voice(&what);
    (0..tags.len())
        .filter(|&i| !is_negative(&tags[i]))
        .filter(|&i| {
            if voice {
                is_voice(&tags[i])
            } else {
                tags[i].to_lowercase().contains(&what)
            }
        })
        .collect()
}

/// Per-tag counts as (counts in tag order, split, clips in that split).
fn recorded(meta: &ModelMetadata) -> Option<(Vec<u64>, String, Option<u64>)> {
    let tags = &meta.tags;
    let extra = &meta.metrics.extra;
    let clips = |split: &str| extra["clips"][split].as_u64();
    let train = &extra["train_positives"];
    let from_train: Option<Vec<u64>> = match train {
        Value::Array(v) if v.len() == tags.len() => v.iter().map(clips_in).collect(),
        Value::Object(m) => tags.iter().map(|t| clips_in(m.get(t)?)).collect(),
        _ => None,
    };
    if let Some(counts) = from_train {
        return Some((counts, "train".into(), clips("train")));
    }
    let per_tag = &meta.metrics.per_tag;
    let held: Option<Vec<u64>> = tags
        .iter()
        .map(|t| per_tag.iter().find(|m| &m.tag == t)?.positives)
        .collect();
    let split = meta
        .metrics
        .split
        .clone()
        .unwrap_or_else(|| "held-out".into());
    let of = clips(&split);
    held.map(|counts| (counts, split, of))
}

/// A count of clips: a whole number ≥ 0 (`29.0` from a Python writer too).
fn clips_in(v: &Value) -> Option<u64> {
    let n = v.as_f64()?;
    (n >= 0.0 && n.fract() == 0.0 && n <= u64::MAX as f64).then_some(n as u64)
}

/// "the model saw this tag in only 3 training clips" / "only 3 of the 350
/// test clips had this tag"; `at_most` for an absence's bound (a bound of 0
/// is "no clip", not "at most 0").
fn few(split: &str, n: u64, clips: Option<u64>, what: &str, at_most: bool) -> String {
    let only = match (at_most, n) {
        (_, 0) => "",
        (true, _) => "at most ",
        (false, _) => "only ",
    };
    let s = if n == 1 { "" } else { "s" };
    if split == "train" {
        return if n == 0 {
            format!("the model saw {what} in no training clip")
        } else {
            format!("the model saw {what} in {only}{n} training clip{s}")
        };
    }
    let of = clips.map_or(String::new(), |c| format!(" of the {c}"));
    if n == 0 {
        return format!("none{of} {split} clips had {what}");
    }
    let s = if n == 1 && of.is_empty() { "" } else { "s" };
    format!("{only}{n}{of} {split} clip{s} had {what}")
}

impl TagSupport {
    /// What `meta`'s counts say of each of its tags.
    pub fn of(meta: &ModelMetadata) -> Self {
        let tags = &meta.tags;
        let Some((counts, split, clips)) = recorded(meta) else {
            let tags = tags
                .iter()
                .map(|t| TagNote {
                    negative: is_negative(t),
                    uncertain: false,
                    why: absence_why(t),
                    count: None,
                })
                .collect();
            return TagSupport {
                known: false,
                min: 0,
                split: None,
                clips: None,
                tags,
                legend: "“No\u{a0}…” tags say what the model did not hear, not what the music is. \
                         This model file records no per-tag counts, so how well it knows each \
                         tag is not shown."
                    .into(),
            };
        };
        let train = split == "train";
        let min = if train {
            MIN_TRAIN_POSITIVES
        } else {
            MIN_HELD_OUT_POSITIVES
        };
        let notes: Vec<TagNote> = (tags.iter().enumerate())
            .map(|(i, tag)| {
                if !is_negative(tag) {
                    let n = counts[i];
                    let uncertain = n < min;
                    let why = if uncertain {
                        format!("Uncertain: {}.", few(&split, n, clips, "this tag", false))
                    } else {
                        String::new()
                    };
                    return TagNote {
                        negative: false,
                        uncertain,
                        why,
                        count: Some(n),
                    };
                }
                // An absence is learnt from the presence: the clips with any of
                // the tags it negates number at most the sum of their counts.
                let present = present(tag, tags);
                let most: u64 = present.iter().map(|&k| counts[k]).sum();
                let what = absent(tag);
                let what = if is_voice(what) { "voices" } else { what };
                let uncertain = !present.is_empty() && most < min;
                let why = if uncertain {
                    format!(
                        "Uncertain: an absence, and {}: too few to tell.",
                        few(&split, most, clips, what, true)
                    )
                } else {
                    absence_why(tag)
                };
                TagNote {
                    negative: true,
                    uncertain,
                    why,
                    count: (!present.is_empty()).then_some(most),
                }
            })
            .collect();
        let legend = if train {
            format!(
                "? marks an uncertain tag: the model saw it in fewer than {min} training clips, \
                 so its score is a guess. “No\u{a0}…” tags say what the model did not hear."
            )
        } else {
            let of = clips.map_or(String::new(), |c| format!(" of the {c}"));
            format!(
                "? marks an uncertain tag: fewer than {min}{of} {split} clips (a sample of the \
                 music the model learnt from) had it, so its score is a guess. “No\u{a0}…” tags say \
                 what the model did not hear."
            )
        };
        TagSupport {
            known: true,
            min,
            split: Some(split),
            clips,
            tags: notes,
            legend,
        }
    }

    /// Whether tag `i` is marked uncertain (false for an index past the list).
    pub fn uncertain(&self, i: usize) -> bool {
        self.tags.get(i).is_some_and(|t| t.uncertain)
    }
}

/// An absence tag's plain note ("" for a positive tag): what its score
/// measures, not a finding (an untrained model's score says nothing).
fn absence_why(tag: &str) -> String {
    if is_negative(tag) {
        format!(
            "An absence: the score is how sure the model is that it heard no {} here.",
            absent(tag)
        )
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ModelConfig, TagMetrics};
    use serde_json::json;

    fn meta() -> ModelMetadata {
        ModelMetadata::new(&ModelConfig::from_name("scat-2l-8h-gru", 4).unwrap())
    }

    fn index(m: &ModelMetadata, tag: &str) -> usize {
        m.tags.iter().position(|t| t == tag).unwrap()
    }

    #[test]
    fn training_counts_mark_tags_below_thirty() {
        let mut m = meta();
        let counts: Vec<u64> = (0..m.tags.len() as u64).map(|i| 29 + i % 2).collect();
        m.metrics.extra = json!({"train_positives": counts, "clips": {"train": 2423}});
        let s = TagSupport::of(&m);
        assert!(s.known);
        assert_eq!(
            (s.min, s.split.as_deref(), s.clips),
            (30, Some("train"), Some(2423))
        );
        let guitar = &s.tags[index(&m, "guitar")]; // index 0: 29
        assert!(guitar.uncertain && !guitar.negative);
        assert_eq!(
            guitar.why,
            "Uncertain: the model saw this tag in only 29 training clips."
        );
        assert!(!s.uncertain(index(&m, "classical"))); // 30
        assert!(
            s.legend.starts_with("? marks an uncertain tag") && s.legend.contains("30 training")
        );
    }

    #[test]
    fn an_absence_is_judged_by_what_it_negates() {
        let mut m = meta();
        // Every voice tag in 1 training clip, everything else in 100.
        // MagnaTagATune's voice tags, named (not found by `is_voice`, which
        // is under test).
        const VOICES: [&str; 15] = [
            "vocal",
            "female",
            "opera",
            "male",
            "singing",
            "vocals",
            "woman",
            "male vocal",
            "man",
            "choir",
            "voice",
            "male voice",
            "female vocal",
            "female voice",
            "choral",
        ];
        for t in &m.tags {
            let negated_voice = ["no vocals", "no vocal", "no voice"].contains(&t.as_str());
            assert_eq!(
                is_voice(t),
                VOICES.contains(&t.as_str()) || negated_voice,
                "{t}"
            );
        }
        let counts: Vec<u64> = (m.tags.iter())
            .map(|t| if VOICES.contains(&t.as_str()) { 1 } else { 100 })
            .collect();
        let voices = VOICES.len() as u64;
        m.metrics.extra = json!({"train_positives": counts});
        let s = TagSupport::of(&m);
        let no_vocals = &s.tags[index(&m, "no vocals")];
        assert!(no_vocals.negative && no_vocals.uncertain);
        assert_eq!(no_vocals.count, Some(voices));
        assert_eq!(
            no_vocals.why,
            format!(
                "Uncertain: an absence, and the model saw voices in at most {voices} training clips: too few to tell."
            )
        );
        for t in ["male", "female vocal", "choir", "opera", "woman", "singing"] {
            assert!(s.uncertain(index(&m, t)), "{t}");
        }
        // No voice at all (the shipped model): "no training clip", not "at most 0".
        let none: Vec<u64> = (m.tags.iter())
            .map(|t| if VOICES.contains(&t.as_str()) { 0 } else { 100 })
            .collect();
        let mut silent = m.clone();
        silent.metrics.extra = json!({"train_positives": none});
        assert_eq!(
            TagSupport::of(&silent).tags[index(&m, "no vocals")].why,
            "Uncertain: an absence, and the model saw voices in no training clip: too few to tell."
        );
        assert!(!s.uncertain(index(&m, "guitar")));
        assert!(!is_voice("sitar") && !is_voice("new age") && is_voice("Male"));
        // With enough voices the absence is a plain note.
        let mut m2 = m.clone();
        m2.metrics.extra = json!({"train_positives": vec![100; m.tags.len()]});
        let s2 = TagSupport::of(&m2);
        let n = &s2.tags[index(&m2, "no voice")];
        assert!(
            !n.uncertain
                && n.why
                    == "An absence: the score is how sure the model is that it heard no voice here."
        );
    }

    #[test]
    fn held_out_counts_use_their_split_and_threshold() {
        let mut m = meta();
        m.metrics.split = Some("test".into());
        m.metrics.extra = json!({"clips": {"test": 350}});
        m.metrics.per_tag = (m.tags.iter().enumerate())
            .map(|(i, t)| TagMetrics {
                tag: t.clone(),
                roc_auc: None,
                pr_auc: None,
                positives: Some(if i == 0 { 1 } else { 5 }),
            })
            .collect();
        let s = TagSupport::of(&m);
        assert_eq!((s.min, s.split.as_deref()), (5, Some("test")));
        assert_eq!(
            s.tags[0].why,
            "Uncertain: only 1 of the 350 test clips had this tag."
        );
        assert!(!s.uncertain(1));
        assert!(s.legend.contains("fewer than 5 of the 350 test clips"));
        // One tag without a count: nothing is known.
        m.metrics.per_tag.pop();
        assert!(!TagSupport::of(&m).known);
    }

    #[test]
    fn without_counts_nothing_is_marked() {
        let m = meta();
        let s = TagSupport::of(&m);
        assert!(!s.known && s.tags.iter().all(|t| !t.uncertain));
        assert_eq!(
            s.tags[index(&m, "no vocals")].why,
            "An absence: the score is how sure the model is that it heard no vocals here."
        );
        assert!(s.legend.contains("records no per-tag counts"));
    }

    #[test]
    fn counts_as_a_map_or_whole_floats_and_a_wrong_length_is_unknown() {
        let mut m = meta();
        let map: serde_json::Map<String, Value> = (m.tags.iter())
            .map(|t| (t.clone(), json!(if t == "guitar" { 3.0 } else { 40.0 })))
            .collect();
        m.metrics.extra = json!({ "train_positives": map });
        let s = TagSupport::of(&m);
        assert!(s.known && s.uncertain(index(&m, "guitar")) && !s.uncertain(index(&m, "rock")));
        assert_eq!(s.tags[index(&m, "guitar")].count, Some(3));
        m.metrics.extra = json!({ "train_positives": [40, 40] });
        assert!(!TagSupport::of(&m).known);
        m.metrics.extra = json!({ "train_positives": vec![2.5; m.tags.len()] });
        assert!(
            !TagSupport::of(&m).known,
            "a fraction is not a count of clips"
        );
    }

    #[test]
    fn words() {
        assert!(is_negative("no vocals") && is_negative("No  voice") && is_negative("no\tx"));
        assert!(!is_negative("no") && !is_negative("noise") && !is_negative(" no vocals"));
        assert_eq!(absent("No  voice"), "voice");
        assert!(!is_voice("female_vocal")); // `_` is a word character, as in JS's \b
        assert!(
            is_voice("male")
                && !is_voice(" male")
                && is_voice("lead-vocals")
                && !is_voice("vocalist")
        );
        assert_eq!(
            few("train", 0, None, "this tag", false),
            "the model saw this tag in no training clip"
        );
        assert_eq!(
            few("train", 1, None, "this tag", false),
            "the model saw this tag in only 1 training clip"
        );
        assert_eq!(
            few("valid", 0, Some(9), "x", false),
            "none of the 9 valid clips had x"
        );
        assert_eq!(few("valid", 1, None, "x", false), "only 1 valid clip had x");
    }
}
