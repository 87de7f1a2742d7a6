//! Parsing of `#[experiment(...)]` and `#[log(...)]` arguments.

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Attribute, Ident, LitInt, LitStr, Token};

use crate::errors::Errors;
use crate::model::{Every, ExperimentArgs, Kind, LogArgs, Ranks};

const EXPERIMENT_OPTIONS: &str = "`name`, `ranks`, `resume`, `crate`";
const LOG_OPTIONS: &str = "`every`, `step`, `name`, `ranks`, `keep`";

/// Parses `name = "...", ranks = ..., crate = path`.
pub fn experiment_args(tokens: proc_macro2::TokenStream, errors: &mut Errors) -> ExperimentArgs {
    let parser = |input: ParseStream<'_>| {
        let mut args = ExperimentArgs::default();
        while !input.is_empty() {
            if input.peek(Token![crate]) {
                let key: Token![crate] = input.parse()?;
                input.parse::<Token![=]>()?;
                let path = input.parse()?;
                if args.krate.replace(path).is_some() {
                    errors.at(key.span, "duplicate option `crate` in `#[experiment]`");
                }
            } else {
                let key = Ident::parse_any(input)?;
                input.parse::<Token![=]>()?;
                match key.to_string().as_str() {
                    "name" => {
                        let name: LitStr = input.parse()?;
                        if args.name.replace(name).is_some() {
                            errors.at(key.span(), "duplicate option `name` in `#[experiment]`");
                        }
                    }
                    "ranks" => {
                        let ranks = ranks(input)?;
                        if args.ranks.replace(ranks).is_some() {
                            errors.at(key.span(), "duplicate option `ranks` in `#[experiment]`");
                        }
                    }
                    "resume" => {
                        let resume = input.parse()?;
                        if args.resume.replace(resume).is_some() {
                            errors.at(key.span(), "duplicate option `resume` in `#[experiment]`");
                        }
                    }
                    other => {
                        errors.at(
                            key.span(),
                            format_args!(
                                "unknown option `{other}` in `#[experiment]`; expected one of {EXPERIMENT_OPTIONS}"
                            ),
                        );
                        input.parse::<syn::Expr>()?;
                    }
                }
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok(args)
    };
    match parser.parse2(tokens) {
        Ok(args) => args,
        Err(e) => {
            errors.push(e);
            ExperimentArgs::default()
        }
    }
}

/// Parses the arguments of one `#[log(...)]` attribute. Returns `None` when the attribute is
/// unusable; every problem found is in `errors`.
pub fn log_args(attr: &Attribute, errors: &mut Errors) -> Option<LogArgs> {
    let list = match &attr.meta {
        syn::Meta::List(list) => list,
        _ => {
            errors.at(
                path_span(attr),
                "`#[log]` needs a kind, like `#[log(metric)]` or `#[log(text, name = \"note\")]`",
            );
            return None;
        }
    };
    let parser = |input: ParseStream<'_>| log_args_inner(input, errors);
    match parser.parse2(list.tokens.clone()) {
        Ok(args) => args,
        Err(e) => {
            errors.push(e);
            None
        }
    }
}

fn log_args_inner(input: ParseStream<'_>, errors: &mut Errors) -> syn::Result<Option<LogArgs>> {
    if input.is_empty() {
        return Err(input.error("`#[log]` needs a kind, like `#[log(metric)]`"));
    }
    let kind_ident = Ident::parse_any(input)?;
    if input.peek(Token![=]) {
        return Err(syn::Error::new(
            kind_ident.span(),
            format_args!(
                "`#[log]` takes the kind first, like `#[log(metric, {kind_ident} = ...)]`"
            ),
        ));
    }
    let kind = Kind::from_str(&kind_ident.to_string());
    if kind.is_none() {
        let kinds: Vec<_> = Kind::ALL
            .iter()
            .map(|k| format!("`{}`", k.as_str()))
            .collect();
        errors.at(
            kind_ident.span(),
            format_args!(
                "unknown kind `{kind_ident}` in `#[log]`; expected one of {}",
                kinds.join(", ")
            ),
        );
    }
    let mut args = LogArgs {
        kind: kind.unwrap_or(Kind::Metric),
        kind_span: kind_ident.span(),
        every: None,
        step: None,
        name: None,
        ranks: None,
        keep: None,
    };
    while !input.is_empty() {
        input.parse::<Token![,]>()?;
        if input.is_empty() {
            break;
        }
        let key = Ident::parse_any(input)?;
        input.parse::<Token![=]>()?;
        let duplicate = match key.to_string().as_str() {
            "every" => {
                let every = match input.parse::<syn::Expr>()? {
                    syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Int(lit),
                        ..
                    }) => {
                        let value: u64 = lit.base10_parse()?;
                        if value == 0 {
                            errors.at(
                                lit.span(),
                                "`every` must be at least 1: `every = 1` logs every time the site runs",
                            );
                        }
                        Every::Literal(value.max(1))
                    }
                    syn::Expr::Path(path) => Every::Const(path),
                    other => {
                        errors.at(
                            other.span(),
                            "`every` takes a positive integer literal or a `u64` constant, like `every = 10` or `every = LOG_EVERY`",
                        );
                        Every::Literal(1)
                    }
                };
                args.every.replace((every, key.span())).is_some()
            }
            "step" => args.step.replace((input.parse()?, key.span())).is_some(),
            "name" => args.name.replace(input.parse()?).is_some(),
            "ranks" => args.ranks.replace(ranks(input)?).is_some(),
            "keep" => args.keep.replace((input.parse()?, key.span())).is_some(),
            other => {
                errors.at(
                    key.span(),
                    format_args!(
                        "unknown option `{other}` in `#[log]`; expected one of {LOG_OPTIONS}"
                    ),
                );
                input.parse::<syn::Expr>()?;
                false
            }
        };
        if duplicate {
            errors.at(
                key.span(),
                format_args!("duplicate option `{key}` in `#[log]`"),
            );
        }
    }
    Ok(kind.map(|_| args))
}

