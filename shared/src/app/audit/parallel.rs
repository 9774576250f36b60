//! The audit's passes over clients, on every core.

/// How many threads the audit's passes use: one per core, at most eight.
pub(super) fn workers() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8)
}

/// Runs `work` over `0..items` split into one contiguous range per core, returning the
/// results in range order.
pub(super) fn in_parallel<T: Send>(
    items: usize,
    work: impl Fn(std::ops::Range<usize>) -> T + Sync,
) -> Vec<T> {
    let threads = workers().min(items).max(1);
    if threads == 1 {
        return vec![work(0..items)];
    }
    let chunk = items.div_ceil(threads);
    std::thread::scope(|scope| {
        let work = &work;
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || work((t * chunk).min(items)..((t + 1) * chunk).min(items)))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("audit work does not panic"))
            .collect()
    })
}
