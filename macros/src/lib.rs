//! Procedural macros behind [`labbook`](https://docs.rs/labbook).
//!
//! Do not depend on this crate directly: use the re-exports in `labbook::prelude`. The
//! generated code calls `labbook::__private`, which only the matching `labbook` version
//! provides.
//!
//! The crate is split into phases that run in order, as [`expand::experiment`] calls them:
//! [`attr`] parses attribute arguments; [`visit`] walks the function, strips labbook's
//! attributes and collects the [`model::Experiment`] (its `#[config]` argument, a
//! [`model::Site`] for each `#[log]` statement, each `#[progress]` loop), leaving
//! placeholders where code goes; [`validate`] checks the complete model; only then does
//! [`expand`] generate code, replacing the placeholders.

mod attr;
mod derive;
mod errors;
mod expand;
mod model;
mod name;
mod options;
mod validate;
mod visit;

use proc_macro::TokenStream;

/// Turns a function into an experiment: each call is one run with its own directory.
///
/// See the `labbook` crate documentation for the arguments and the generated behaviour.
#[proc_macro_attribute]
pub fn experiment(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::experiment(args.into(), item.into()).into()
}

/// Marks a statement inside an `#[experiment]` function as a log site.
///
/// It is consumed by the enclosing `#[experiment]`; reaching this entry point means the
/// attribute sits somewhere it cannot work.
#[proc_macro_attribute]
pub fn log(_args: TokenStream, item: TokenStream) -> TokenStream {
    expand::stray_log(item.into()).into()
}

/// Shows a progress bar for a `for` loop inside an `#[experiment]` function.
///
/// It is consumed by the enclosing `#[experiment]`; reaching this entry point means the
/// attribute sits somewhere it cannot work.
#[proc_macro_attribute]
pub fn progress(_args: TokenStream, item: TokenStream) -> TokenStream {
    expand::stray_progress(item.into()).into()
}

/// `#[derive(Serialize)]` through labbook's own copy of serde, so a training crate does not
/// need `serde` among its dependencies. `#[serde(...)]` attributes work as usual;
/// `#[labbook(crate = path)]` says where labbook is, like `#[experiment(crate = path)]`.
#[proc_macro_derive(Serialize, attributes(serde, labbook))]
pub fn derive_serialize(item: TokenStream) -> TokenStream {
    derive::derive(item.into(), derive::Trait::Serialize).into()
}

/// `#[derive(Deserialize)]` through labbook's own copy of serde; see `Serialize`.
#[proc_macro_derive(Deserialize, attributes(serde, labbook))]
pub fn derive_deserialize(item: TokenStream) -> TokenStream {
    derive::derive(item.into(), derive::Trait::Deserialize).into()
}
