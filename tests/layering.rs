//! Dependencies run one way. The layers are written once, in the README's
//! "Layout" section between `<!-- layers -->` markers, top layer first; a
//! module may use the modules of the layers below its own, never those above
//! or beside it. This test reads every `crate::` path (and `ultraspike::` in the
//! CLI, which is the binary crate) per module and fails on any other direction.
#![cfg(not(target_arch = "wasm32"))] // native (lavapipe or a GPU); the browser runs tests/browser.rs

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

/// Items the crate root re-exports, and the module they come from.
const ROOT_ITEMS: [(&str, &str); 3] = [("Error", "error"), ("Result", "error"), ("shape_err", "error")];

/// (module -> layer index, 0 = bottom) from the README block.
fn layers_from_readme(readme: &str) -> HashMap<String, usize> {
    let start = readme
        .find("<!-- layers -->")
        .expect("README has no `<!-- layers -->` block");
    let end = readme[start..]
        .find("<!-- /layers -->")
        .expect("README: `<!-- layers -->` is not closed")
        + start;
    let rows: Vec<Vec<String>> = readme[start..end]
        .lines()
        .skip(1)
        .map(|l| {
            l.split_whitespace()
                .filter(|w| w.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .filter(|r| !r.is_empty())
        .collect();
    let n = rows.len();
    let mut out = HashMap::new();
    for (i, row) in rows.into_iter().enumerate() {
        for m in row {
            assert!(
                out.insert(m.clone(), n - 1 - i).is_none(),
                "README layers: `{m}` listed twice"
            );
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a source file belongs to (`src/nn/conv.rs` -> `nn`).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?.to_string();
    match first.as_str() {
        "lib.rs" | "main.rs" => None, // the roots only declare modules
        f => Some(f.trim_end_matches(".rs").to_string()),
    }
}

/// Every `crate::name` (or `ultraspike::name`) in code, comments skipped.
fn imported_modules(text: &str, prefixes: &[&str]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (ln, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        for p in prefixes {
            let mut rest = code;
            while let Some(i) = rest.find(p) {
                let boundary =
                    i == 0 || !rest.as_bytes()[i - 1].is_ascii_alphanumeric() && rest.as_bytes()[i - 1] != b'_';
                let after = &rest[i + p.len()..];
                let name: String = after
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if boundary && !name.is_empty() {
                    let m = ROOT_ITEMS
                        .iter()
                        .find(|(item, _)| *item == name)
                        .map(|(_, m)| m.to_string())
                        .unwrap_or(name);
                    out.push((ln + 1, m));
                }
                rest = after;
            }
        }
    }
    out
}

fn violations(root: &Path) -> Vec<String> {
    let readme = fs::read_to_string(root.join("README.md")).unwrap();
    let layers = layers_from_readme(&readme);
    let src = root.join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut bad = Vec::new();
    for f in files {
        let Some(module) = module_of(&src, &f) else { continue };
        let Some(&own) = layers.get(&module) else {
            bad.push(format!(
                "{}: module `{module}` is missing from the README's layers",
                f.display()
            ));
            continue;
        };
        let text = fs::read_to_string(&f).unwrap();
        let prefixes: &[&str] = if module == "cli" {
            &["crate::", "ultraspike::"]
        } else {
            &["crate::"]
        };
        for (ln, dep) in imported_modules(&text, prefixes) {
            if dep == module {
                continue;
            }
            match layers.get(&dep) {
                None => bad.push(format!(
                    "{}:{ln}: `{dep}` is not a module in the README's layers",
                    f.display()
                )),
                Some(&l) if l >= own => bad.push(format!(
                    "{}:{ln}: `{module}` uses `{dep}`, {} it (README layers)",
                    f.display(),
                    if l == own { "beside" } else { "above" }
                )),
                _ => {}
            }
        }
    }
    bad
}

#[test]
fn dependencies_run_one_way() {
    let bad = violations(Path::new(env!("CARGO_MANIFEST_DIR")));
    assert!(bad.is_empty(), "{} layering violations:\n{}", bad.len(), bad.join("\n"));
}

#[test]
fn an_upward_import_is_caught() {
    // The checker itself must fail on a wrong direction: the CPU reference using the GPU engine.
    let readme = "<!-- layers -->\n    gpu\n    cpu\n    error\n<!-- /layers -->";
    let layers = layers_from_readme(readme);
    assert!(layers["gpu"] > layers["cpu"] && layers["cpu"] > layers["error"]);
    let deps = imported_modules(
        "use crate::gpu::Gpu; // crate::nn in a comment\nlet e = crate::Error::Config;",
        &["crate::"],
    );
    assert_eq!(deps, vec![(1, "gpu".to_string()), (2, "error".to_string())]);
}
