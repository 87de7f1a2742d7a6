//! Which run `labbook::run()` returns: the innermost experiment running on the calling
//! thread, or else the most recently started one still running in the process (so helper
//! threads of a training loop find it too).

use std::cell::RefCell;
use std::sync::{Arc, Mutex};

use super::{Run, RunState};
use crate::gate::Ranks;

thread_local! {
    static THREAD: RefCell<Vec<Arc<RunState>>> = const { RefCell::new(Vec::new()) };
}

static PROCESS: Mutex<Vec<Arc<RunState>>> = Mutex::new(Vec::new());

/// The active run. Logging through a handle taken while no run is active returns
/// [`Error::NoActiveRun`](crate::Error::NoActiveRun).
pub fn run() -> Run {
    let state = THREAD
        .with(|runs| runs.borrow().last().cloned())
        .or_else(|| {
            PROCESS
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .last()
                .cloned()
        });
    Run {
        state,
        ranks: Ranks::Zero,
    }
}

pub(super) fn enter(state: &Arc<RunState>) {
    THREAD.with(|runs| runs.borrow_mut().push(Arc::clone(state)));
    PROCESS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(Arc::clone(state));
}

pub(super) fn leave(state: &RunState) {
    let same = |s: &Arc<RunState>| std::ptr::eq(Arc::as_ptr(s), state);
    let _ = THREAD.try_with(|runs| runs.borrow_mut().retain(|s| !same(s)));
    PROCESS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|s| !same(s));
}

/// Every run active in the process, for ending them all on an interrupt.
pub(super) fn all() -> Vec<Arc<RunState>> {
    PROCESS.lock().unwrap_or_else(|e| e.into_inner()).clone()
}
