//! What the macros understand of an experiment: its arguments and its log sites, each
//! keeping the spans that errors point at.

use proc_macro2::Span;
use syn::{Expr, Ident, LitInt, LitStr, Path};

/// What a site records. Each kind maps to a trait in `labbook::kinds` that says which
/// types it accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Metric,
    Param,
    Text,
    Histogram,
    Image,
    Checkpoint,
    Artifact,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Metric,
        Kind::Param,
        Kind::Text,
        Kind::Histogram,
        Kind::Image,
        Kind::Checkpoint,
        Kind::Artifact,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Metric => "metric",
            Kind::Param => "param",
            Kind::Text => "text",
            Kind::Histogram => "histogram",
            Kind::Image => "image",
            Kind::Checkpoint => "checkpoint",
            Kind::Artifact => "artifact",
        }
    }

    pub fn from_str(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Options this kind accepts besides `name` and `ranks`.
    pub fn takes_every_and_step(self) -> bool {
        !matches!(self, Kind::Param)
    }
}

/// `every = 10`, or `every = LOG_EVERY` naming a `u64` constant (checked at compile time
/// to be at least 1).
#[derive(Clone, Debug)]
pub enum Every {
    Literal(u64),
    Const(syn::ExprPath),
}

/// Which ranks of a distributed job log.
#[derive(Clone, Debug)]
pub enum Ranks {
    All,
    List(Vec<u32>),
}

/// `#[experiment(...)]`.
#[derive(Default)]
pub struct ExperimentArgs {
    pub name: Option<LitStr>,
    pub ranks: Option<Ranks>,
    /// `resume = expr`: an `Option<u64>` run id to continue instead of starting a new run.
    pub resume: Option<Expr>,
    pub krate: Option<Path>,
}

/// `#[log(kind, ...)]`. Options that another check may refuse keep the span of their key,
/// which is what such an error points at.
pub struct LogArgs {
    pub kind: Kind,
    pub kind_span: Span,
    /// The value and the span of the `every` key.
    pub every: Option<(Every, Span)>,
    /// The expression and the span of the `step` key.
    pub step: Option<(Expr, Span)>,
    pub name: Option<LitStr>,
    pub ranks: Option<Ranks>,
    /// The value and the span of the `keep` key.
    pub keep: Option<(LitInt, Span)>,
}

/// The statement a site sits on.
pub enum Target {
    /// `let name = value;`: logs the bound value, the binding stays usable.
    Let(Ident),
    /// `value;`: evaluated only when the site fires.
    Expr(Expr),
}

/// One `#[log]` statement.
pub struct Site {
    /// Position among the experiment's sites; names the site's generated counter.
    pub index: usize,
    pub args: LogArgs,
    pub target: Target,
    /// The name the value is recorded under, and the token an error about it points at.
    pub name: String,
    pub name_span: Span,
}
