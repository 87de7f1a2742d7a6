//! Checks that need a whole site or the whole experiment: options that do not fit the kind,
//! kinds this version does not carry yet, and one name used with two kinds.

use std::collections::HashMap;

use syn::spanned::Spanned;

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
                        "`{}` is already logged as a `{}`; one name keeps one kind, so give this `{}` another name",
                        site.name,
                        first.args.kind.as_str(),
                        site.args.kind.as_str()
                    ),
                );
                errors.at(
                    first.name_span,
                    format_args!("`{}` is first logged here", first.name),
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
    if !args.kind.is_available() {
        errors.at(
            args.kind_span,
            format_args!(
                "`{kind}` sites are reserved but not supported by this version of labbook"
            ),
        );
    }
    if !args.kind.takes_every_and_step() {
        if let Some((_, span)) = args.every {
            errors.at(
                span,
                format_args!("`every` has no effect on a `{kind}`, which is logged once"),
            );
        }
        if let Some(step) = &args.step {
            errors.at(
                step.span(),
                format_args!("`step` has no effect on a `{kind}`, which is logged once"),
            );
        }
    }
    if let Some(keep) = &args.keep {
        if args.kind != Kind::Checkpoint {
            errors.at(keep.span(), "`keep` applies only to `#[log(checkpoint)]`");
        }
    }
}
