//! Code generation. Generated code names only `<crate>::__private` items and locals whose
//! names start with `__lb_` (with mixed-site hygiene, so user code cannot see them).

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{FnArg, Ident, ItemFn, Pat, ReturnType, Stmt, Type};

use crate::errors::Errors;
use crate::model::{ExperimentArgs, Kind, Ranks, Site, Target};
use crate::{attr, name, validate, visit};

/// What every site of one experiment needs to know to expand.
pub struct Context {
    krate: TokenStream,
    default_ranks: Option<Ranks>,
}

impl Context {
    fn private(&self) -> TokenStream {
        let krate = &self.krate;
        quote!(#krate::__private)
    }
}

fn local(name: &str) -> Ident {
    Ident::new(name, Span::mixed_site())
}

fn site_local(index: usize) -> Ident {
    format_ident!("__lb_site_{}", index, span = Span::mixed_site())
}

pub fn experiment(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let args = attr::experiment_args(args, &mut errors);
    let mut function: ItemFn = match syn::parse2(item.clone()) {
        Ok(function) => function,
        Err(_) => {
            errors.at(
                Span::call_site(),
                "`#[experiment]` goes on a function: `#[experiment] fn train(...) { ... }`",
            );
            return with_errors(item, errors);
        }
    };
    if let Some(token) = function.sig.asyncness {
        errors.at(token.span, "`#[experiment]` does not support `async fn` yet; call the training code from a plain `fn`");
    }
    if let Some(token) = function.sig.constness {
        errors.at(token.span, "an `#[experiment]` cannot be a `const fn`");
    }
    let config = take_config(&mut function, &mut errors);
    let experiment_name = match &args.name {
        Some(lit) => {
            let value = lit.value();
            if let Some(problem) = name::problem(&value) {
                errors.at(lit.span(), problem);
            } else if value.contains('/') {
                errors.at(
                    lit.span(),
                    "an experiment name is one directory name and cannot contain `/`",
                );
            }
            value
        }
        None => function.sig.ident.to_string(),
    };
    let context = Context {
        krate: args
            .krate
            .as_ref()
            .map_or_else(|| quote!(::labbook), ToTokens::to_token_stream),
        default_ranks: args.ranks.clone(),
    };
    let mut visitor = visit::Sites::new(&context, &mut errors);
    visitor.visit_block_mut(&mut function.block);
    let sites = visitor.sites;
    validate::sites(&sites, &mut errors);
    if !errors.is_empty() {
        return with_errors(stripped(item), errors);
    }
    wrap(
        function,
        &args,
        &experiment_name,
        config.as_ref(),
        &sites,
        &context,
    )
}

/// Re-emits the user's function around the generated run handling.
fn wrap(
    function: ItemFn,
    args: &ExperimentArgs,
    experiment_name: &str,
    config: Option<&Ident>,
    sites: &[Site],
    context: &Context,
) -> TokenStream {
    let private = context.private();
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = function;
    let experiment = local("__lb_experiment");
    let run = local("__lb_run");
    let body = local("__lb_body");
    let value = local("__lb_value");
    let ranks = ranks(args.ranks.as_ref(), &private);
    let function_name = sig.ident.to_string();
    let config = match config {
        Some(ident) => {
            quote_spanned!(ident.span()=> ::core::option::Option::Some(#private::config(&#ident)))
        }
        None => quote!(::core::option::Option::None),
    };
    let counters = sites.iter().map(|site| {
        let counter = site_local(site.index);
        let ranks = ranks_or_default(site.args.ranks.as_ref(), context, &private);
        let counter_new = match site.args.kind {
            Kind::Param => quote!(#private::site_once(#run, #ranks)),
            _ => {
                let every = site.args.every.map_or(1, |(every, _)| every);
                quote!(#private::site(#run, #every, #ranks))
            }
        };
        quote!(let #counter = &#counter_new;)
    });
    let return_type = match &sig.output {
        ReturnType::Type(arrow, ty) if !mentions_impl(ty) => quote!(#arrow #ty),
        ReturnType::Type(..) => TokenStream::new(),
        ReturnType::Default => quote!(-> ()),
    };
    let outcome = match &sig.output {
        ReturnType::Type(_, ty) if names_result(ty) => {
            quote_spanned!(ty.span()=> #private::result_outcome(&#value))
        }
        _ => quote! {{
            #[allow(unused_imports)]
            use #private::{AnyOutcome as _, ResultOutcome as _};
            (&#value).__lb_outcome()
        }},
    };
    let stmts = &block.stmts;
    quote! {
        #(#attrs)*
        #vis #sig {
            let #experiment = #private::Experiment::begin(
                #private::ExperimentSpec {
                    name: #experiment_name,
                    function: #function_name,
                    file: ::core::file!(),
                    ranks: #ranks,
                },
                #config,
            );
            let #run = #experiment.state();
            #(#counters)*
            let #body = #private::catch(|| #return_type { #(#stmts)* });
            match #body {
                ::core::result::Result::Ok(#value) => {
                    #experiment.end(#outcome);
                    #value
                }
                ::core::result::Result::Err(panic) => #experiment.end_with_panic(panic),
            }
        }
    }
}

/// The code that replaces one `#[log]` statement (`stmt`, with the attribute stripped).
pub fn site(site: &Site, stmt: Stmt, context: &Context) -> Vec<Stmt> {
    let private = context.private();
    let counter = site_local(site.index);
    let run = local("__lb_run");
    let step = local("__lb_step");
    let name = syn::LitStr::new(&site.name, site.name_span);
    let record = format_ident!("{}", site.args.kind.as_str());
    let step_value = match &site.args.step {
        Some(expr) => quote_spanned!(expr.span()=> #private::step(#expr)),
        None => quote!(#step),
    };
    let (keep, fire) = match &site.target {
        Target::Let(ident) => {
            let fire = quote_spanned! {ident.span()=>
                #private::#record(#run, #name, #step_value, &#ident);
            };
            (Some(stmt), fire)
        }
        Target::Expr(expr) => {
            let value = local("__lb_value");
            let fire = quote_spanned! {expr.span()=>
                let #value = #expr;
                #private::#record(#run, #name, #step_value, &#value);
            };
            (None, fire)
        }
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

/// Finds the `#[config]` argument, strips the attribute, and returns its binding.
fn take_config(function: &mut ItemFn, errors: &mut Errors) -> Option<Ident> {
    let mut config: Option<Ident> = None;
    for input in &mut function.sig.inputs {
        let (attrs, pat) = match input {
            FnArg::Typed(typed) => (&mut typed.attrs, Some(&*typed.pat)),
            FnArg::Receiver(receiver) => (&mut receiver.attrs, None),
        };
        let (found, rest): (Vec<_>, Vec<_>) =
            std::mem::take(attrs).into_iter().partition(attr::is_config);
        *attrs = rest;
        let Some(first) = found.first() else { continue };
        let span = attr::path_span(first);
        match pat {
            _ if config.is_some() => errors.at(span, "only one argument can be `#[config]`"),
            Some(Pat::Ident(ident)) => config = Some(ident.ident.clone()),
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

/// Whether the return type is spelled `Result<..>` (`std::io::Result`, `anyhow::Result`, ...).
fn names_result(ty: &Type) -> bool {
    matches!(ty, Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "Result"))
}

fn mentions_impl(ty: &Type) -> bool {
    ty.to_token_stream()
        .into_iter()
        .any(|t| matches!(t, proc_macro2::TokenTree::Ident(i) if i == "impl"))
}

/// The user's function with labbook's attributes removed, so that rustc reports only our
/// errors and not a cascade of unknown attributes.
fn stripped(item: TokenStream) -> TokenStream {
    let Ok(mut function) = syn::parse2::<ItemFn>(item.clone()) else {
        return item;
    };
    take_config(&mut function, &mut Errors::default());
    visit::Stray { errors: None }.visit_block_mut(&mut function.block);
    function.into_token_stream()
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
