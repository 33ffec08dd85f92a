//! The tuner's choices as JSON: one file for every adapter a user has (natively
//! `$XDG_CACHE_HOME/ultraspike/tune.json`, else `~/.cache/ultraspike/tune.json`), or one adapter's
//! record (what the page keeps in IndexedDB). What is read back is checked entry by entry; a file
//! that does not parse or holds an impossible entry is ignored whole, with a warning, never an
//! error: the tuner then times again. Plain `std` file calls compile on wasm too; only native
//! entry points call them.

#[cfg(not(target_arch = "wasm32"))]
use std::path::Path;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::tune::{fastest, AdapterKey, TuneEntry, TuneShape, TuneTable};
use super::Gpu;
use crate::error::{Error, Result};

/// Bumped when the format changes; a file of another version is ignored.
const VERSION: u32 = 1;

/// `ULTRASPIKE_TUNE_CACHE`: where the file lives; empty or `off` keeps choices in memory only.
pub const CACHE_ENV: &str = "ULTRASPIKE_TUNE_CACHE";
/// `ULTRASPIKE_TUNE=off` (or `0`): no timing; tuned choices already stored still apply.
pub const TUNE_ENV: &str = "ULTRASPIKE_TUNE";

#[derive(Serialize, Deserialize)]
struct CacheFile {
    version: u32,
    adapters: Vec<AdapterRecord>,
}

#[derive(Serialize, Deserialize)]
struct AdapterRecord {
    adapter: AdapterKey,
    entries: Vec<TuneEntry>,
}

/// The cache file named by the environment: `ULTRASPIKE_TUNE_CACHE`, else the user's cache
/// folder; None when disabled or no home is known.
pub fn cache_path() -> Option<PathBuf> {
    if let Ok(p) = std::env::var(CACHE_ENV) {
        return (!p.is_empty() && p != "off").then(|| PathBuf::from(p));
    }
    let base = match std::env::var("XDG_CACHE_HOME") {
        Ok(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from(std::env::var("HOME").ok()?).join(".cache"),
    };
    Some(base.join("ultraspike").join("tune.json"))
}

/// Whether the environment turns timing off.
pub fn tuning_disabled() -> bool {
    std::env::var(TUNE_ENV).is_ok_and(|v| v == "off" || v == "0")
}

fn check_entry(e: &TuneEntry) -> std::result::Result<(), String> {
    if let TuneShape::Conv(s) = &e.shape {
        s.validate().map_err(|err| format!("{:?} {}: {err}", e.pass, e.shape))?;
    }
    if fastest(&e.timings) != Some(e.choice.as_str()) {
        return Err(format!(
            "{:?} {}: `{}` is not the fastest of its timings",
            e.pass, e.shape, e.choice
        ));
    }
    Ok(())
}

fn parse(json: &str) -> std::result::Result<CacheFile, String> {
    let file: CacheFile = serde_json::from_str(json).map_err(|e| e.to_string())?;
    if file.version != VERSION {
        return Err(format!("version {} (expected {VERSION})", file.version));
    }
    for rec in &file.adapters {
        rec.entries.iter().try_for_each(check_entry)?;
    }
    Ok(file)
}

/// The entries `json` holds for `adapter` (none when it has no record of it).
pub fn entries_for(json: &str, adapter: &AdapterKey) -> Result<Vec<TuneEntry>> {
    let file = parse(json).map_err(|e| Error::Config(format!("tuning cache: {e}")))?;
    Ok(file
        .adapters
        .into_iter()
        .find(|r| r.adapter == *adapter)
        .map(|r| r.entries)
        .unwrap_or_default())
}

/// `old` (a cache's text, if any and readable) with `adapter`'s record replaced by `entries`.
pub fn merged(old: Option<&str>, adapter: &AdapterKey, entries: Vec<TuneEntry>) -> Result<String> {
    let mut file = old.and_then(|j| parse(j).ok()).unwrap_or(CacheFile {
        version: VERSION,
        adapters: Vec::new(),
    });
    file.adapters.retain(|r| r.adapter != *adapter);
    file.adapters.push(AdapterRecord {
        adapter: adapter.clone(),
        entries,
    });
    serde_json::to_string_pretty(&file).map_err(|e| Error::Config(format!("tuning cache: {e}")))
}

#[cfg(not(target_arch = "wasm32"))]
/// Read `path` into `table`; a warning (the file is ignored) when it cannot be used. A missing
/// file is no warning: nothing was tuned yet.
pub fn load_file(path: &Path, table: &mut TuneTable) -> Option<String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => return Some(format!("tuning cache {} not read ({e}); ignored", path.display())),
    };
    match entries_for(&text, &table.adapter) {
        Ok(entries) => {
            table.set_entries(entries);
            None
        }
        Err(e) => Some(format!("{} ignored: {e}", path.display())),
    }
}

#[cfg(not(target_arch = "wasm32"))]
/// Write `table`'s choices into `path`, keeping the other adapters' records.
pub fn save_file(path: &Path, table: &TuneTable) -> Result<()> {
    let old = std::fs::read_to_string(path).ok();
    let text = merged(old.as_deref(), &table.adapter, table.entries())?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    crate::util::fs::write_atomic(path, text.as_bytes())?;
    Ok(())
}

impl Gpu {
    /// Run `f` on the tuning table (a poisoned lock still holds a usable table: its entries are
    /// only ever replaced whole).
    pub fn with_tune<R>(&self, f: impl FnOnce(&mut TuneTable) -> R) -> R {
        let mut t = self.tune.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut t)
    }

    #[cfg(not(target_arch = "wasm32"))]
    /// Persist choices in `path` from now on, reading what it holds for this adapter first;
    /// returns the warning when the file was unusable (then ignored).
    pub fn use_tune_cache(&self, path: PathBuf) -> Option<String> {
        let warning = self.with_tune(|t| load_file(&path, t));
        *self.tune_path.lock().unwrap_or_else(|e| e.into_inner()) = Some(path);
        warning
    }

    /// The cache file in use, if any.
    pub fn tune_cache_path(&self) -> Option<PathBuf> {
        self.tune_path.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Write the choices to the cache file in use (a no-op without one).
    pub fn save_tune_cache(&self) -> Result<()> {
        #[cfg(not(target_arch = "wasm32"))]
        if let Some(path) = self.tune_cache_path() {
            return self.with_tune(|t| save_file(&path, t));
        }
        Ok(())
    }

    /// This adapter's choices as a cache's JSON (the page stores it in IndexedDB).
    pub fn tune_json(&self) -> Result<String> {
        self.with_tune(|t| merged(None, &t.adapter, t.entries()))
    }

    /// Take this adapter's choices from a cache's JSON (other adapters' records are skipped);
    /// returns how many were taken.
    pub fn load_tune_json(&self, json: &str) -> Result<usize> {
        self.with_tune(|t| {
            let entries = entries_for(json, &t.adapter)?;
            let n = entries.len();
            t.set_entries(entries);
            Ok(n)
        })
    }
}
