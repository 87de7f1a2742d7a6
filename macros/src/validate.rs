//! Checks on the complete model, after the walk and before any code is generated: the
//! function itself, the experiment's and the sites' names, options that do not fit a site's
//! kind, and one name used with two kinds.

use std::collections::HashMap;

use crate::errors::Errors;
use crate::model::{Experiment, Kind, Site};
use crate::name;

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
    sites(&experiment.sites, errors);
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
    if let Some(keep) = &args.keep {
        if args.kind.value != Kind::Checkpoint {
            errors.at(
                keep.span,
                format_args!(
                    "`keep` applies only to `#[log(checkpoint)]`, not to `#[log({kind})]`"
                ),
            );
        }
    }
}
