//! "Did you mean": the nearest known names to something that does not exist.

/// How close a candidate must be to count as a plausible typo (Jaro-Winkler).
const THRESHOLD: f64 = 0.85;
/// Suggestions must also be about as close as the best one: one clear typo
/// should not come with two unrelated names.
const MARGIN: f64 = 0.03;

/// Up to `limit` candidates whose `key` is closest to `wanted`, best first;
/// possibly none. Jaro-Winkler favours a shared prefix, which suits probe
/// names, where the first words are usually right.
pub fn nearest_by<T, K, F>(
    wanted: &str,
    candidates: impl IntoIterator<Item = T>,
    key: F,
    limit: usize,
) -> Vec<T>
where
    F: Fn(&T) -> &K,
    K: AsRef<str> + ?Sized,
{
    let mut scored: Vec<(f64, T)> = candidates
        .into_iter()
        .filter_map(|c| {
            let score = strsim::jaro_winkler(wanted, key(&c).as_ref());
            (score >= THRESHOLD).then_some((score, c))
        })
        .collect();
    scored.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then_with(|| key(&a.1).as_ref().cmp(key(&b.1).as_ref()))
    });
    let best = scored.first().map_or(0.0, |(score, _)| *score);
    scored
        .into_iter()
        .take_while(|(score, _)| *score >= best - MARGIN)
        .take(limit)
        .map(|(_, c)| c)
        .collect()
}

/// [`nearest_by`] for candidates that are names themselves.
pub fn nearest<I>(wanted: &str, candidates: I, limit: usize) -> Vec<I::Item>
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    nearest_by(wanted, candidates, |c| c, limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_typos_and_drops_strangers() {
        let names = [
            "sys_enter_openat",
            "sys_enter_open",
            "sys_enter_openat2",
            "sched_switch",
        ];
        let got = nearest("sys_enter_opnat", names, 3);
        assert_eq!(got[0], "sys_enter_openat");
        assert!(!got.contains(&"sched_switch"), "{got:?}");
        assert!(nearest("zzzzzz", names, 3).is_empty());
        assert!(nearest("nosuchthing", ["sched_waking", "sched_switch"], 3).is_empty());
    }
}
