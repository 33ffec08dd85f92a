//! The size rules of the code, kept by a test: small files and functions in
//! src/, files as small in the page's scripts (www/*.js) and the Python module
//! and checkers (python/*.py), and faces (src/cli, src/wasm_api) that only
//! translate, never loop over batches or epochs (that is the pipeline's work,
//! where it is tested natively).
#![cfg(not(target_arch = "wasm32"))] // native (lavapipe or a GPU); the browser runs tests/browser.rs

use std::fs;
use std::path::{Path, PathBuf};

const MAX_FILE_LINES: usize = 400;
const MAX_FN_LINES: usize = 80;
const MAX_FACE_FILE_LINES: usize = 200;

/// Every `*.{ext}` file under `dir`, sorted.
fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p, ext));
        } else if p.extension().is_some_and(|x| x == ext) {
            out.push(p);
        }
    }
    out.sort();
    out
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    files(dir, "rs")
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// (name, first line, lines) of every `fn` with a body: from its `fn` line to the
/// closing brace at the same indentation (rustfmt's layout).
fn functions(text: &str) -> Vec<(String, usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let code = line.trim_start();
        let indent = line.len() - code.len();
        let Some(at) = code.find("fn ") else { continue };
        let head = &code[..at];
        let is_fn = head
            .split_whitespace()
            .all(|w| ["pub", "pub(crate)", "pub(super)", "async", "const", "unsafe"].contains(&w));
        if !is_fn || code.ends_with(';') {
            continue;
        }
        let name: String = code[at + 3..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let close = format!("{}}}", " ".repeat(indent));
        let one_line = code.contains('{') && code.trim_end().ends_with('}');
        let end = if one_line {
            Some(0)
        } else {
            lines[i..].iter().position(|l| l.trim_end() == close)
        };
        if let Some(end) = end {
            out.push((name, i + 1, end + 1));
        }
    }
    out
}

#[test]
fn files_and_functions_stay_small() {
    let mut bad = Vec::new();
    for f in rust_files(&src()) {
        let text = fs::read_to_string(&f).unwrap();
        let n = text.lines().count();
        if n > MAX_FILE_LINES {
            bad.push(format!("{}: {n} lines (max {MAX_FILE_LINES})", f.display()));
        }
        for (name, at, len) in functions(&text) {
            if len > MAX_FN_LINES {
                bad.push(format!(
                    "{}:{at}: fn {name} is {len} lines (max {MAX_FN_LINES})",
                    f.display()
                ));
            }
        }
    }
    assert!(bad.is_empty(), "split these:\n{}", bad.join("\n"));
}

/// The page's scripts and the Python files keep src/'s file limit (their functions are not
/// measured: `functions` reads rustfmt's layout).
#[test]
fn page_and_python_files_stay_small() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut bad = Vec::new();
    for (dir, ext) in [("www", "js"), ("python", "py")] {
        let found = files(&root.join(dir), ext);
        assert!(
            !found.is_empty(),
            "no *.{ext} under {dir}/: the test looks in the wrong place"
        );
        for f in found {
            let n = fs::read_to_string(&f).unwrap().lines().count();
            if n > MAX_FILE_LINES {
                bad.push(format!("{}: {n} lines (max {MAX_FILE_LINES})", f.display()));
            }
        }
    }
    assert!(bad.is_empty(), "split these by what they do:\n{}", bad.join("\n"));
}

#[test]
fn faces_only_translate() {
    let mut bad = Vec::new();
    for face in ["cli", "wasm_api"] {
        for f in rust_files(&src().join(face)) {
            let text = fs::read_to_string(&f).unwrap();
            if text.lines().count() > MAX_FACE_FILE_LINES {
                bad.push(format!("{}: over {MAX_FACE_FILE_LINES} lines", f.display()));
            }
            for (i, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                if code.contains("while ") || code.contains("loop {") {
                    bad.push(format!(
                        "{}:{}: a loop in a face (drive the pipeline's step-wise work instead)",
                        f.display(),
                        i + 1
                    ));
                }
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn the_function_measure_counts_bodies() {
    let text = "fn a() {\n    x();\n}\n\npub async fn b(\n    y: u8,\n) -> u8 {\n    y\n}\nfn c();\n";
    assert_eq!(functions(text), vec![("a".to_string(), 1, 3), ("b".to_string(), 5, 5)]);
}
