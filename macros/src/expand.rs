//! Code generation, the last phase: runs on a validated [`Experiment`] and replaces the
//! placeholders the walk left. Generated code names only `<crate>::__private` items and
//! locals whose names start with `__lb_` (with mixed-site hygiene, so user code cannot see
//! them).

use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned as _;
use syn::visit_mut::{self, VisitMut};
use syn::{Block, Expr, Ident, ItemFn, ReturnType, Stmt, Type};

use crate::errors::Errors;
use crate::model::{
    placeholder, ConfigArg, Every, Experiment, Kind, Mode, ProgressLoop, Ranks, Site, System,
    Target,
};
use crate::{attr, options, validate, visit};

/// What every site of one experiment needs to know to expand.
struct Context {
    krate: TokenStream,
    default_ranks: Option<Ranks>,
}

impl Context {
    fn new(experiment: &Experiment) -> Self {
        Context {
            krate: experiment
                .args
                .krate
                .as_ref()
                .map_or_else(|| quote!(::labbook), |krate| krate.value.to_token_stream()),
            default_ranks: experiment
                .args
                .ranks
                .as_ref()
                .map(|ranks| ranks.value.clone()),
        }
    }

    fn private(&self) -> TokenStream {
        let krate = &self.krate;
        quote!(#krate::__private)
    }
}

fn local(name: &str) -> Ident {
    Ident::new(name, Span::mixed_site())
}

/// `tokens` with their name resolution kept but shown at `span`. A call to a private
/// function is placed on the user's token that asked for it (the kind in `#[log(metric)]`,
/// `config` in `#[config]`), so a trait error's "required by this call" label lands there
/// and not on the `#[experiment]` attribute.
fn located_at(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let TokenTree::Group(group) = &token {
                let mut inner =
                    proc_macro2::Group::new(group.delimiter(), located_at(group.stream(), span));
                inner.set_span(group.span().located_at(span));
                token = TokenTree::Group(inner);
            } else {
                token.set_span(token.span().located_at(span));
            }
            token
        })
        .collect()
}

fn site_local(index: usize) -> Ident {
    format_ident!("__lb_site_{}", index, span = Span::mixed_site())
}

/// `#[experiment]`: parse, walk, validate, then generate. On any error the user's function
/// comes back stripped of labbook's attributes, with every error found.
pub fn experiment(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let args = attr::experiment_args(args, &mut errors);
    let function: ItemFn = match syn::parse2(item.clone()) {
        Ok(function) => function,
        Err(_) => {
            errors.at(
                item_keyword_span(&item),
                "`#[experiment]` goes on a function: `#[experiment] fn train(...) { ... }`",
            );
            return with_errors(item, errors);
        }
    };
    let experiment = visit::experiment(args, function, &mut errors);
    validate::experiment(&experiment, &mut errors);
    if !errors.is_empty() {
        return with_errors(visit::stripped(item), errors);
    }
    wrap(experiment)
}

/// Re-emits the user's function around the generated run handling.
fn wrap(experiment: Experiment) -> TokenStream {
    let context = Context::new(&experiment);
    let private = context.private();
    let experiment_name = experiment.name();
    let Experiment {
        args,
        function,
        config,
        sites,
        loops,
    } = experiment;
    let ItemFn {
        attrs,
        vis,
        sig,
        mut block,
    } = function;
    Placeholders {
        sites: &sites,
        loops: &loops,
        context: &context,
    }
    .visit_block_mut(&mut block);
    let handle = local("__lb_experiment");
    let run = local("__lb_run");
    let body = local("__lb_body");
    let value = local("__lb_value");
    let ranks = ranks(args.ranks.as_deref(), &private);
    let function_name = sig.ident.to_string();
    let config = config_argument(config.as_ref(), &private);
    let counters = site_counters(&sites, &context);
    let resume = resume_argument(args.resume.as_deref(), &private);
    let system = system(args.system.as_deref(), &private);
    let tags = args.tags.as_deref().map(Vec::as_slice).unwrap_or_default();
    let group = match &args.group {
        Some(group) => {
            let group = &group.value;
            quote!(::core::option::Option::Some(#group))
        }
        None => quote!(::core::option::Option::None),
    };
    let return_type = match &sig.output {
        ReturnType::Type(arrow, ty) if !mentions_impl(ty) => quote!(#arrow #ty),
        ReturnType::Type(..) => TokenStream::new(),
        ReturnType::Default => quote!(-> ()),
    };
    let outcome = outcome(&sig.output, &private);
    let stmts = &block.stmts;
    quote! {
        #(#attrs)*
        #vis #sig {
            let #handle = #private::Experiment::begin(
                #private::ExperimentSpec {
                    name: #experiment_name,
                    function: #function_name,
                    file: ::core::file!(),
                    ranks: #ranks,
                    system: #system,
                    tags: &[#(#tags),*],
                    group: #group,
                    program: #private::Program {
                        name: ::core::option_env!("CARGO_PKG_NAME"),
                        version: ::core::option_env!("CARGO_PKG_VERSION"),
                        manifest_dir: ::core::option_env!("CARGO_MANIFEST_DIR"),
                        release: !::core::cfg!(debug_assertions),
                    },
                },
                #config,
                #resume,
            );
            let #run = #handle.state();
            #counters
            let #body = #private::catch(|| #return_type { #(#stmts)* });
            match #body {
                ::core::result::Result::Ok(#value) => {
                    #handle.end(#outcome);
                    #value
                }
                ::core::result::Result::Err(panic) => #handle.end_with_panic(panic),
            }
        }
    }
}

