//! Checks that need a whole site or the whole experiment: options that do not fit the kind,
//! kinds this version does not carry yet, and one name used with two kinds.

use std::collections::HashMap;

use crate::errors::Errors;
use crate::model::{Kind, Site};

pub fn sites(sites: &[Site], errors: &mut Errors) {
    let mut kinds: HashMap<&str, &Site> = HashMap::new();
    for site in sites {
        options(site, errors);
        match kinds.get(site.name.as_str()) {
            Some(first) if first.args.kind != site.args.kind => {
                errors.at(
                    site.name_span,
                    format_args!(
                        "`{}` is already logged by `#[log({})]`; one name keeps one kind, so give this `#[log({})]` another name",
                        site.name,
                        first.args.kind.as_str(),
                        site.args.kind.as_str()
                    ),
                );
                errors.at(
                    first.name_span,
                    format_args!(
                        "`{}` is first logged here, by `#[log({})]`",
                        first.name,
                        first.args.kind.as_str()
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
            ("every", args.every.as_ref().map(|(_, key)| *key)),
            ("step", args.step.as_ref().map(|(_, key)| *key)),
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
    if let Some((_, key)) = &args.keep {
        if args.kind != Kind::Checkpoint {
            errors.at(
                *key,
                format_args!(
                    "`keep` applies only to `#[log(checkpoint)]`, not to `#[log({kind})]`"
                ),
            );
        }
    }
}
