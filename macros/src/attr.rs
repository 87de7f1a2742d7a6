//! Parsing of `#[experiment(...)]`, `#[log(...)]`, `#[progress(...)]` and `#[config(...)]`
//! arguments. Each key is declared once in [`kw`]; each option is set through [`Attr`],
//! which refuses a second one and keeps the key's span.

use proc_macro2::Span;
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned as _;
use syn::{Attribute, Ident, LitInt, LitStr, Token};

use crate::errors::Errors;
use crate::model::{Every, ExperimentArgs, Kind, LogArgs, Mode, Ranks, Spanned, System};

/// The keys of every labbook attribute (`crate` is Rust's own keyword, `Token![crate]`).
pub mod kw {
    syn::custom_keyword!(name);
    syn::custom_keyword!(ranks);
    syn::custom_keyword!(resume);
    syn::custom_keyword!(every);
    syn::custom_keyword!(step);
    syn::custom_keyword!(keep);
    syn::custom_keyword!(public);
    syn::custom_keyword!(all);
    syn::custom_keyword!(system);
    syn::custom_keyword!(off);
    syn::custom_keyword!(tags);
    syn::custom_keyword!(group);
    syn::custom_keyword!(best);
    syn::custom_keyword!(mode);
    syn::custom_keyword!(max);
    syn::custom_keyword!(min);
}

const EXPERIMENT_OPTIONS: &str = "`name`, `ranks`, `resume`, `system`, `tags`, `group`, `crate`";
const LOG_OPTIONS: &str = "`every`, `step`, `name`, `ranks`, `keep`, `best`, `mode`";

/// One option of one attribute while it is parsed: set at most once.
pub struct Attr<T> {
    key: &'static str,
    attribute: &'static str,
    value: Option<Spanned<T>>,
}

impl<T> Attr<T> {
    /// The option `key` of `#[attribute(...)]`.
    pub fn new(attribute: &'static str, key: &'static str) -> Self {
        Attr {
            key,
            attribute,
            value: None,
        }
    }

    /// Sets the option from the key at `span`; a second one is reported there, and the
    /// later value is kept.
    pub fn set(&mut self, span: Span, value: T, errors: &mut Errors) {
        if self.value.replace(Spanned::new(value, span)).is_some() {
            errors.at(
                span,
                format_args!("duplicate option `{}` in `#[{}]`", self.key, self.attribute),
            );
        }
    }

    pub fn get(self) -> Option<Spanned<T>> {
        self.value
    }
}

/// Parses the key `K` and the `=` after it, when the input starts with that key.
fn key<K: Parse + syn::token::Token + syn::spanned::Spanned>(
    input: ParseStream<'_>,
) -> syn::Result<Option<Span>> {
    if !K::peek(input.cursor()) {
        return Ok(None);
    }
    let key: K = input.parse()?;
    input.parse::<Token![=]>()?;
    Ok(Some(key.span()))
}

/// Whether a path parsed by `parse_nested_meta` is the key `K`.
fn is_key<K: Parse>(path: &syn::Path) -> bool {
    syn::parse2::<K>(path.to_token_stream()).is_ok()
}

