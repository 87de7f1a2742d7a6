//! The backends linked into a program, and starting those a run uses.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use super::{Backend, BackendError, RunContext};

/// The local run directory's backend: always on, whatever `LABBOOK_BACKENDS` says.
pub(crate) const LOCAL: &str = "local";

/// Creates a backend for a run; `Ok(None)` when it has nothing to do for this run (a
/// feature that needs settings the environment does not give).
pub type Create = fn(&RunContext) -> Result<Option<Box<dyn Backend>>, BackendError>;

/// One registered backend, collected at link time.
#[derive(Debug)]
pub struct Registration {
    /// The backend's name, as `LABBOOK_BACKENDS` and `info.json` name it.
    pub name: &'static str,
    /// Makes the backend for a run.
    pub create: Create,
    /// Where it was registered, to name both sides of a duplicate.
    pub module: &'static str,
}

impl Registration {
    /// The backend `name`, made by `create`.
    pub const fn new(name: &'static str, create: Create) -> Self {
        Registration {
            name,
            create,
            module: "",
        }
    }

    /// Records the registering module; `register_backend!` fills it in.
    pub const fn in_module(mut self, module: &'static str) -> Self {
        self.module = module;
        self
    }
}

inventory::collect!(Registration);

/// Registers a backend from the current module.
#[macro_export]
macro_rules! register_backend {
    ($name:expr, $create:expr) => {
        $crate::inventory::submit!(
            $crate::backend::Registration::new($name, $create).in_module(module_path!())
        );
    };
}

/// Every registered backend by name. Built once; a name registered twice is reported,
/// naming both registrations, and neither is used.
pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| Registry::build(inventory::iter::<Registration>))
}

/// The backends linked into this program.
#[derive(Debug)]
pub struct Registry {
    /// Every backend by name, duplicates left out.
    pub backends: BTreeMap<&'static str, &'static Registration>,
    /// One sentence per name registered more than once.
    pub conflicts: Vec<String>,
}

impl Registry {
    fn build(all: impl IntoIterator<Item = &'static Registration>) -> Registry {
        let mut backends: BTreeMap<&'static str, &'static Registration> = BTreeMap::new();
        let mut conflicts = Vec::new();
        let mut dropped = Vec::new();
        for registration in all {
            if let Some(first) = backends.get(registration.name) {
                conflicts.push(format!(
                    "two backends are registered as `{}` (in `{}` and in `{}`); neither is used until one is renamed",
                    registration.name, first.module, registration.module
                ));
                dropped.push(registration.name);
            } else {
                backends.insert(registration.name, registration);
            }
        }
        for name in dropped {
            backends.remove(name);
        }
        Registry {
            backends,
            conflicts,
        }
    }

    /// The names of the backends, sorted.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.backends.keys().copied()
    }
}

/// Creates and starts every registered backend, or those `LABBOOK_BACKENDS` names (a
/// comma-separated list; the local store is always on). A backend that cannot start is off for
/// the run, and recorded in its problems.
pub(crate) fn start(context: &RunContext) -> Vec<(&'static str, Box<dyn Backend>)> {
    let registry = registry();
    for conflict in &registry.conflicts {
        tracing::error!("{conflict}");
    }
    let chosen = std::env::var("LABBOOK_BACKENDS")
        .ok()
        .filter(|v| !v.trim().is_empty());
    let chosen: Option<Vec<&str>> = chosen
        .as_deref()
        .map(|v| v.split(',').map(str::trim).collect());
    if let Some(chosen) = &chosen {
        for unknown in chosen
            .iter()
            .filter(|n| !registry.backends.contains_key(*n))
        {
            let known: Vec<_> = registry.names().collect();
            tracing::warn!("LABBOOK_BACKENDS names `{unknown}`, which this program does not have; it has {known:?}");
        }
    }
    let mut started = Vec::new();
    for (name, registration) in &registry.backends {
        let wanted = *name == LOCAL || chosen.as_ref().is_none_or(|c| c.contains(name));
        if !wanted {
            continue;
        }
        let created = (registration.create)(context).and_then(|backend| match backend {
            Some(mut backend) => backend.start(context).map(|()| Some(backend)),
            None => Ok(None),
        });
        match created {
            Ok(Some(backend)) => started.push((*name, backend)),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!("labbook backend `{name}` is off for this run: {e}");
                context
                    .problems
                    .disable_backend(name, format_args!("could not start: {e}"));
            }
        }
    }
    started
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none(_: &RunContext) -> Result<Option<Box<dyn Backend>>, BackendError> {
        Ok(None)
    }

    #[test]
    fn a_duplicate_name_names_both_registrations() {
        static A: Registration = Registration::new("dup", none).in_module("crate_a");
        static B: Registration = Registration::new("dup", none).in_module("crate_b");
        static C: Registration = Registration::new("other", none).in_module("crate_c");
        let registry = Registry::build([&A, &B, &C]);
        assert_eq!(registry.names().collect::<Vec<_>>(), ["other"]);
        assert_eq!(registry.conflicts.len(), 1);
        assert!(
            registry.conflicts[0].contains("crate_a") && registry.conflicts[0].contains("crate_b")
        );
    }

    #[test]
    fn built_in_backends_are_registered() {
        let names: Vec<_> = registry().names().collect();
        assert!(
            names.contains(&"local") && names.contains(&"console"),
            "{names:?}"
        );
    }
}