/// `all` or `[0, 2]`.
fn ranks(input: ParseStream<'_>) -> syn::Result<Ranks> {
    if input.peek(syn::token::Bracket) {
        let content;
        let bracket = syn::bracketed!(content in input);
        let list = Punctuated::<LitInt, Token![,]>::parse_terminated(&content)?;
        if list.is_empty() {
            return Err(syn::Error::new(
                bracket.span.join(),
                "`ranks` needs at least one rank, like `ranks = [0]`",
            ));
        }
        let ranks = list
            .iter()
            .map(|lit| lit.base10_parse::<u32>())
            .collect::<syn::Result<_>>()?;
        return Ok(Ranks::List(ranks));
    }
    let ident = Ident::parse_any(input)?;
    if ident == "all" {
        Ok(Ranks::All)
    } else {
        Err(syn::Error::new(
            ident.span(),
            "`ranks` takes `all` or a list like `[0, 2]`",
        ))
    }
}

/// The span of an attribute's path, for errors about the attribute as a whole.
pub fn path_span(attr: &Attribute) -> Span {
    attr.path().span()
}

/// Whether `attr` is `#[log(...)]` (also spelled `#[labbook::log(...)]`).
pub fn is_log(attr: &Attribute) -> bool {
    is_named(attr, "log")
}

/// Whether `attr` is `#[progress]` (also spelled `#[labbook::progress]`).
pub fn is_progress(attr: &Attribute) -> bool {
    is_named(attr, "progress")
}

/// The label of a `#[progress]` or `#[progress(name = "...")]` loop, if it names one.
pub fn progress_name(attr: &Attribute) -> syn::Result<Option<LitStr>> {
    match &attr.meta {
        syn::Meta::Path(_) => Ok(None),
        _ => {
            let mut name = None;
            attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("name") {
                    name = Some(meta.value()?.parse::<LitStr>()?);
                    Ok(())
                } else {
                    Err(meta.error("unknown option in `#[progress]`; expected `name = \"...\"`"))
                }
            })?;
            Ok(name)
        }
    }
}

/// Parses `#[config]` or `#[config(public = ["field", "nested.field"])]`: the fields whose
/// secret-looking names are kept visible in the recorded config.
pub fn config_public(attr: &Attribute, errors: &mut Errors) -> Vec<LitStr> {
    const USAGE: &str = "`#[config(public = [\"field\", ...])]`";
    let mut public: Vec<LitStr> = Vec::new();
    match &attr.meta {
        syn::Meta::Path(_) => return public,
        syn::Meta::NameValue(meta) => {
            errors.at(
                meta.eq_token.span,
                format_args!("`#[config]` takes its options in parentheses: {USAGE}"),
            );
            return public;
        }
        syn::Meta::List(_) => {}
    }
    let mut seen = false;
    let parsed = attr.parse_nested_meta(|meta| {
        if !meta.path.is_ident("public") {
            return Err(meta.error(format_args!(
                "unknown option in `#[config]`; expected {USAGE}"
            )));
        }
        let key = meta.path.span();
        let value: syn::Expr = meta.value()?.parse()?;
        if std::mem::replace(&mut seen, true) {
            errors.at(key, "duplicate option `public` in `#[config]`");
        }
        let syn::Expr::Array(list) = value else {
            errors.at(
                value.span(),
                format_args!("`public` takes a list of field names: {USAGE}"),
            );
            return Ok(());
        };
        for item in list.elems {
            match item {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(field),
                    ..
                }) => {
                    if field.value().trim().is_empty() {
                        errors.at(field.span(), "a `public` field name cannot be empty");
                    } else if public.iter().any(|f| f.value() == field.value()) {
                        errors.at(
                            field.span(),
                            format_args!("`{}` is listed twice in `public`", field.value()),
                        );
                    } else {
                        public.push(field);
                    }
                }
                other => errors.at(
                    other.span(),
                    "`public` lists field names as string literals, like `public = [\"eos_token\"]` or `[\"tokenizer.eos_token\"]`",
                ),
            }
        }
        Ok(())
    });
    if let Err(e) = parsed {
        errors.push(e);
    }
    public
}

/// Whether `attr` is `#[config]` on an experiment argument.
pub fn is_config(attr: &Attribute) -> bool {
    is_named(attr, "config")
}