/// Parses `name = "...", ranks = ..., resume = expr, system = ..., tags = [...],
/// group = "...", crate = path`.
pub fn experiment_args(tokens: proc_macro2::TokenStream, errors: &mut Errors) -> ExperimentArgs {
    let parser = |input: ParseStream<'_>| {
        let mut name = Attr::new("experiment", "name");
        let mut ranks = Attr::new("experiment", "ranks");
        let mut resume = Attr::new("experiment", "resume");
        let mut krate = Attr::new("experiment", "crate");
        let mut system = Attr::new("experiment", "system");
        let mut tags = Attr::new("experiment", "tags");
        let mut group = Attr::new("experiment", "group");
        while !input.is_empty() {
            if let Some(span) = key::<Token![crate]>(input)? {
                krate.set(span, input.parse()?, errors);
            } else if let Some(span) = key::<kw::name>(input)? {
                name.set(span, input.parse()?, errors);
            } else if let Some(span) = key::<kw::ranks>(input)? {
                ranks.set(span, self::ranks(input)?, errors);
            } else if let Some(span) = key::<kw::resume>(input)? {
                resume.set(span, input.parse()?, errors);
            } else if let Some(span) = key::<kw::system>(input)? {
                system.set(span, self::system(input)?, errors);
            } else if let Some(span) = key::<kw::tags>(input)? {
                tags.set(span, self::tags(input)?, errors);
            } else if let Some(span) = key::<kw::group>(input)? {
                group.set(span, input.parse()?, errors);
            } else {
                let key = Ident::parse_any(input)?;
                input.parse::<Token![=]>()?;
                errors.at(
                    key.span(),
                    format_args!(
                        "unknown option `{key}` in `#[experiment]`; expected one of {EXPERIMENT_OPTIONS}"
                    ),
                );
                input.parse::<syn::Expr>()?;
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok(ExperimentArgs {
            name: name.get(),
            ranks: ranks.get(),
            resume: resume.get(),
            krate: krate.get(),
            system: system.get(),
            tags: tags.get(),
            group: group.get(),
        })
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
    let mut every = Attr::new("log", "every");
    let mut step = Attr::new("log", "step");
    let mut name = Attr::new("log", "name");
    let mut ranks = Attr::new("log", "ranks");
    let mut keep = Attr::new("log", "keep");
    let mut best = Attr::new("log", "best");
    let mut mode = Attr::new("log", "mode");
    while !input.is_empty() {
        input.parse::<Token![,]>()?;
        if input.is_empty() {
            break;
        }
        if let Some(span) = key::<kw::every>(input)? {
            every.set(span, every_value(input, errors)?, errors);
        } else if let Some(span) = key::<kw::step>(input)? {
            step.set(span, input.parse()?, errors);
        } else if let Some(span) = key::<kw::name>(input)? {
            name.set(span, input.parse()?, errors);
        } else if let Some(span) = key::<kw::ranks>(input)? {
            ranks.set(span, self::ranks(input)?, errors);
        } else if let Some(span) = key::<kw::keep>(input)? {
            keep.set(span, input.parse()?, errors);
        } else if let Some(span) = key::<kw::best>(input)? {
            best.set(span, input.parse()?, errors);
        } else if let Some(span) = key::<kw::mode>(input)? {
            mode.set(span, mode_value(input, errors)?, errors);
        } else {
            let key = Ident::parse_any(input)?;
            input.parse::<Token![=]>()?;
            errors.at(
                key.span(),
                format_args!("unknown option `{key}` in `#[log]`; expected one of {LOG_OPTIONS}"),
            );
            input.parse::<syn::Expr>()?;
        }
    }
    Ok(kind.map(|kind| LogArgs {
        kind: Spanned::new(kind, kind_ident.span()),
        every: every.get(),
        step: step.get(),
        name: name.get(),
        ranks: ranks.get(),
        keep: keep.get(),
        best: best.get(),
        mode: mode.get(),
    }))
}

/// The value of `mode = max | min`; anything else is reported at the value (and read as
/// `max`, so that no second error follows from it).
fn mode_value(input: ParseStream<'_>, errors: &mut Errors) -> syn::Result<Mode> {
    if input.peek(kw::max) {
        input.parse::<kw::max>()?;
        return Ok(Mode::Max);
    }
    if input.peek(kw::min) {
        input.parse::<kw::min>()?;
        return Ok(Mode::Min);
    }
    let value: syn::Expr = input.parse()?;
    errors.at(
        value.span(),
        "`mode` is `max` (larger is better) or `min` (smaller is better), like `mode = max`",
    );
    Ok(Mode::Max)
}

/// The value of `every = ...`: a positive literal or a constant's path.
fn every_value(input: ParseStream<'_>, errors: &mut Errors) -> syn::Result<Every> {
    Ok(match input.parse::<syn::Expr>()? {
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
    })
}

/// `off` or an interval like `"5s"` (checked by `validate`).
fn system(input: ParseStream<'_>) -> syn::Result<System> {
    if input.peek(kw::off) {
        input.parse::<kw::off>()?;
        return Ok(System::Off);
    }
    if input.peek(LitStr) {
        return Ok(System::Every(input.parse()?));
    }
    let token: proc_macro2::TokenTree = input.parse()?;
    Err(syn::Error::new(
        token.span(),
        "`system` takes `off` or an interval like `system = \"5s\"`",
    ))
}

/// `["baseline", "lr=0.1"]`.
fn tags(input: ParseStream<'_>) -> syn::Result<Vec<LitStr>> {
    if !input.peek(syn::token::Bracket) {
        let token: proc_macro2::TokenTree = input.parse()?;
        return Err(syn::Error::new(
            token.span(),
            "`tags` takes a list of strings, like `tags = [\"baseline\", \"optimizer=adam\"]`",
        ));
    }
    let content;
    syn::bracketed!(content in input);
    let list = Punctuated::<LitStr, Token![,]>::parse_terminated(&content)?;
    Ok(list.into_iter().collect())
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
    if input.peek(kw::all) {
        input.parse::<kw::all>()?;
        return Ok(Ranks::All);
    }
    let ident = Ident::parse_any(input)?;
    Err(syn::Error::new(
        ident.span(),
        "`ranks` takes `all` or a list like `[0, 2]`",
    ))
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
                if is_key::<kw::name>(&meta.path) {
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
    let mut given = Attr::new("config", "public");
    let parsed = attr.parse_nested_meta(|meta| {
        if !is_key::<kw::public>(&meta.path) {
            return Err(meta.error(format_args!(
                "unknown option in `#[config]`; expected {USAGE}"
            )));
        }
        let key = meta.path.span();
        let value: syn::Expr = meta.value()?.parse()?;
        given.set(key, (), errors);
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
        assert_eq!(args.kind.value, Kind::Metric);
        assert!(matches!(args.every.as_deref(), Some(Every::Literal(10))));
        assert!(args.step.is_some());
        assert!(matches!(args.ranks.as_deref(), Some(Ranks::List(ranks)) if ranks == &[0, 2]));
        assert_eq!(args.name.unwrap().value.value(), "train/loss");
        assert!(args.keep.is_none());
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
            ["unknown option `evry` in `#[log]`; expected one of `every`, `step`, `name`, `ranks`, `keep`, `best`, `mode`"]
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
        assert_eq!(args.name.unwrap().value.value(), "probe");
        assert!(matches!(args.ranks.as_deref(), Some(Ranks::All)));
        let krate = args.krate.unwrap().value;
        assert_eq!(krate.to_token_stream().to_string(), "my :: labbook");

        let mut errors = Errors::default();
        experiment_args(
            quote::quote!(nmae = "probe", name = "a", name = "b"),
            &mut errors,
        );
        assert_eq!(
            errors.messages(),
            [
                "unknown option `nmae` in `#[experiment]`; expected one of `name`, `ranks`, `resume`, `system`, `tags`, `group`, `crate`",
                "duplicate option `name` in `#[experiment]`",
            ]
        );
    }

    #[test]
    fn every_option_is_refused_twice() {
        for (attr, key) in [
            (
                parse_quote!(#[log(checkpoint, every = 1, every = 2)]),
                "every",
            ),
            (parse_quote!(#[log(metric, step = i, step = j)]), "step"),
            (parse_quote!(#[log(metric, name = "a", name = "b")]), "name"),
            (
                parse_quote!(#[log(metric, ranks = all, ranks = [0])]),
                "ranks",
            ),
            (parse_quote!(#[log(checkpoint, keep = 1, keep = 2)]), "keep"),
        ] {
            let (args, messages) = parse_log(attr);
            assert!(args.is_some(), "{key}");
            assert_eq!(messages, [format!("duplicate option `{key}` in `#[log]`")]);
        }
        for (args, key) in [
            (quote::quote!(name = "a", name = "b"), "name"),
            (quote::quote!(ranks = all, ranks = all), "ranks"),
            (quote::quote!(resume = None, resume = None), "resume"),
            (quote::quote!(crate = a, crate = b), "crate"),
        ] {
            let mut errors = Errors::default();
            experiment_args(args, &mut errors);
            assert_eq!(
                errors.messages(),
                [format!("duplicate option `{key}` in `#[experiment]`")]
            );
        }
        let mut errors = Errors::default();
        config_public(
            &parse_quote!(#[config(public = ["a"], public = ["b"])]),
            &mut errors,
        );
        assert_eq!(
            errors.messages(),
            ["duplicate option `public` in `#[config]`"]
        );
    }

    #[test]
    fn the_later_of_two_options_is_kept() {
        let (args, _) = parse_log(parse_quote!(#[log(metric, every = 10, every = 20)]));
        assert!(matches!(
            args.unwrap().every.as_deref(),
            Some(Every::Literal(20))
        ));
    }

    #[test]
    fn every_takes_a_literal_or_a_constant() {
        let (args, messages) = parse_log(parse_quote!(#[log(metric, every = LOG_EVERY)]));
        assert!(messages.is_empty(), "{messages:?}");
        assert!(matches!(
            args.unwrap().every.as_deref(),
            Some(Every::Const(path)) if path.path.is_ident("LOG_EVERY")
        ));
        let (_, messages) = parse_log(parse_quote!(#[log(metric, every = n + 1)]));
        assert_eq!(
            messages,
            ["`every` takes a positive integer literal or a `u64` constant, like `every = 10` or `every = LOG_EVERY`"]
        );
    }

    #[test]
    fn a_key_needs_a_value() {
        let (_, messages) = parse_log(parse_quote!(#[log(metric, every)]));
        assert_eq!(messages, ["expected `=`"]);
        let mut errors = Errors::default();
        experiment_args(quote::quote!(name "probe"), &mut errors);
        assert_eq!(errors.messages(), ["expected `=`"]);
    }

    #[test]
    fn keys_are_exact_names() {
        // A raw identifier is not the key it spells, and a keyword is an unknown key.
        let (_, messages) = parse_log(parse_quote!(#[log(metric, r#every = 10)]));
        assert_eq!(
            messages,
            ["unknown option `r#every` in `#[log]`; expected one of `every`, `step`, `name`, `ranks`, `keep`, `best`, `mode`"]
        );
        let (_, messages) = parse_log(parse_quote!(#[log(metric, type = 10)]));
        assert_eq!(
            messages,
            ["unknown option `type` in `#[log]`; expected one of `every`, `step`, `name`, `ranks`, `keep`, `best`, `mode`"]
        );
    }

    #[test]
    fn progress_takes_a_name() {
        let name = progress_name(&parse_quote!(#[progress(name = "epochs")])).unwrap();
        assert_eq!(name.unwrap().value(), "epochs");
        assert!(progress_name(&parse_quote!(#[progress])).unwrap().is_none());
        let error = progress_name(&parse_quote!(#[progress(label = "epochs")])).unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown option in `#[progress]`; expected `name = \"...\"`"
        );
    }
}