/// The `#[config]` argument as `Experiment::begin` takes it: `Some(config(&hp, public))`.
fn config_argument(config: Option<&ConfigArg>, private: &TokenStream) -> TokenStream {
    let Some(config) = config else {
        return quote!(::core::option::Option::None);
    };
    let ident = &config.ident;
    let call = located_at(quote!(#private::config), config.attr_span);
    let value = if config.is_reference {
        quote_spanned!(ident.span()=> &*#ident)
    } else {
        quote_spanned!(ident.span()=> &#ident)
    };
    let public = &config.public;
    quote!(::core::option::Option::Some(#call(#value, &[#(#public),*])))
}

/// The run to continue, `resume = expr`, as `Experiment::begin` takes it.
fn resume_argument(resume: Option<&Expr>, private: &TokenStream) -> TokenStream {
    match resume {
        Some(expr) => quote_spanned!(expr.span()=> #private::resume(#expr)),
        None => quote!(::core::option::Option::None),
    }
}

/// One counter a site (`__lb_site_N`), made at run start, and the list of all of them that a
/// checkpoint site needs.
fn site_counters(sites: &[Site], context: &Context) -> TokenStream {
    let private = context.private();
    let run = local("__lb_run");
    let counters = sites.iter().map(|site| {
        let counter = site_local(site.index);
        let ranks = ranks_or_default(site.args.ranks.as_deref(), context, &private);
        let every = match (site.args.kind.value, site.args.every.as_deref()) {
            (Kind::Param, _) => quote!(u64::MAX),
            (_, None) => quote!(1u64),
            (_, Some(Every::Literal(every))) => quote!(#every),
            (_, Some(Every::Const(path))) => quote_spanned! {path.span()=>
                {
                    const EVERY: u64 = #path;
                    const { ::core::assert!(EVERY >= 1, "`every` must be at least 1") };
                    EVERY
                }
            },
        };
        let index = site.index as u32;
        let name = &site.name;
        quote!(let #counter = &#private::site(#run, #index, #name, #every, #ranks);)
    });
    let all_sites = sites.iter().map(|site| site_local(site.index));
    let sites_list = local("__lb_sites");
    let sites_list = sites
        .iter()
        .any(|s| s.args.kind.value == Kind::Checkpoint)
        .then(|| quote!(let #sites_list: &[&#private::Site] = &[#(#all_sites),*];));
    quote! {
        #(#counters)*
        #sites_list
    }
}

/// How the run ends for the value the body returned: a `Result` spelled as such is checked
/// for `Display` on its error type; anything else goes through the outcome traits.
fn outcome(output: &ReturnType, private: &TokenStream) -> TokenStream {
    match output {
        ReturnType::Type(_, ty) if names_result(ty) => {
            // Spelled `Result<T, E>`: a missing `Display` for `E` is reported on `E`.
            let error = error_type(ty).filter(|error| !mentions_impl(error));
            let span = error.map_or_else(|| ty.span(), |error| error.span());
            let call = located_at(quote!(#private::result_outcome), span);
            let value = Ident::new("__lb_value", Span::mixed_site().located_at(span));
            match error {
                Some(error) => quote_spanned!(span=> #call::<_, #error>(&#value)),
                None => quote_spanned!(span=> #call(&#value)),
            }
        }
        _ => {
            let value = local("__lb_value");
            quote! {{
                #[allow(unused_imports)]
                use #private::{AnyOutcome as _, ResultOutcome as _};
                (&#value).__lb_outcome()
            }}
        }
    }
}

/// Replaces the walk's placeholders in the body: each site's statement by its code, each
/// `#[progress]` loop's iterator by the wrapped one.
struct Placeholders<'a> {
    sites: &'a [Site],
    loops: &'a [ProgressLoop],
    context: &'a Context,
}

impl VisitMut for Placeholders<'_> {
    fn visit_block_mut(&mut self, block: &mut Block) {
        for mut stmt in std::mem::take(&mut block.stmts) {
            let Some(site) = placeholder::site_index(&stmt).map(|index| &self.sites[index]) else {
                visit_mut::visit_stmt_mut(self, &mut stmt);
                block.stmts.push(stmt);
                continue;
            };
            // Sites and loops inside the site's own statement come first.
            let target = match &site.target {
                Target::Let { binding, statement } => {
                    let mut statement = statement.clone();
                    self.visit_stmt_mut(&mut statement);
                    Target::Let {
                        binding: binding.clone(),
                        statement,
                    }
                }
                Target::Expr(expr) => {
                    let mut expr = expr.clone();
                    self.visit_expr_mut(&mut expr);
                    Target::Expr(expr)
                }
            };
            block.stmts.extend(self::site(site, target, self.context));
        }
    }

    fn visit_item_mut(&mut self, _: &mut syn::Item) {
        // The walk leaves no placeholder inside a nested item.
    }

    fn visit_expr_for_loop_mut(&mut self, for_loop: &mut syn::ExprForLoop) {
        visit_mut::visit_expr_for_loop_mut(self, for_loop);
        if let Some(index) = placeholder::take_progress(&mut for_loop.attrs) {
            progress(for_loop, &self.loops[index], self.context);
        }
    }
}

/// The code that replaces one `#[log]` statement: the `let` it sat on, if any, then the
/// gate, and behind the gate the value.
fn site(site: &Site, target: Target, context: &Context) -> Vec<Stmt> {
    let private = context.private();
    let counter = site_local(site.index);
    let run = local("__lb_run");
    let step = local("__lb_step");
    let record = format_ident!("{}", site.args.kind.as_str());
    let record = located_at(quote!(#private::#record), site.args.kind.span);
    // `step = expr` is checked when the site fires: a negative step records nothing.
    let step_value = quote!(#step);
    let checked_step = site.args.step.as_ref().map(|step| {
        let call = located_at(quote!(#private::step), step.span);
        let expr = &step.value;
        quote_spanned!(expr.span()=> #call(#run, #counter, #expr))
    });
    let extra = match site.args.kind.value {
        Kind::Checkpoint => {
            let sites = local("__lb_sites");
            let count = site
                .args
                .keep
                .as_ref()
                .map_or(quote!(1usize), |keep| keep.value.to_token_stream());
            let best = match (&site.args.best, site.args.mode.as_deref()) {
                (Some(metric), Some(mode)) => {
                    let mode = match mode {
                        Mode::Max => quote!(#private::Mode::Max),
                        Mode::Min => quote!(#private::Mode::Min),
                    };
                    let metric = &metric.value;
                    quote!(::core::option::Option::Some((#metric, #mode)))
                }
                _ => quote!(::core::option::Option::None),
            };
            let keep = quote!(#private::Keep { count: #count, best: #best });
            quote!(#sites, #counter, #step_value, #keep)
        }
        _ => quote!(#counter, #step_value),
    };
    let (keep, fire) = match target {
        Target::Let { binding, statement } => {
            let fire = quote_spanned! {binding.span()=>
                #record(#run, #extra, &#binding);
            };
            (Some(*statement), fire)
        }
        Target::Expr(expr) => {
            // Borrowed, not bound: `#[log(text)] hp.name;` must not move out of `hp`, and
            // `#[log(checkpoint)] &model;` hands over the model itself, not a reference.
            let expr = match &expr {
                Expr::Reference(reference) if reference.mutability.is_none() => &*reference.expr,
                other => other,
            };
            let fire = quote_spanned! {expr.span()=>
                #record(#run, #extra, &(#expr));
            };
            (None, fire)
        }
    };
    let fire = match checked_step {
        Some(checked) => quote! {
            if let ::core::option::Option::Some(#step) = #checked {
                #fire
            }
        },
        None => fire,
    };
    let gate: Stmt = syn::parse_quote! {
        if #private::ENABLED {
            if let ::core::option::Option::Some(#step) = #counter.fire() {
                #fire
            }
        }
    };
    keep.into_iter().chain([gate]).collect()
}

/// Wraps the iterator of a `#[progress]` loop, with the metric sites inside it.
fn progress(for_loop: &mut syn::ExprForLoop, progress: &ProgressLoop, context: &Context) {
    let private = context.private();
    let run = local("__lb_run");
    let label = &progress.label;
    let sites = progress.metric_sites.iter().map(|index| site_local(*index));
    let iter = &for_loop.expr;
    let wrapped = quote_spanned! {iter.span()=>
        #private::progress(#run, #label, #iter, &[#(#sites),*])
    };
    *for_loop.expr = syn::parse_quote!(#wrapped);
}

/// The sampler's setting; an interval was checked by `validate`.
fn system(system: Option<&System>, private: &TokenStream) -> TokenStream {
    match system {
        None => quote!(#private::Sampling::Default),
        Some(System::Off) => quote!(#private::Sampling::Off),
        Some(System::Every(lit)) => {
            let nanos = options::interval(&lit.value()).map_or(0, |d| d.as_nanos() as u64);
            quote!(#private::Sampling::Every(::core::time::Duration::from_nanos(#nanos)))
        }
    }
}

fn ranks(ranks: Option<&Ranks>, private: &TokenStream) -> TokenStream {
    match ranks {
        None => quote!(#private::Ranks::Zero),
        Some(Ranks::All) => quote!(#private::Ranks::All),
        Some(Ranks::List(list)) => quote!(#private::Ranks::List(&[#(#list),*])),
    }
}

fn ranks_or_default(
    ranks: Option<&Ranks>,
    context: &Context,
    private: &TokenStream,
) -> TokenStream {
    self::ranks(ranks.or(context.default_ranks.as_ref()), private)
}

/// Whether the return type is spelled `Result<..>` (`std::io::Result`, `anyhow::Result`, ...).
fn names_result(ty: &Type) -> bool {
    matches!(ty, Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "Result"))
}

/// `E` in a return type spelled `Result<T, E>`; `None` for an alias like `anyhow::Result<T>`.
fn error_type(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else { return None };
    let syn::PathArguments::AngleBracketed(args) = &path.path.segments.last()?.arguments else {
        return None;
    };
    match args.args.iter().collect::<Vec<_>>()[..] {
        [syn::GenericArgument::Type(_), syn::GenericArgument::Type(error)] => Some(error),
        _ => None,
    }
}

/// The token that says what an item is (`struct`, `enum`, `impl`, ...), after its
/// attributes and visibility; errors about a misplaced `#[experiment]` point there.
fn item_keyword_span(item: &TokenStream) -> Span {
    let mut tokens = item.clone().into_iter().peekable();
    while let Some(token) = tokens.next() {
        match &token {
            TokenTree::Punct(punct) if punct.as_char() == '#' => {
                tokens.next();
            }
            TokenTree::Ident(ident) if ident == "pub" => {
                if matches!(tokens.peek(), Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis)
                {
                    tokens.next();
                }
            }
            _ => return token.span(),
        }
    }
    Span::call_site()
}

fn mentions_impl(ty: &Type) -> bool {
    ty.to_token_stream()
        .into_iter()
        .any(|t| matches!(t, proc_macro2::TokenTree::Ident(i) if i == "impl"))
}

fn with_errors(item: TokenStream, errors: Errors) -> TokenStream {
    let mut tokens = errors.into_compile_errors();
    tokens.extend(item);
    tokens
}

/// `#[log]` reached as a macro of its own: it sits on an item, or outside any experiment.
pub fn stray_log(item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    errors.at(
        Span::call_site(),
        "`#[log]` belongs on a `let` or expression statement inside an `#[experiment]` function",
    );
    with_errors(item, errors)
}

/// `#[progress]` reached as a macro of its own: it is not on a loop of an experiment.
pub fn stray_progress(item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    errors.at(
        Span::call_site(),
        "`#[progress]` belongs on a `for` loop inside an `#[experiment]` function",
    );
    with_errors(item, errors)
}

#[cfg(test)]
mod tests {
    use quote::quote;
    use syn::parse_quote;

    use super::*;

    /// The expansion, and the function in it, as strings.
    fn expand(args: TokenStream, item: TokenStream) -> (String, String) {
        let output = experiment(args, item);
        let file: syn::File = syn::parse2(output.clone()).unwrap();
        let function = file
            .items
            .iter()
            .find_map(|item| match item {
                syn::Item::Fn(function) => Some(function.to_token_stream().to_string()),
                _ => None,
            })
            .unwrap();
        (output.to_string(), function)
    }

    #[test]
    fn errors_come_with_the_function_stripped_of_labbook_attributes() {
        let (output, function) = expand(
            quote!(),
            quote! {
                fn train(#[config] hp: &Hp) {
                    #[log(metrc)]
                    let loss = 0.5;
                    #[log(metric, every = 0)]
                    let accuracy = 0.9;
                }
            },
        );
        assert_eq!(output.matches("compile_error").count(), 2, "{output}");
        assert!(!function.contains("# [log"), "{function}");
        assert!(!function.contains("# [config"), "{function}");
        assert!(!function.contains("__lb_"), "{function}");
        assert_eq!(
            function.matches("# [allow (unused_variables)]").count(),
            2,
            "{function}"
        );
    }

    #[test]
    fn options_that_do_not_fit_the_kind_are_refused() {
        let (output, _) = expand(
            quote!(),
            quote! {
                fn train() {
                    #[log(param, every = 10, step = 3)]
                    let batch_size = 32;
                    #[log(metric, keep = 3)]
                    let loss = 0.5;
                }
            },
        );
        for message in [
            "`every` has no effect on `#[log(param)]`, which records once",
            "`step` has no effect on `#[log(param)]`, which records once",
            "`keep` applies only to `#[log(checkpoint)]`, not to `#[log(metric)]`",
        ] {
            assert!(output.contains(message), "{message} in {output}");
        }
    }

    #[test]
    fn one_name_keeps_one_kind() {
        let (output, _) = expand(
            quote!(),
            quote! {
                fn train() {
                    #[log(metric)]
                    let loss = 0.5;
                    #[log(text, name = "loss")]
                    format!("{loss}");
                }
            },
        );
        assert!(
            output.contains("`loss` is already logged by `#[log(metric)]`"),
            "{output}"
        );
    }

    #[test]
    fn an_expression_site_borrows_its_value() {
        let (_, function) = expand(
            quote!(),
            quote! {
                fn train(hp: &Hp) {
                    #[log(param)]
                    hp.optimizer;
                }
            },
        );
        assert!(function.contains("\"hp.optimizer\""), "{function}");
        assert!(function.contains("& (hp . optimizer)"), "{function}");
    }

    #[test]
    fn raw_identifiers_name_sites_without_their_prefix() {
        let (_, function) = expand(
            quote!(),
            quote! {
                fn train(batch: &Batch) {
                    #[log(metric)]
                    let r#match = 1;
                    #[log(metric)]
                    batch.r#type;
                }
            },
        );
        assert!(function.contains("\"match\""), "{function}");
        assert!(function.contains("\"batch.type\""), "{function}");
    }

    #[test]
    fn experiment_names_are_one_directory() {
        for (name, message) in [
            (
                "mnist/small",
                "the `#[experiment]` name is one directory name and cannot contain `/`",
            ),
            ("", "the `#[experiment]` name cannot be empty"),
        ] {
            let (output, _) = expand(
                quote!(name = #name),
                quote!(
                    fn train() {}
                ),
            );
            assert!(output.contains(message), "{message} in {output}");
        }
    }

    #[test]
    fn the_error_type_is_found_where_it_is_spelled() {
        let spelled: Type = parse_quote!(std::result::Result<f64, TrainError>);
        let error = error_type(&spelled).map(|ty| ty.to_token_stream().to_string());
        assert_eq!(error.as_deref(), Some("TrainError"));
        assert!(error_type(&parse_quote!(anyhow::Result<f64>)).is_none());
        assert!(error_type(&parse_quote!(f64)).is_none());
    }

    #[test]
    fn an_opaque_error_type_is_not_named_in_the_body() {
        let (output, _) = expand(
            quote!(),
            quote! {
                fn train() -> Result<f64, impl std::fmt::Display> {
                    Ok::<f64, String>(0.5)
                }
            },
        );
        assert!(!output.contains("result_outcome :: <"), "{output}");
        let (output, _) = expand(
            quote!(),
            quote! {
                fn train() -> Result<f64, TrainError> {
                    Ok(0.5)
                }
            },
        );
        assert!(
            output.contains("result_outcome :: < _ , TrainError >"),
            "{output}"
        );
    }

    #[test]
    fn every_placeholder_is_replaced() {
        let (_, function) = expand(
            quote!(),
            quote! {
                fn train(data: Data) {
                    #[progress]
                    for batch in data {
                        #[log(metric)]
                        let loss = {
                            #[log(metric)]
                            let inner = 1.0;
                            #[progress(name = "inner")]
                            for i in 0..2 {}
                            inner
                        };
                    }
                }
            },
        );
        assert!(!function.contains("__lb_site !"), "{function}");
        assert!(!function.contains("__lb_progress"), "{function}");
        for counter in ["__lb_site_0 . fire ()", "__lb_site_1 . fire ()"] {
            assert_eq!(
                function.matches(counter).count(),
                1,
                "{counter} in {function}"
            );
        }
        assert_eq!(
            function.matches("__private :: progress (").count(),
            2,
            "{function}"
        );
    }

    #[test]
    fn the_gate_comes_before_the_value() {
        let (_, function) = expand(
            quote!(),
            quote! {
                fn train(model: &Model) {
                    #[log(metric)]
                    let loss = compute_loss();
                    #[log(histogram, name = "w", step = epoch())]
                    model.weights();
                }
            },
        );
        let at = |needle: &str| {
            function
                .find(needle)
                .unwrap_or_else(|| panic!("{needle} in {function}"))
        };
        // The `let` stays where it was, then its gate.
        assert!(at("let loss = compute_loss ()") < at("__lb_site_0 . fire ()"));
        assert!(at("__lb_site_0 . fire ()") < at("__private :: metric"));
        // An expression, and its step, are evaluated only behind the gate.
        assert!(at("__private :: ENABLED") < at("__lb_site_1 . fire ()"));
        assert!(at("__lb_site_1 . fire ()") < at("epoch ()"));
        assert!(at("epoch ()") < at("model . weights ()"));
        assert_eq!(
            function.matches("model . weights ()").count(),
            1,
            "{function}"
        );
    }

    #[test]
    fn a_progress_loop_shows_the_metric_sites_inside_it() {
        let (_, function) = expand(
            quote!(),
            quote! {
                fn train(data: Data) {
                    #[log(metric)]
                    let before = 0.0;
                    #[progress]
                    for (step, batch) in data.iter() {
                        #[log(metric)]
                        let loss = 0.5;
                        #[log(text, name = "note")]
                        format!("{step}");
                    }
                }
            },
        );
        assert!(
            function.contains(
                "__private :: progress (__lb_run , \"loop\" , data . iter () , & [__lb_site_1])"
            ),
            "{function}"
        );
    }

    #[test]
    fn counters_are_made_once_at_run_start() {
        let (_, function) = expand(
            quote!(ranks = all, crate = my::labbook),
            quote! {
                fn train() {
                    #[log(param)]
                    let seed = 1;
                    #[log(checkpoint, every = EVERY, keep = 2, ranks = [1])]
                    let model = 1;
                }
            },
        );
        assert!(
            function.contains("let __lb_site_0 = & my :: labbook :: __private :: site (__lb_run , 0u32 , \"seed\" , u64 :: MAX , my :: labbook :: __private :: Ranks :: All) ;"),
            "{function}"
        );
        assert!(
            function.contains("__private :: Ranks :: List (& [1u32])"),
            "{function}"
        );
        assert!(
            function.contains("let __lb_sites : & [& my :: labbook :: __private :: Site] = & [__lb_site_0 , __lb_site_1] ;"),
            "{function}"
        );
        assert!(
            function.contains("__lb_site_1 , __lb_step , my :: labbook :: __private :: Keep { count : 2 , best : :: core :: option :: Option :: None }"),
            "{function}"
        );
    }
}
