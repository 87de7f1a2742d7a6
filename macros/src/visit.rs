//! The walk of an experiment: finds the `#[config]` argument, the `#[log]` statements and
//! the `#[progress]` loops, strips their attributes, and collects them into the
//! [`Experiment`] model. Where code will go it leaves a [`placeholder`]; it generates none.
//!
//! The walk descends into nested blocks, loops, `if`/`match` arms and closures (their sites
//! share the experiment's counters), but not into nested items: a `fn` inside the body runs
//! outside the experiment's frame, so a `#[log]` there is reported, with `labbook::run()` as
//! the way to log from it.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::visit_mut::{self, VisitMut};
use syn::{Attribute, Block, Expr, FnArg, Item, ItemFn, Pat, Stmt, Type};

use crate::attr;
use crate::errors::Errors;
use crate::model::{
    placeholder, ConfigArg, Experiment, ExperimentArgs, Kind, ProgressLoop, Site, Target,
};

/// Walks `function`, which carried `#[experiment(args)]`, into the model.
pub fn experiment(args: ExperimentArgs, mut function: ItemFn, errors: &mut Errors) -> Experiment {
    let config = take_config(&mut function, errors);
    let mut walk = Sites {
        sites: Vec::new(),
        loops: Vec::new(),
        errors,
    };
    walk.visit_block_mut(&mut function.block);
    let Sites { sites, loops, .. } = walk;
    Experiment {
        args,
        function,
        config,
        sites,
        loops,
    }
}

/// The user's function with labbook's attributes removed, so that rustc reports only our
/// errors and not a cascade of unknown attributes.
pub fn stripped(item: TokenStream) -> TokenStream {
    let Ok(mut function) = syn::parse2::<ItemFn>(item.clone()) else {
        return item;
    };
    take_config(&mut function, &mut Errors::default());
    Stray { errors: None }.visit_block_mut(&mut function.block);
    function.into_token_stream()
}

/// Walks one experiment body.
struct Sites<'a> {
    sites: Vec<Site>,
    loops: Vec<ProgressLoop>,
    errors: &'a mut Errors,
}

impl Sites<'_> {
    /// Builds the site for a statement that carried `log_attr`; `None` when it is unusable
    /// (the errors are recorded and the statement is kept as the user wrote it).
    fn site(&mut self, log_attr: &Attribute, stmt: &Stmt) -> Option<Site> {
        let args = attr::log_args(log_attr, self.errors)?;
        let (target, derived) = target(stmt, self.errors)?;
        let (name, name_span) = match (&args.name, derived) {
            (Some(name), _) => (name.value.value(), name.value.span()),
            (None, Some(derived)) => derived,
            (None, None) => {
                self.errors.at(
                    stmt.span(),
                    format_args!(
                        "this `#[log({})]` expression needs a name: add `name = \"...\"`",
                        args.kind.as_str()
                    ),
                );
                return None;
            }
        };
        Some(Site {
            index: self.sites.len(),
            args,
            target,
            name,
            name_span,
        })
    }
}

impl VisitMut for Sites<'_> {
    fn visit_block_mut(&mut self, block: &mut Block) {
        for mut stmt in std::mem::take(&mut block.stmts) {
            let log_attr = take_log_attr(&mut stmt, self.errors);
            visit_mut::visit_stmt_mut(self, &mut stmt);
            let Some(log_attr) = log_attr else {
                block.stmts.push(stmt);
                continue;
            };
            match self.site(&log_attr, &stmt) {
                Some(site) => {
                    block.stmts.push(placeholder::site(site.index));
                    self.sites.push(site);
                }
                None => block.stmts.push(stmt),
            }
        }
    }

    fn visit_item_mut(&mut self, item: &mut Item) {
        Stray {
            errors: Some(&mut *self.errors),
        }
        .visit_item_mut(item);
    }

    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        if let Some(attrs) = expr_attrs(expr) {
            for attr in take_logs(attrs) {
                self.errors.at(
                    attr::path_span(&attr),
                    "`#[log]` must sit on a statement: a `let` or an expression ending in `;`",
                );
            }
        }
        let progress = expr_attrs(expr).map(take_progress).unwrap_or_default();
        match (progress.first(), &mut *expr) {
            (Some(attr), Expr::ForLoop(for_loop)) => {
                let first_site = self.sites.len();
                visit_mut::visit_expr_for_loop_mut(self, for_loop);
                let label = match attr::progress_name(attr) {
                    Ok(Some(name)) => name.value(),
                    Ok(None) => loop_label(&for_loop.pat),
                    Err(e) => {
                        self.errors.push(e);
                        return;
                    }
                };
                let metric_sites = self.sites[first_site..]
                    .iter()
                    .filter(|site| site.args.kind.value == Kind::Metric)
                    .map(|site| site.index)
                    .collect();
                for_loop.attrs.push(placeholder::progress(self.loops.len()));
                self.loops.push(ProgressLoop {
                    label,
                    metric_sites,
                });
            }
            (Some(attr), _) => {
                self.errors
                    .at(attr::path_span(attr), "`#[progress]` goes on a `for` loop");
                visit_mut::visit_expr_mut(self, expr);
            }
            (None, _) => visit_mut::visit_expr_mut(self, expr),
        }
        for extra in progress.iter().skip(1) {
            self.errors
                .at(attr::path_span(extra), "a loop takes one `#[progress]`");
        }
    }

    fn visit_arm_mut(&mut self, arm: &mut syn::Arm) {
        for attr in take_logs(&mut arm.attrs) {
            self.errors.at(
                attr::path_span(&attr),
                "`#[log]` cannot sit on a `match` arm; put it on a statement inside the arm's block",
            );
        }
        visit_mut::visit_arm_mut(self, arm);
    }
}

