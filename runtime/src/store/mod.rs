//! The local run directory: always on, and the source of truth every other view is built
//! from. See [`layout`] for what goes where.

pub mod alloc;
pub mod jsonl;
pub mod layout;
pub mod meta;
