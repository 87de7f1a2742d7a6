//! Which run `labbook::run()` returns: the innermost run active on the calling thread (one
//! it started, or one it entered with [`Run::enter`]), or else the most recently started
//! one still running in the process (so helper threads of a training loop find it too).

use std::cell::RefCell;
use std::marker::PhantomData;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use super::{Run, RunState};
use crate::gate::Ranks;

thread_local! {
    static THREAD: RefCell<Vec<Arc<RunState>>> = const { RefCell::new(Vec::new()) };
}

static PROCESS: Mutex<Vec<Arc<RunState>>> = Mutex::new(Vec::new());

/// The active run. Logging through a handle taken while no run is active returns
/// [`Error::NoActiveRun`](crate::Error::NoActiveRun).
///
/// Which run that is, when several run at once (experiments called on several threads, or
/// one called inside another):
///
/// 1. on a thread that runs an `#[experiment]` function, or has [entered](Run::enter) a
///    run, the innermost of those runs still active;
/// 2. on any other thread, the run started most recently in the process that is still
///    active: with two experiments running on two threads, a helper thread gets whichever
///    started last.
///
/// To log from a helper thread of one particular run, take the handle on the run's own
/// thread and move it over; [`Run`] is `Clone + Send + Sync`:
///
/// ```
/// use labbook::prelude::*;
///
/// #[experiment]
/// fn train() {
///     let handle = run();
///     let helper = std::thread::spawn(move || {
///         handle.log_metric("eval/acc", 0, 0.93).unwrap();
///         // Or make it this thread's run: `run()` and this thread's `tracing` events
///         // then go to it until the guard is dropped.
///         let _entered = handle.enter();
///         run().log_metric("eval/loss", 0, 0.2).unwrap();
///     });
///     helper.join().unwrap();
/// }
/// # std::env::set_var("LABBOOK_DIR", std::env::temp_dir().join("labbook-doc"));
/// # std::env::set_var("LABBOOK_CONSOLE", "off");
/// train();
/// ```
pub fn run() -> Run {
    let live = |s: &&Arc<RunState>| !s.ended.load(Ordering::Relaxed);
    let state = THREAD
        .with(|runs| runs.borrow().iter().rev().find(live).cloned())
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

impl Run {
    /// Makes this run the calling thread's own until the returned guard is dropped:
    /// [`run()`] returns it there, and the thread's `tracing` events go to its
    /// `logs/labbook.log`. For a helper thread that works for one run while others are
    /// active too; see [`run()`] for an example. A handle taken with no run active enters
    /// nothing.
    pub fn enter(&self) -> Entered {
        let state = self.state.clone();
        let mut logs = false;
        if let Some(state) = &state {
            THREAD.with(|runs| runs.borrow_mut().push(Arc::clone(state)));
            logs = crate::diagnostics::enter_run_log(state.dir());
        }
        Entered {
            state,
            logs,
            _thread_bound: PhantomData,
        }
    }
}

/// A run [entered](Run::enter) on the current thread; dropping it leaves the run.
#[must_use = "the run is left as soon as this guard is dropped"]
#[derive(Debug)]
pub struct Entered {
    state: Option<Arc<RunState>>,
    /// Whether the thread's events were sent to the run's log (it was still open).
    logs: bool,
    /// The guard belongs to the thread whose stack it changed.
    _thread_bound: PhantomData<*const ()>,
}

impl Drop for Entered {
    fn drop(&mut self) {
        let Some(state) = &self.state else {
            return;
        };
        let _ = THREAD.try_with(|runs| {
            let mut runs = runs.borrow_mut();
            if let Some(last) = runs.iter().rposition(|s| Arc::ptr_eq(s, state)) {
                runs.remove(last);
            }
        });
        if self.logs {
            crate::diagnostics::leave_run_log(state.dir());
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_handle_can_be_sent_to_and_shared_with_other_threads() {
        fn send_sync_clone<T: Send + Sync + Clone + 'static>() {}
        send_sync_clone::<Run>();
    }
}