/// What a `#[log]` statement logs, and the name it gets from a binding or a path; `None`
/// when the statement cannot be a site (the error is recorded).
fn target(stmt: &Stmt, errors: &mut Errors) -> Option<(Target, Option<(String, Span)>)> {
    Some(match stmt {
        Stmt::Local(local) => {
            let ident = match binding(&local.pat) {
                Some(ident) => ident,
                None => {
                    errors.at(
                        local.pat.span(),
                        "`#[log]` on a `let` needs a single name, like `let loss = ...`; \
                         log each part with its own statement",
                    );
                    return None;
                }
            };
            if local.init.is_none() {
                errors.at(
                    ident.span(),
                    "`#[log]` on a `let` needs a value: `let loss = ...;`",
                );
                return None;
            }
            if local
                .init
                .as_ref()
                .is_some_and(|init| init.diverge.is_some())
            {
                errors.at(
                    local.let_token.span,
                    "`#[log]` cannot sit on a `let ... else`",
                );
                return None;
            }
            (
                Target::Let {
                    binding: ident.clone(),
                    statement: Box::new(stmt.clone()),
                },
                Some((ident.unraw().to_string(), ident.span())),
            )
        }
        Stmt::Expr(expr, Some(_)) => (Target::Expr(expr.clone()), derived_name(expr)),
        Stmt::Macro(mac) if mac.semi_token.is_some() => {
            let expr = Expr::Macro(syn::ExprMacro {
                attrs: Vec::new(),
                mac: mac.mac.clone(),
            });
            (Target::Expr(expr), None)
        }
        Stmt::Expr(expr, None) => {
            errors.at(
                expr.span(),
                "a `#[log]` expression must be a statement ending in `;`, not the block's value",
            );
            return None;
        }
        Stmt::Macro(mac) => {
            errors.at(
                mac.span(),
                "a `#[log]` expression must be a statement ending in `;`",
            );
            return None;
        }
        Stmt::Item(item) => {
            errors.at(
                item.span(),
                "`#[log]` cannot sit on an item; put it on a `let` or an expression statement",
            );
            return None;
        }
    })
}

/// Strips every `#[log]` below a node. With `errors`, reports each one as sitting in a
/// nested item the experiment cannot reach.
///
/// A `let` that loses its `#[log]` gets `#[allow(unused_variables)]` instead: the site was
/// its use, and a warning about it would only bury the error that stopped the expansion.
struct Stray<'a> {
    errors: Option<&'a mut Errors>,
}

impl VisitMut for Stray<'_> {
    fn visit_local_mut(&mut self, local: &mut syn::Local) {
        let logged = local.attrs.iter().find(|attr| attr::is_log(attr));
        let allow = logged.map(|attr| -> Attribute {
            let span = attr::path_span(attr);
            syn::parse_quote_spanned!(span=> #[allow(unused_variables)])
        });
        visit_mut::visit_local_mut(self, local);
        local.attrs.extend(allow);
    }

    fn visit_attributes_mut(&mut self, attrs: &mut Vec<Attribute>) {
        for attr in take_progress(attrs) {
            if let Some(errors) = self.errors.as_deref_mut() {
                errors.at(
                    attr::path_span(&attr),
                    "`#[progress]` inside a nested item is outside the experiment; move the loop into the experiment body",
                );
            }
        }
        for attr in take_logs(attrs) {
            if let Some(errors) = self.errors.as_deref_mut() {
                errors.at(
                    attr::path_span(&attr),
                    "`#[log]` inside a nested item is outside the experiment; \
                     log there with `labbook::run()` or move the statement into the experiment body",
                );
            }
        }
    }
}

