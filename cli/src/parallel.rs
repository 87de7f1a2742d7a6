//! Work over many runs on every core, in their order: reading them, making their rows and
//! the lines of a big table.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// The most items a thread takes at a time: few enough that the threads end together, enough
/// that taking them costs nothing. A short list is cut finer, so that a few heavy items (the
/// parts of a big table) still go to every core.
const SLICE: usize = 64;

/// `f` of each item, on every core (eight at most), in the order of `items`; the items `f`
/// turns into `None` are left out. Each thread takes the next slice of items until none is
/// left, so a slow disk or a busy core holds up no other thread.
pub(crate) fn filter_map<T: Send, U: Send>(
    items: Vec<T>,
    f: impl Fn(T) -> Option<U> + Sync,
) -> Vec<U> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    if threads == 1 || items.len() < 2 {
        return items.into_iter().filter_map(f).collect();
    }
    let size = items.len().div_ceil(threads * 4).min(SLICE);
    let mut rest = items.into_iter();
    let slices: Vec<Mutex<Vec<T>>> = std::iter::from_fn(|| {
        let slice: Vec<T> = rest.by_ref().take(size).collect();
        (!slice.is_empty()).then(|| Mutex::new(slice))
    })
    .collect();
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, Vec<U>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads.min(slices.len()))
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(slice) = slices.get(index) else {
                            return done;
                        };
                        let items =
                            std::mem::take(&mut *slice.lock().unwrap_or_else(|e| e.into_inner()));
                        done.push((index, items.into_iter().filter_map(&f).collect()));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    done.sort_unstable_by_key(|(index, _)| *index);
    // Made once at its size: growing it would copy every item again.
    let mut all = Vec::with_capacity(done.iter().map(|(_, part)| part.len()).sum());
    for (_, part) in done {
        all.extend(part);
    }
    all
}

#[cfg(test)]
mod tests {
    #[test]
    fn items_keep_their_order_and_those_turned_into_none_are_left_out() {
        let items: Vec<u32> = (0..1000).collect();
        let odd = super::filter_map(items, |n| (n % 2 == 1).then_some(n * 10));
        assert_eq!(
            odd,
            (0..1000)
                .filter(|n| n % 2 == 1)
                .map(|n| n * 10)
                .collect::<Vec<_>>()
        );
    }
}
