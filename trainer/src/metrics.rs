//! Evaluation metrics per tag: ROC-AUC and PR-AUC (average precision), the
//! paper's and MagnaTagATune's usual figures.
//!
//! Targets may be soft (teacher probabilities); a clip counts as positive for a
//! tag when its target is ≥ 0.5. A tag without both positives and negatives in
//! the split has no AUC (`None`), never a made-up 0.5.

/// ROC-AUC: the probability that a random positive scores above a random
/// negative, ties counting one half (Mann–Whitney U from average ranks).
pub fn roc_auc(scores: &[f32], positive: &[bool]) -> Option<f64> {
    assert_eq!(scores.len(), positive.len());
    let n_pos = positive.iter().filter(|&&p| p).count();
    let n_neg = positive.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Sum of the (1-based, tie-averaged) ranks of the positives.
    let mut rank_sum = 0.0f64;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += avg_rank * order[i..=j].iter().filter(|&&k| positive[k]).count() as f64;
        i = j + 1;
    }
    let u = rank_sum - (n_pos * (n_pos + 1)) as f64 / 2.0;
    Some(u / (n_pos as f64 * n_neg as f64))
}

/// PR-AUC as average precision (scikit-learn's `average_precision_score`):
/// the mean of the precision at each positive's threshold, tied scores taken
/// as one threshold.
pub fn pr_auc(scores: &[f32], positive: &[bool]) -> Option<f64> {
    assert_eq!(scores.len(), positive.len());
    let n_pos = positive.iter().filter(|&&p| p).count();
    if n_pos == 0 || n_pos == positive.len() {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut tp, mut seen, mut ap) = (0usize, 0usize, 0.0f64);
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let new_tp = order[i..=j].iter().filter(|&&k| positive[k]).count();
        tp += new_tp;
        seen += j - i + 1;
        ap += new_tp as f64 / n_pos as f64 * (tp as f64 / seen as f64);
        i = j + 1;
    }
    Some(ap)
}

/// Per-tag figures for a split: `scores` and `targets` are clips × tags, row-major.
pub struct TagFigures {
    pub roc_auc: Option<f64>,
    pub pr_auc: Option<f64>,
    pub positives: usize,
}

/// A clip counts as a positive of a tag when its target is at least this.
const POSITIVE: f32 = 0.5;

/// Column `t` of a row-major `clips × tags` matrix.
fn column(values: &[f32], t: usize, tags: usize) -> impl Iterator<Item = &f32> {
    values.iter().skip(t).step_by(tags)
}

pub fn per_tag(scores: &[f32], targets: &[f32], tags: usize) -> Vec<TagFigures> {
    assert_eq!(scores.len(), targets.len());
    (0..tags)
        .map(|t| {
            let s: Vec<f32> = column(scores, t, tags).copied().collect();
            let p: Vec<bool> = column(targets, t, tags).map(|&v| v >= POSITIVE).collect();
            TagFigures {
                roc_auc: roc_auc(&s, &p),
                pr_auc: pr_auc(&s, &p),
                positives: p.iter().filter(|&&x| x).count(),
            }
        })
        .collect()
}

/// Positives per tag of a row-major `clips × tags` target matrix (the rule
/// [`per_tag`] counts by).
pub fn positives(targets: &[f32], tags: usize) -> Vec<usize> {
    (0..tags)
        .map(|t| column(targets, t, tags).filter(|&&v| v >= POSITIVE).count())
        .collect()
}

/// Targets as the held-out evaluation reads them (trainer/corpus/heldout.py,
/// "top-3"): on each clip the `k` highest targets (the teacher's top tags)
/// are positives (1), the rest negatives (0).
pub fn top_k(targets: &[f32], tags: usize, k: usize) -> Vec<f32> {
    let mut out = vec![0.0; targets.len()];
    for (row, o) in targets.chunks(tags).zip(out.chunks_mut(tags)) {
        let mut order: Vec<usize> = (0..row.len()).collect();
        // Highest first; ties keep the tag order, as a stable sort does.
        order.sort_by(|&a, &b| row[b].total_cmp(&row[a]));
        for &t in order.iter().take(k) {
            o[t] = 1.0;
        }
    }
    out
}

/// Macro ROC-AUC over the tags with at least `min` positives (heldout.py's
/// rule: a tag with a handful of positives is noise, not signal).
pub fn macro_roc_auc_min(figures: &[TagFigures], min: usize) -> Option<f64> {
    macro_mean(
        figures
            .iter()
            .filter(|f| f.positives >= min)
            .map(|f| f.roc_auc),
    )
}

/// Mean over the tags that have a value.
pub fn macro_mean(values: impl IntoIterator<Item = Option<f64>>) -> Option<f64> {
    let v: Vec<f64> = values.into_iter().flatten().collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values from scikit-learn 1.5 (roc_auc_score, average_precision_score).
    #[test]
    fn roc_auc_matches_sklearn() {
        let s = [0.1, 0.4, 0.35, 0.8];
        let p = [false, false, true, true];
        assert!((roc_auc(&s, &p).unwrap() - 0.75).abs() < 1e-12);
        // Ties count one half.
        let s = [0.5, 0.5, 0.5, 0.9];
        let p = [true, false, false, true];
        assert!((roc_auc(&s, &p).unwrap() - 0.75).abs() < 1e-12);
        assert_eq!(roc_auc(&[0.1, 0.2], &[true, true]), None);
    }

    #[test]
    fn pr_auc_matches_sklearn() {
        let s = [0.1, 0.4, 0.35, 0.8];
        let p = [false, false, true, true];
        // sklearn: 0.8333333333333333
        assert!((pr_auc(&s, &p).unwrap() - 5.0 / 6.0).abs() < 1e-12);
        // Perfect ranking.
        assert!((pr_auc(&[0.9, 0.1], &[true, false]).unwrap() - 1.0).abs() < 1e-12);
        assert_eq!(pr_auc(&[0.1, 0.2], &[false, false]), None);
    }

    #[test]
    fn positives_are_counted_per_tag_column() {
        // 3 clips × 2 tags
        let y = [1.0, 0.0, 0.5, 0.49, 0.2, 0.9];
        assert_eq!(positives(&y, 2), vec![2, 1]);
    }

    #[test]
    fn top_k_marks_each_clips_highest_targets() {
        // 2 clips × 4 tags.
        let y = [0.1, 0.9, 0.3, 0.2, 0.7, 0.0, 0.6, 0.8];
        assert_eq!(
            top_k(&y, 4, 2),
            vec![0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0]
        );
        // Positives 0.9 and 0.1 against negatives 0.8 and 0.2: half the pairs right.
        let f = per_tag(&[0.2, 0.9, 0.8, 0.1], &[0.0, 1.0, 0.0, 1.0], 1);
        assert_eq!(macro_roc_auc_min(&f, 1), Some(0.5));
        assert_eq!(macro_roc_auc_min(&f, 3), None);
    }

    #[test]
    fn per_tag_columns() {
        // 3 clips × 2 tags, both perfectly ranked.
        let scores = [0.9, 0.1, 0.2, 0.8, 0.1, 0.9];
        let targets = [1.0, 0.0, 0.0, 1.0, 0.0, 1.0];
        let f = per_tag(&scores, &targets, 2);
        assert_eq!(f[0].roc_auc, Some(1.0));
        assert_eq!(f[0].positives, 1);
        assert_eq!(f[1].roc_auc, Some(1.0));
        assert_eq!(macro_mean([Some(1.0), None, Some(0.5)]), Some(0.75));
    }
}