/// Finds the `#[config]` argument, strips the attribute, and returns its binding.
fn take_config(function: &mut ItemFn, errors: &mut Errors) -> Option<ConfigArg> {
    let mut config: Option<ConfigArg> = None;
    for input in &mut function.sig.inputs {
        let (attrs, pat, ty) = match input {
            FnArg::Typed(typed) => (&mut typed.attrs, Some(&*typed.pat), Some(&*typed.ty)),
            FnArg::Receiver(receiver) => (&mut receiver.attrs, None, None),
        };
        let (found, rest): (Vec<_>, Vec<_>) =
            std::mem::take(attrs).into_iter().partition(attr::is_config);
        *attrs = rest;
        let Some(first) = found.first() else { continue };
        let span = attr::path_span(first);
        let public = attr::config_public(first, errors);
        match pat {
            _ if config.is_some() => errors.at(span, "only one argument can be `#[config]`"),
            Some(Pat::Ident(ident)) => {
                config = Some(ConfigArg {
                    ident: ident.ident.clone(),
                    attr_span: span,
                    is_reference: matches!(ty, Some(Type::Reference(_))),
                    public,
                })
            }
            Some(Pat::Type(typed)) => errors.at(typed.span(), "`#[config]` needs a named argument"),
            Some(other) => errors.at(
                other.span(),
                "`#[config]` needs a plain name, like `#[config] hp: Hparams`; destructure it inside the body",
            ),
            None => errors.at(span, "`self` cannot be the `#[config]` of an experiment"),
        }
    }
    config
}

/// Removes the `#[log]` attribute from a statement. More than one is an error.
fn take_log_attr(stmt: &mut Stmt, errors: &mut Errors) -> Option<Attribute> {
    let attrs = match stmt {
        Stmt::Local(local) => &mut local.attrs,
        Stmt::Macro(mac) => &mut mac.attrs,
        Stmt::Item(item) => item_attrs(item)?,
        Stmt::Expr(expr, _) => expr_attrs(leftmost(expr))?,
    };
    let mut logs = take_logs(attrs).into_iter();
    let first = logs.next();
    for extra in logs {
        errors.at(
            attr::path_span(&extra),
            "a statement takes one `#[log]`; bind the value and log it again from a second statement",
        );
    }
    first
}

fn take_progress(attrs: &mut Vec<Attribute>) -> Vec<Attribute> {
    let (found, rest) = std::mem::take(attrs)
        .into_iter()
        .partition(attr::is_progress);
    *attrs = rest;
    found
}

/// What a progress bar is called when `#[progress]` gives no name: the loop's binding.
fn loop_label(pat: &Pat) -> String {
    match pat {
        Pat::Ident(p) => p.ident.to_string(),
        Pat::Type(p) => loop_label(&p.pat),
        _ => "loop".to_owned(),
    }
}

fn take_logs(attrs: &mut Vec<Attribute>) -> Vec<Attribute> {
    let (logs, rest) = std::mem::take(attrs).into_iter().partition(attr::is_log);
    *attrs = rest;
    logs
}

/// Outer attributes written before `a + b` or `a = b` belong to the leftmost operand.
fn leftmost(mut expr: &mut Expr) -> &mut Expr {
    loop {
        expr = match expr {
            Expr::Assign(e) => &mut e.left,
            Expr::Binary(e) => &mut e.left,
            Expr::Cast(e) => &mut e.expr,
            _ => return expr,
        };
    }
}

/// The name a site gets from its expression: `x`, `model.fc1.weight`, `&model.loss`.
fn derived_name(expr: &Expr) -> Option<(String, Span)> {
    fn dotted(expr: &Expr) -> Option<String> {
        match expr {
            Expr::Path(p) if p.qself.is_none() => {
                let idents: Vec<_> = p
                    .path
                    .segments
                    .iter()
                    .map(|s| s.ident.unraw().to_string())
                    .collect();
                Some(idents.join("."))
            }
            Expr::Field(f) => {
                let member = match &f.member {
                    syn::Member::Named(ident) => ident.unraw().to_string(),
                    syn::Member::Unnamed(index) => index.index.to_string(),
                };
                Some(format!("{}.{member}", dotted(&f.base)?))
            }
            Expr::Reference(r) => dotted(&r.expr),
            Expr::Paren(p) => dotted(&p.expr),
            _ => None,
        }
    }
    Some((dotted(expr)?, expr.span()))
}

