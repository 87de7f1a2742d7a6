//! Checks on the complete model, after the walk and before any code is generated: the
//! function itself, the experiment's and the sites' names, options that do not fit a site's
//! kind, one name used with two kinds, and a `best` that names no metric of the experiment.

use std::collections::HashMap;

use crate::errors::Errors;
use crate::model::{Experiment, ExperimentArgs, Kind, Site, System};
use crate::{name, options};

/// Every check, in the order of the source: the function, then each site.
pub fn experiment(experiment: &Experiment, errors: &mut Errors) {
    let sig = &experiment.function.sig;
    if let Some(token) = sig.asyncness {
        errors.at(token.span, "`#[experiment]` does not support `async fn` yet; call the training code from a plain `fn`");
    }
    if let Some(token) = sig.constness {
        errors.at(token.span, "an `#[experiment]` cannot be a `const fn`");
    }
    if let Some(lit) = &experiment.args.name {
        let value = lit.value.value();
        if value.contains('/') {
            errors.at(
                lit.value.span(),
                "the `#[experiment]` name is one directory name and cannot contain `/`",
            );
        } else if let Some(problem) = name::problem(&value, "the `#[experiment]` name") {
            errors.at(lit.value.span(), problem);
        }
    }
    experiment_options(&experiment.args, errors);
    sites(&experiment.sites, errors);
    best_metrics(&experiment.sites, errors);
}

/// Each `best = "..."` names a metric some `#[log(metric)]` of the experiment logs.
fn best_metrics(sites: &[Site], errors: &mut Errors) {
    let mut metrics: Vec<&str> = sites
        .iter()
        .filter(|s| s.args.kind.value == Kind::Metric)
        .map(|s| s.name.as_str())
        .collect();
    metrics.sort_unstable();
    metrics.dedup();
    for site in sites {
        let Some(best) = &site.args.best else {
            continue;
        };
        if site.args.kind.value != Kind::Checkpoint {
            continue;
        }
        let name = best.value.value();
        if metrics.contains(&name.as_str()) {
            continue;
        }
        let known = if metrics.is_empty() {
            "this experiment logs no metric".to_owned()
        } else {
            let listed: Vec<_> = metrics.iter().map(|m| format!("`{m}`")).collect();
            format!("its metrics are {}", listed.join(", "))
        };
        errors.at(
            best.value.span(),
            format_args!(
                "`best` names `{name}`, which no `#[log(metric)]` of this experiment logs; {known}"
            ),
        );
    }
}

/// `system`, `tags` and `group`, by the rules the runtime applies to the environment.
fn experiment_options(args: &ExperimentArgs, errors: &mut Errors) {
    if let Some(System::Every(lit)) = args.system.as_deref() {
        if let Err(problem) = options::interval(&lit.value()) {
            errors.at(lit.span(), problem);
        }
    }
    for tag in args.tags.iter().flat_map(|tags| tags.iter()) {
        if let Some(problem) = options::tag_problem(&tag.value()) {
            errors.at(tag.span(), problem);
        }
    }
    if let Some(group) = &args.group {
        if let Some(problem) = name::problem(&group.value.value(), "the `group`") {
            errors.at(group.value.span(), problem);
        }
    }
}

fn sites(sites: &[Site], errors: &mut Errors) {
    let mut kinds: HashMap<&str, &Site> = HashMap::new();
    for site in sites {
        let named = match name::problem(&site.name, "the `#[log]` name") {
            Some(problem) => {
                errors.at(site.name_span, problem);
                false
            }
            None => true,
        };
        options(site, errors);
        if !named {
            continue;
        }
        let kind = site.args.kind.value;
        match kinds.get(site.name.as_str()) {
            Some(first) if first.args.kind.value != kind => {
                let first_kind = first.args.kind.as_str();
                errors.at(
                    site.name_span,
                    format_args!(
                        "`{}` is already logged by `#[log({first_kind})]`; one name keeps one kind, so give this `#[log({})]` another name",
                        site.name,
                        kind.as_str()
                    ),
                );
                errors.at(
                    first.name_span,
                    format_args!(
                        "`{}` is first logged here, by `#[log({first_kind})]`",
                        first.name
                    ),
                );
            }
            Some(_) => {}
            None => {
                kinds.insert(&site.name, site);
            }
        }
    }
}