fn is_named(attr: &Attribute, name: &str) -> bool {
    let path = attr.path();
    path.segments.last().is_some_and(|s| s.ident == name)
        && (path.segments.len() == 1
            || (path.segments.len() == 2 && path.segments[0].ident == "labbook"))
}

#[cfg(test)]
mod tests {
    use syn::parse_quote;

    use super::*;

    fn parse_log(attr: Attribute) -> (Option<LogArgs>, Vec<String>) {
        let mut errors = Errors::default();
        let args = log_args(&attr, &mut errors);
        (args, errors.messages())
    }

    #[test]
    fn options_keep_their_values() {
        let (args, messages) = parse_log(
            parse_quote!(#[log(metric, every = 10, step = i * 2, ranks = [0, 2], name = "train/loss")]),
        );
        assert!(messages.is_empty(), "{messages:?}");
        let args = args.unwrap();
        assert_eq!(args.kind, Kind::Metric);
        assert!(matches!(args.every, Some((Every::Literal(10), _))));
        assert!(args.step.is_some());
        assert!(matches!(args.ranks, Some(Ranks::List(ref ranks)) if ranks == &[0, 2]));
        assert_eq!(args.name.unwrap().value(), "train/loss");
    }

    #[test]
    fn config_public_fields_are_string_literals() {
        let parse = |attr: Attribute| {
            let mut errors = Errors::default();
            let public = config_public(&attr, &mut errors);
            let public: Vec<String> = public.iter().map(LitStr::value).collect();
            (public, errors.messages())
        };
        assert_eq!(parse(parse_quote!(#[config])), (vec![], vec![]));
        assert_eq!(
            parse(parse_quote!(#[config(public = ["eos_token", "db.auth"])])),
            (vec!["eos_token".to_owned(), "db.auth".to_owned()], vec![])
        );
        let (_, messages) = parse(parse_quote!(#[config(public = [eos_token, "a", "a", ""])]));
        assert_eq!(messages.len(), 3, "{messages:?}");
        let (_, messages) = parse(parse_quote!(#[config(private = ["a"])]));
        assert!(
            messages[0].starts_with("unknown option in `#[config]`"),
            "{messages:?}"
        );
        let (_, messages) = parse(parse_quote!(#[config(public = "a")]));
        assert!(
            messages[0].starts_with("`public` takes a list"),
            "{messages:?}"
        );
    }

    #[test]
    fn unknown_option_lists_the_valid_ones() {
        let (_, messages) = parse_log(parse_quote!(#[log(metric, evry = 10)]));
        assert_eq!(
            messages,
            ["unknown option `evry` in `#[log]`; expected one of `every`, `step`, `name`, `ranks`, `keep`"]
        );
    }

    #[test]
    fn problems_in_one_attribute_accumulate() {
        let (args, messages) = parse_log(parse_quote!(#[log(metrc, every = 0, every = 2)]));
        assert!(args.is_none());
        assert_eq!(
            messages,
            [
                "unknown kind `metrc` in `#[log]`; expected one of `metric`, `param`, `text`, `histogram`, `image`, `checkpoint`, `artifact`",
                "`every` must be at least 1: `every = 1` logs every time the site runs",
                "duplicate option `every` in `#[log]`",
            ]
        );
    }

    #[test]
    fn a_kind_is_required_first() {
        let (_, messages) = parse_log(parse_quote!(#[log]));
        assert_eq!(
            messages,
            ["`#[log]` needs a kind, like `#[log(metric)]` or `#[log(text, name = \"note\")]`"]
        );
        let (_, messages) = parse_log(parse_quote!(#[log(every = 10, metric)]));
        assert_eq!(
            messages,
            ["`#[log]` takes the kind first, like `#[log(metric, every = ...)]`"]
        );
    }

    #[test]
    fn ranks_takes_all_or_a_list() {
        let (_, messages) = parse_log(parse_quote!(#[log(metric, ranks = foo)]));
        assert_eq!(messages, ["`ranks` takes `all` or a list like `[0, 2]`"]);
        let (_, messages) = parse_log(parse_quote!(#[log(metric, ranks = [])]));
        assert_eq!(
            messages,
            ["`ranks` needs at least one rank, like `ranks = [0]`"]
        );
    }

    #[test]
    fn experiment_options() {
        let mut errors = Errors::default();
        let args = experiment_args(
            quote::quote!(name = "probe", ranks = all, crate = my::labbook),
            &mut errors,
        );
        assert!(errors.is_empty());
        assert_eq!(args.name.unwrap().value(), "probe");
        assert!(matches!(args.ranks, Some(Ranks::All)));
        assert!(args.krate.is_some());

        let mut errors = Errors::default();
        experiment_args(
            quote::quote!(nmae = "probe", name = "a", name = "b"),
            &mut errors,
        );
        assert_eq!(
            errors.messages(),
            [
                "unknown option `nmae` in `#[experiment]`; expected one of `name`, `ranks`, `resume`, `crate`",
                "duplicate option `name` in `#[experiment]`",
            ]
        );
    }
}