fn binding(pat: &Pat) -> Option<&syn::Ident> {
    match pat {
        Pat::Ident(p) if p.subpat.is_none() => Some(&p.ident),
        Pat::Type(p) => binding(&p.pat),
        _ => None,
    }
}

fn item_attrs(item: &mut Item) -> Option<&mut Vec<Attribute>> {
    Some(match item {
        Item::Const(i) => &mut i.attrs,
        Item::Enum(i) => &mut i.attrs,
        Item::ExternCrate(i) => &mut i.attrs,
        Item::Fn(i) => &mut i.attrs,
        Item::ForeignMod(i) => &mut i.attrs,
        Item::Impl(i) => &mut i.attrs,
        Item::Macro(i) => &mut i.attrs,
        Item::Mod(i) => &mut i.attrs,
        Item::Static(i) => &mut i.attrs,
        Item::Struct(i) => &mut i.attrs,
        Item::Trait(i) => &mut i.attrs,
        Item::TraitAlias(i) => &mut i.attrs,
        Item::Type(i) => &mut i.attrs,
        Item::Union(i) => &mut i.attrs,
        Item::Use(i) => &mut i.attrs,
        _ => return None,
    })
}

fn expr_attrs(expr: &mut Expr) -> Option<&mut Vec<Attribute>> {
    Some(match expr {
        Expr::Array(e) => &mut e.attrs,
        Expr::Assign(e) => &mut e.attrs,
        Expr::Async(e) => &mut e.attrs,
        Expr::Await(e) => &mut e.attrs,
        Expr::Binary(e) => &mut e.attrs,
        Expr::Block(e) => &mut e.attrs,
        Expr::Break(e) => &mut e.attrs,
        Expr::Call(e) => &mut e.attrs,
        Expr::Cast(e) => &mut e.attrs,
        Expr::Closure(e) => &mut e.attrs,
        Expr::Const(e) => &mut e.attrs,
        Expr::Continue(e) => &mut e.attrs,
        Expr::Field(e) => &mut e.attrs,
        Expr::ForLoop(e) => &mut e.attrs,
        Expr::Group(e) => &mut e.attrs,
        Expr::If(e) => &mut e.attrs,
        Expr::Index(e) => &mut e.attrs,
        Expr::Infer(e) => &mut e.attrs,
        Expr::Let(e) => &mut e.attrs,
        Expr::Lit(e) => &mut e.attrs,
        Expr::Loop(e) => &mut e.attrs,
        Expr::Macro(e) => &mut e.attrs,
        Expr::Match(e) => &mut e.attrs,
        Expr::MethodCall(e) => &mut e.attrs,
        Expr::Paren(e) => &mut e.attrs,
        Expr::Path(e) => &mut e.attrs,
        Expr::Range(e) => &mut e.attrs,
        Expr::RawAddr(e) => &mut e.attrs,
        Expr::Reference(e) => &mut e.attrs,
        Expr::Repeat(e) => &mut e.attrs,
        Expr::Return(e) => &mut e.attrs,
        Expr::Struct(e) => &mut e.attrs,
        Expr::Try(e) => &mut e.attrs,
        Expr::TryBlock(e) => &mut e.attrs,
        Expr::Tuple(e) => &mut e.attrs,
        Expr::Unary(e) => &mut e.attrs,
        Expr::Unsafe(e) => &mut e.attrs,
        Expr::While(e) => &mut e.attrs,
        Expr::Yield(e) => &mut e.attrs,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use syn::parse_quote;

    use super::*;

    fn walk(function: ItemFn) -> (Experiment, Vec<String>) {
        let mut errors = Errors::default();
        let experiment = experiment(ExperimentArgs::default(), function, &mut errors);
        (experiment, errors.messages())
    }

    fn body(experiment: &Experiment) -> String {
        experiment.function.block.to_token_stream().to_string()
    }

    #[test]
    fn sites_are_collected_and_replaced_by_placeholders() {
        let (experiment, messages) = walk(parse_quote! {
            fn train(#[config] hp: &Hp, data: Data) {
                #[log(param)]
                hp.lr;
                for batch in data {
                    #[log(metric, every = 10)]
                    let loss = step(batch);
                }
            }
        });
        assert!(messages.is_empty(), "{messages:?}");
        let names: Vec<_> = experiment.sites.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["hp.lr", "loss"]);
        assert_eq!(
            experiment.sites.iter().map(|s| s.index).collect::<Vec<_>>(),
            [0, 1]
        );
        assert!(
            matches!(&experiment.sites[1].target, Target::Let { binding, .. } if binding == "loss")
        );
        let body = body(&experiment);
        assert!(body.contains("__lb_site ! (0) ;"), "{body}");
        assert!(body.contains("__lb_site ! (1) ;"), "{body}");
        assert!(!body.contains("log"), "{body}");
        assert!(!body.contains("step (batch)"), "{body}");
        let config = experiment.config.expect("the `#[config]` argument");
        assert_eq!(config.ident, "hp");
        assert!(config.is_reference);
        let inputs = experiment.function.sig.inputs.to_token_stream().to_string();
        assert!(!inputs.contains("config"), "{inputs}");
    }

    #[test]
    fn a_site_inside_a_site_comes_first() {
        let (experiment, messages) = walk(parse_quote! {
            fn train() {
                #[log(metric)]
                let outer = {
                    #[log(metric)]
                    let inner = 1.0;
                    inner * 2.0
                };
            }
        });
        assert!(messages.is_empty(), "{messages:?}");
        let names: Vec<_> = experiment.sites.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["inner", "outer"]);
        let Target::Let { statement, .. } = &experiment.sites[1].target else {
            panic!("a `let` site");
        };
        let statement = statement.to_token_stream().to_string();
        assert!(statement.contains("__lb_site ! (0) ;"), "{statement}");
    }

    #[test]
    fn progress_loops_know_their_metric_sites() {
        let (experiment, messages) = walk(parse_quote! {
            fn train(data: Data) {
                #[log(param)]
                let seed = 1;
                #[progress(name = "epochs")]
                for epoch in 0..3 {
                    #[progress]
                    for (i, batch) in data.iter() {
                        #[log(metric)]
                        let loss = step(batch);
                        #[log(text, name = "note")]
                        format!("{i}");
                    }
                    #[log(metric)]
                    let accuracy = 0.5;
                }
            }
        });
        assert!(messages.is_empty(), "{messages:?}");
        let loops: Vec<_> = experiment
            .loops
            .iter()
            .map(|l| (l.label.as_str(), l.metric_sites.clone()))
            .collect();
        assert_eq!(loops, [("loop", vec![1]), ("epochs", vec![1, 3])]);
        let body = body(&experiment);
        assert!(body.contains("# [__lb_progress (0)]"), "{body}");
        assert!(body.contains("# [__lb_progress (1)]"), "{body}");
        assert!(!body.contains("# [progress"), "{body}");
    }

    #[test]
    fn an_unusable_site_stays_as_written() {
        let (experiment, messages) = walk(parse_quote! {
            fn train() {
                #[log(metric)]
                let (a, b) = (1, 2);
                #[log(text)]
                format!("x");
                #[log(metric)]
                #[log(metric)]
                let c = 1;
            }
        });
        assert_eq!(
            messages,
            [
                "`#[log]` on a `let` needs a single name, like `let loss = ...`; log each part with its own statement",
                "this `#[log(text)]` expression needs a name: add `name = \"...\"`",
                "a statement takes one `#[log]`; bind the value and log it again from a second statement",
            ]
        );
        assert_eq!(experiment.sites.len(), 1);
        let body = body(&experiment);
        assert!(body.contains("let (a , b) = (1 , 2) ;"), "{body}");
    }

    #[test]
    fn nested_items_are_not_walked() {
        let (experiment, messages) = walk(parse_quote! {
            fn train() {
                fn helper() {
                    #[log(metric)]
                    let loss = 1.0;
                }
            }
        });
        assert_eq!(
            messages,
            ["`#[log]` inside a nested item is outside the experiment; log there with `labbook::run()` or move the statement into the experiment body"]
        );
        assert!(experiment.sites.is_empty());
    }

    #[test]
    fn stripped_leaves_no_labbook_attribute() {
        let stripped = stripped(quote::quote! {
            fn train(#[config] hp: Hp) {
                #[log(metric)]
                let loss = 1.0;
                #[progress]
                for i in 0..3 {}
            }
        })
        .to_string();
        assert!(!stripped.contains("log"), "{stripped}");
        assert!(!stripped.contains("progress"), "{stripped}");
        assert!(!stripped.contains("config"), "{stripped}");
        assert!(!stripped.contains("__lb_"), "{stripped}");
    }
}
