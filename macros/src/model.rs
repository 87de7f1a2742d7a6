//! What the macros understand of an experiment: its arguments, its `#[config]` argument,
//! its log sites and progress loops, each keeping the spans that errors point at.

use proc_macro2::Span;
use syn::{Expr, Ident, ItemFn, LitInt, LitStr, Path, Stmt};

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

/// A parsed option and the span of the key that set it (for the kind of `#[log(metric)]`,
/// the kind itself). An error about the option as a whole points at that key, and generated
/// calls that act for the option are placed there; the value keeps its own spans.
#[derive(Clone, Debug)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(value: T, span: Span) -> Self {
        Spanned { value, span }
    }
}

impl<T> std::ops::Deref for Spanned<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

/// `#[experiment(...)]`.
#[derive(Default)]
pub struct ExperimentArgs {
    pub name: Option<Spanned<LitStr>>,
    pub ranks: Option<Spanned<Ranks>>,
    /// `resume = expr`: an `Option<u64>` run id to continue instead of starting a new run.
    pub resume: Option<Spanned<Expr>>,
    pub krate: Option<Spanned<Path>>,
    /// `system = off` or `system = "5s"`: the system-metrics sampler.
    pub system: Option<Spanned<System>>,
    /// `tags = ["baseline", "lr=0.1"]`: the run's tags, each `key` or `key=value`.
    pub tags: Option<Spanned<Vec<LitStr>>>,
    /// `group = "lr-sweep"`: the group the run belongs to.
    pub group: Option<Spanned<LitStr>>,
}

/// `system = off` or `system = "5s"`.
#[derive(Clone, Debug)]
pub enum System {
    Off,
    Every(LitStr),
}

/// `#[log(kind, ...)]`.
pub struct LogArgs {
    pub kind: Spanned<Kind>,
    pub every: Option<Spanned<Every>>,
    pub step: Option<Spanned<Expr>>,
    pub name: Option<Spanned<LitStr>>,
    pub ranks: Option<Spanned<Ranks>>,
    pub keep: Option<Spanned<LitInt>>,
    /// `best = "test_acc"`: the metric a checkpoint site keeps its best checkpoints by.
    pub best: Option<Spanned<LitStr>>,
    /// `mode = max | min`: which way `best` is better.
    pub mode: Option<Spanned<Mode>>,
}

/// `mode = max` or `mode = min`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Max,
    Min,
}

/// The statement a site sits on, with the `#[log]` attribute stripped.
pub enum Target {
    /// `let name = value;`: the statement stays as written, then the bound value is logged
    /// and the binding stays usable. Boxed: a `syn::Stmt` is several times the size of the
    /// other variant.
    Let {
        binding: Ident,
        statement: Box<Stmt>,
    },
    /// `value;`: evaluated only when the site fires.
    Expr(Expr),
}

/// One `#[log]` statement.
pub struct Site {
    /// Position among the experiment's sites; names the site's generated counter and its
    /// placeholder in the body.
    pub index: usize,
    pub args: LogArgs,
    pub target: Target,
    /// The name the value is recorded under, and the token an error about it points at.
    pub name: String,
    pub name_span: Span,
}

/// One `#[progress]` loop.
pub struct ProgressLoop {
    /// The bar's label: `name = "..."`, or the loop's binding.
    pub label: String,
    /// The metric sites inside the loop, whose latest values the bar shows.
    pub metric_sites: Vec<usize>,
}

/// The `#[config]` argument of an experiment.
pub struct ConfigArg {
    pub ident: Ident,
    /// `config` in `#[config]`.
    pub attr_span: Span,
    /// Whether the argument is a reference, so that the config is the value behind it.
    pub is_reference: bool,
    /// `public = [...]`: fields recorded as they are even when their names look secret.
    pub public: Vec<LitStr>,
}

/// Everything the macros know of one `#[experiment]` function once its body is walked.
pub struct Experiment {
    pub args: ExperimentArgs,
    /// The user's function, its labbook attributes stripped: each `#[log]` statement is a
    /// [`placeholder::site`] and each `#[progress]` loop carries a [`placeholder::progress`]
    /// attribute, which the expansion replaces.
    pub function: ItemFn,
    pub config: Option<ConfigArg>,
    pub sites: Vec<Site>,
    pub loops: Vec<ProgressLoop>,
}

impl Experiment {
    /// The experiment's directory name, as given or from the function.
    pub fn name(&self) -> String {
        match &self.args.name {
            Some(name) => name.value.value(),
            None => self.function.sig.ident.to_string(),
        }
    }
}

/// The marks the walk leaves where generated code goes. They use names no user code can
/// reach (`__lb_` with mixed-site hygiene), and the walk of a body that does not expand
/// never leaves them in the output.
pub mod placeholder {
    use proc_macro2::Span;
    use syn::{parse_quote, Attribute, Ident, LitInt, Stmt};

    const SITE: &str = "__lb_site";
    const PROGRESS: &str = "__lb_progress";

    /// The statement standing for site `index`.
    pub fn site(index: usize) -> Stmt {
        let path = Ident::new(SITE, Span::mixed_site());
        let index = LitInt::new(&index.to_string(), Span::mixed_site());
        parse_quote!(#path!(#index);)
    }

    /// The site `stmt` stands for, if it is a placeholder.
    pub fn site_index(stmt: &Stmt) -> Option<usize> {
        match stmt {
            Stmt::Macro(mac) if mac.mac.path.is_ident(SITE) => {
                mac.mac.parse_body::<LitInt>().ok()?.base10_parse().ok()
            }
            _ => None,
        }
    }

    /// The attribute marking the `for` loop of progress loop `index`.
    pub fn progress(index: usize) -> Attribute {
        let path = Ident::new(PROGRESS, Span::mixed_site());
        let index = LitInt::new(&index.to_string(), Span::mixed_site());
        parse_quote!(#[#path(#index)])
    }

    /// Removes the progress mark from a loop's attributes and says which loop it is.
    pub fn take_progress(attrs: &mut Vec<Attribute>) -> Option<usize> {
        let position = attrs
            .iter()
            .position(|attr| attr.path().is_ident(PROGRESS))?;
        attrs
            .remove(position)
            .parse_args::<LitInt>()
            .ok()?
            .base10_parse()
            .ok()
    }
}
