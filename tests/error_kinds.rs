//! Errors reach the page with a stable kind (`Error::kind`), and the page decides on the kind,
//! never on the wording: every variant has its own kind in `ERROR_KINDS`, www/messages.js has
//! advice (possibly "": the message and hint say it) for exactly those kinds, and no page source
//! matches a regular expression against an error's message.

use std::collections::BTreeSet;

use ultraspike::error::ERROR_KINDS;
use ultraspike::Error;

/// One error of every variant (a new variant fails to compile here until it is listed).
fn one_of_each() -> Vec<Error> {
    let s = || "x".to_string();
    let all = vec![
        Error::NoAdapter(s()),
        Error::RequestDevice(s()),
        Error::DeviceLost(s()),
        Error::Gpu(s()),
        Error::Shader { name: s(), msg: s() },
        Error::Shape(s()),
        Error::TooLarge {
            what: s(),
            size: 2,
            limit: 1,
            limit_name: "max_buffer_size",
        },
        Error::Readback(s()),
        Error::Data(s()),
        Error::Checkpoint(s()),
        Error::Config(s()),
        Error::MissingStep(s()),
        Error::InvalidOption(s()),
        Error::Model(s()),
        Error::Diverged(s()),
        Error::Cancelled,
        Error::Io(std::io::Error::other("x")),
    ];
    // Exhaustive: adding a variant makes this match (and so the list above) incomplete.
    for e in &all {
        match e {
            Error::NoAdapter(_)
            | Error::RequestDevice(_)
            | Error::DeviceLost(_)
            | Error::Gpu(_)
            | Error::Shader { .. }
            | Error::Shape(_)
            | Error::TooLarge { .. }
            | Error::Readback(_)
            | Error::Data(_)
            | Error::Checkpoint(_)
            | Error::Config(_)
            | Error::MissingStep(_)
            | Error::InvalidOption(_)
            | Error::Model(_)
            | Error::Diverged(_)
            | Error::Cancelled
            | Error::Io(_) => {}
        }
    }
    all
}

#[test]
fn every_variant_has_its_own_listed_kind() {
    let kinds: Vec<&str> = one_of_each().iter().map(|e| e.kind()).collect();
    assert_eq!(kinds, ERROR_KINDS, "kinds in variant order");
    let distinct: BTreeSet<&str> = kinds.iter().copied().collect();
    assert_eq!(distinct.len(), kinds.len(), "one kind per variant: {kinds:?}");
}

fn www(file: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("www").join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The keys of `export const ADVICE = { ... };` in www/messages.js.
fn advice_keys() -> BTreeSet<String> {
    let src = www("messages.js");
    let start = src
        .find("export const ADVICE = {")
        .expect("messages.js has its ADVICE table");
    let body = &src[start..];
    let end = body.find("\n};").expect("the ADVICE table ends");
    body[..end]
        .lines()
        .skip(1)
        .filter_map(|l| {
            let key = l.trim().split(':').next()?.trim().trim_matches('"');
            (!key.is_empty()).then(|| key.to_string())
        })
        .collect()
}

#[test]
fn the_page_has_advice_for_every_kind_and_no_other() {
    let mut want: BTreeSet<String> = ERROR_KINDS.iter().map(|k| k.to_string()).collect();
    want.insert("page".into()); // the page's own errors
    assert_eq!(advice_keys(), want);
}

#[test]
fn the_page_never_matches_an_error_message() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("www");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|x| x != "js") {
            continue;
        }
        let src = std::fs::read_to_string(&path).unwrap();
        for (i, line) in src.lines().enumerate() {
            let regex_on_message = [
                ".test(errorText",
                ".test(m)",
                ".test(msg",
                ".test(e.message",
                "errorText(e).match",
                "message.match(",
            ]
            .iter()
            .any(|p| line.contains(p));
            assert!(
                !regex_on_message,
                "{}:{}: decides on an error's wording: {line}",
                path.display(),
                i + 1
            );
        }
        checked += 1;
    }
    assert!(checked >= 10, "the page's modules were read ({checked})");
}
