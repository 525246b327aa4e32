//! "Did you mean": the nearest known names to something that does not exist.

/// Up to `limit` candidates closest to `wanted`, best first. Candidates that
/// are too far away to be a plausible typo are dropped, so the result may be
/// empty. Scoring is Jaro-Winkler, which favours a shared prefix; that suits
/// probe names, where the category and the first words are usually right.
pub fn nearest<'a, I>(wanted: &str, candidates: I, limit: usize) -> Vec<I::Item>
where
    I: IntoIterator,
    I::Item: AsRef<str> + 'a,
{
    const THRESHOLD: f64 = 0.8;
    let mut scored: Vec<(f64, I::Item)> = candidates
        .into_iter()
        .filter_map(|c| {
            let score = strsim::jaro_winkler(wanted, c.as_ref());
            (score >= THRESHOLD).then_some((score, c))
        })
        .collect();
    scored.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then_with(|| a.1.as_ref().cmp(b.1.as_ref()))
    });
    scored.dedup_by(|a, b| a.1.as_ref() == b.1.as_ref());
    scored.into_iter().take(limit).map(|(_, c)| c).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_typos_and_drops_strangers() {
        let names = [
            "syscalls:sys_enter_openat",
            "syscalls:sys_enter_open",
            "sched:sched_switch",
        ];
        let got = nearest("syscalls:sys_enter_opnat", names, 2);
        assert_eq!(got[0], "syscalls:sys_enter_openat");
        assert!(nearest("zzzzzz", names, 3).is_empty());
    }
}