fn options(site: &Site, errors: &mut Errors) {
    let args = &site.args;
    let kind = args.kind.as_str();
    if !args.kind.takes_every_and_step() {
        for (option, key) in [
            ("every", args.every.as_ref().map(|every| every.span)),
            ("step", args.step.as_ref().map(|step| step.span)),
        ] {
            if let Some(key) = key {
                errors.at(
                    key,
                    format_args!(
                        "`{option}` has no effect on `#[log({kind})]`, which records once"
                    ),
                );
            }
        }
    }
    for (option, key) in [
        ("keep", args.keep.as_ref().map(|keep| keep.span)),
        ("best", args.best.as_ref().map(|best| best.span)),
    ] {
        if let Some(key) = key {
            if args.kind.value != Kind::Checkpoint {
                errors.at(
                    key,
                    format_args!(
                        "`{option}` applies only to `#[log(checkpoint)]`, not to `#[log({kind})]`"
                    ),
                );
            }
        }
    }
    match (&args.best, &args.mode) {
        (Some(best), None) if args.kind.value == Kind::Checkpoint => errors.at(
            best.span,
            "`best` needs `mode = max` or `mode = min` to say which values are better",
        ),
        (None, Some(mode)) => errors.at(
            mode.span,
            "`mode` says which values of `best` are better; add `best = \"<metric>\"` or remove `mode`",
        ),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use proc_macro2::{Span, TokenStream};
    use quote::quote;
    use syn::{parse_quote, Attribute, ItemFn};

    use super::*;
    use crate::attr;
    use crate::model::Target;

    fn site(index: usize, log: Attribute, name: &str) -> Site {
        let mut errors = Errors::default();
        let args = attr::log_args(&log, &mut errors).expect("a usable `#[log]`");
        assert!(errors.is_empty());
        Site {
            index,
            args,
            target: Target::Expr(parse_quote!(value)),
            name: name.to_owned(),
            name_span: Span::call_site(),
        }
    }

    fn check(args: TokenStream, function: ItemFn, sites: Vec<Site>) -> Vec<String> {
        let mut errors = Errors::default();
        let args = attr::experiment_args(args, &mut errors);
        let experiment = Experiment {
            args,
            function,
            config: None,
            sites,
            loops: Vec::new(),
        };
        super::experiment(&experiment, &mut errors);
        errors.messages()
    }

    #[test]
    fn a_sound_experiment_passes() {
        let messages = check(
            quote!(name = "mnist"),
            parse_quote!(
                fn train() {}
            ),
            vec![
                site(0, parse_quote!(#[log(metric, every = 10)]), "train/loss"),
                site(1, parse_quote!(#[log(checkpoint, keep = 3)]), "model"),
                site(2, parse_quote!(#[log(metric, step = epoch)]), "train/loss"),
            ],
        );
        assert!(messages.is_empty(), "{messages:?}");
    }

    #[test]
    fn the_function_must_be_plain() {
        let messages = check(
            quote!(),
            parse_quote!(
                async fn train() {}
            ),
            vec![],
        );
        assert_eq!(
            messages,
            ["`#[experiment]` does not support `async fn` yet; call the training code from a plain `fn`"]
        );
        let messages = check(
            quote!(),
            parse_quote!(
                const fn train() {}
            ),
            vec![],
        );
        assert_eq!(messages, ["an `#[experiment]` cannot be a `const fn`"]);
    }

    #[test]
    fn experiment_names_are_one_directory() {
        for (name, message) in [
            (
                "mnist/small",
                "the `#[experiment]` name is one directory name and cannot contain `/`",
            ),
            ("", "the `#[experiment]` name cannot be empty"),
            (
                "a\tb",
                "the `#[experiment]` name may hold letters, digits, `_`, `-`, `.`, ` ` and `/`, not '\\t'",
            ),
        ] {
            let messages = check(
                quote!(name = #name),
                parse_quote!(
                    fn train() {}
                ),
                vec![],
            );
            assert_eq!(messages, [message]);
        }
    }

    #[test]
    fn options_must_fit_the_kind() {
        let messages = check(
            quote!(),
            parse_quote!(
                fn train() {}
            ),
            vec![
                site(
                    0,
                    parse_quote!(#[log(param, every = 10, step = 3)]),
                    "batch",
                ),
                site(1, parse_quote!(#[log(metric, keep = 3)]), "loss"),
            ],
        );
        assert_eq!(
            messages,
            [
                "`every` has no effect on `#[log(param)]`, which records once",
                "`step` has no effect on `#[log(param)]`, which records once",
                "`keep` applies only to `#[log(checkpoint)]`, not to `#[log(metric)]`",
            ]
        );
    }

    #[test]
    fn best_needs_a_checkpoint_a_mode_and_a_logged_metric() {
        let messages = check(
            quote!(),
            parse_quote!(
                fn train() {}
            ),
            vec![
                site(0, parse_quote!(#[log(metric)]), "test_acc"),
                site(
                    1,
                    parse_quote!(#[log(metric, best = "test_acc", mode = max)]),
                    "loss",
                ),
                site(2, parse_quote!(#[log(checkpoint, mode = min)]), "model"),
                site(
                    3,
                    parse_quote!(#[log(checkpoint, best = "test_acc")]),
                    "model",
                ),
                site(
                    4,
                    parse_quote!(#[log(checkpoint, best = "acc", mode = max)]),
                    "model",
                ),
                site(
                    5,
                    parse_quote!(#[log(checkpoint, keep = 2, best = "test_acc", mode = max)]),
                    "model",
                ),
            ],
        );
        assert_eq!(
            messages,
            [
                "`best` applies only to `#[log(checkpoint)]`, not to `#[log(metric)]`",
                "`mode` says which values of `best` are better; add `best = \"<metric>\"` or remove `mode`",
                "`best` needs `mode = max` or `mode = min` to say which values are better",
                "`best` names `acc`, which no `#[log(metric)]` of this experiment logs; its metrics are `loss`, `test_acc`",
            ]
        );
    }

    #[test]
    fn one_name_keeps_one_kind() {
        let messages = check(
            quote!(),
            parse_quote!(
                fn train() {}
            ),
            vec![
                site(0, parse_quote!(#[log(metric)]), "loss"),
                site(1, parse_quote!(#[log(metric)]), "loss"),
                site(2, parse_quote!(#[log(text)]), "loss"),
            ],
        );
        assert_eq!(
            messages,
            [
                "`loss` is already logged by `#[log(metric)]`; one name keeps one kind, so give this `#[log(text)]` another name",
                "`loss` is first logged here, by `#[log(metric)]`",
            ]
        );
    }

    #[test]
    fn a_bad_name_is_reported_with_the_site_options() {
        let messages = check(
            quote!(),
            parse_quote!(
                fn train() {}
            ),
            vec![
                site(0, parse_quote!(#[log(param, every = 2)]), "a//b"),
                site(1, parse_quote!(#[log(metric)]), "a//b"),
            ],
        );
        assert_eq!(
            messages,
            [
                "the `#[log]` name `a//b` has an empty, `.` or `..` group; write groups like `train/loss`",
                "`every` has no effect on `#[log(param)]`, which records once",
                "the `#[log]` name `a//b` has an empty, `.` or `..` group; write groups like `train/loss`",
            ]
        );
    }
}
