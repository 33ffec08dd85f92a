//! Every shared kernel check (tests/checks) against its CPU reference, natively
//! (a real GPU, or lavapipe on CI). The checks come from `for_each_check!` in
//! tests/checks/mod.rs, the list tests/browser.rs runs in headless Chromium too.
#![cfg(not(target_arch = "wasm32"))] // native (lavapipe or a GPU); the browser runs tests/browser.rs

use std::collections::BTreeSet;

mod checks;
mod common;

/// One #[test] per listed check, and `LISTED`: their `module::function` names.
macro_rules! native_checks {
    ($($module:ident::$check:ident),* $(,)?) => {
        $(check!($check, checks::$module::$check);)*

        const LISTED: &[&str] = &[$(concat!(stringify!($module), "::", stringify!($check))),*];
    };
}

for_each_check!(native_checks);

/// `module::function` of every `pub async fn` in tests/checks/*.rs (each is a check).
fn defined_checks() -> BTreeSet<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/checks");
    let mut defined = BTreeSet::new();
    for entry in std::fs::read_dir(dir).expect("tests/checks exists") {
        let path = entry.expect("readable tests/checks entry").path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let module = path.file_stem().unwrap().to_string_lossy().into_owned();
        let source = std::fs::read_to_string(&path).unwrap();
        for line in source.lines() {
            if let Some(rest) = line.trim_start().strip_prefix("pub async fn ") {
                let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                defined.insert(format!("{module}::{name}"));
            }
        }
    }
    defined
}

#[test]
fn every_check_is_listed() {
    let defined = defined_checks();
    let listed: BTreeSet<String> = LISTED.iter().map(|s| s.to_string()).collect();
    let missing: Vec<_> = defined.difference(&listed).collect();
    assert!(
        missing.is_empty(),
        "checks not in for_each_check! (tests/checks/mod.rs), so run nowhere: {missing:?}"
    );
    assert_eq!(listed.len(), LISTED.len(), "a check is listed twice");
    let unseen: Vec<_> = listed.difference(&defined).collect();
    assert!(
        unseen.is_empty(),
        "listed checks the scan for `pub async fn` did not find (naming changed?): {unseen:?}"
    );
}

/// tests/browser.rs only compiles for wasm32; make sure it registers the same list.
#[test]
fn browser_runs_the_list() {
    let browser = include_str!("browser.rs");
    assert!(
        browser.contains("for_each_check!(browser_checks);"),
        "tests/browser.rs must register its tests through for_each_check!"
    );
}
