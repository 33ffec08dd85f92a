//! The autotuner's table: per adapter, per (pass, layer shape), the kernel variant that timed
//! fastest, with its timings. Variants are named by their `Debug` names, so this module knows no
//! variant enum (they live in `nn`, above it) and a variant added later is tuned untouched.
//! `nn::tune` does the timing; `ConvAlgo::Auto` / `LinearAlgo::Auto` look the table up and fall
//! back to their fixed rules (the deterministic default) where no timing exists. The table also
//! remembers which shapes were resolved by default ("pending"), so a caller can tune exactly the
//! shapes a network used, on first use. Natively it persists as JSON in the user's cache folder
//! (`tune_cache`); the page keeps the same JSON in IndexedDB.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::spec::shapes::Conv2dShape;

/// One pass of one layer kind: what a variant is chosen for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TunePass {
    ConvForward,
    ConvBackwardInput,
    ConvBackwardWeight,
    LinearForward,
    LinearBackwardInput,
    LinearBackwardWeight,
}

/// The layer shape a choice holds for (batch included: tile counts depend on it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum TuneShape {
    Conv(Conv2dShape),
    Linear { n: usize, in_f: usize, out_f: usize },
}

impl TuneShape {
    /// The batch the shape runs at (conv: images; linear: rows).
    pub fn batch(&self) -> usize {
        match self {
            TuneShape::Conv(s) => s.n,
            TuneShape::Linear { n, .. } => *n,
        }
    }
}

impl std::fmt::Display for TuneShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TuneShape::Conv(s) => write!(
                f,
                "n{} {}x{}x{} -> {} k{} s{} p{}",
                s.n, s.c_in, s.h, s.w, s.c_out, s.k, s.stride, s.pad
            ),
            TuneShape::Linear { n, in_f, out_f } => write!(f, "n{n} {in_f} -> {out_f}"),
        }
    }
}

/// The adapter a table belongs to: choices measured on one never apply to another (a new driver
/// version is another adapter too).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdapterKey {
    pub name: String,
    pub vendor: u32,
    pub device: u32,
    pub driver: String,
    pub driver_info: String,
    pub backend: String,
}

impl AdapterKey {
    pub fn of(info: &wgpu::AdapterInfo) -> AdapterKey {
        AdapterKey {
            name: info.name.clone(),
            vendor: info.vendor,
            device: info.device,
            driver: info.driver.clone(),
            driver_info: info.driver_info.clone(),
            backend: format!("{:?}", info.backend),
        }
    }
}

impl std::fmt::Display for AdapterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({:#06x}:{:#06x}, {} {}, {})",
            self.name, self.vendor, self.device, self.driver, self.driver_info, self.backend
        )
    }
}

/// A tuned choice: the variant kept and every candidate's best time in milliseconds, in the
/// order they were tried.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TuneEntry {
    pub pass: TunePass,
    pub shape: TuneShape,
    pub choice: String,
    pub timings: Vec<(String, f64)>,
}

/// A shape resolved without a timing, and the variant the fixed rule gave it.
#[derive(Clone, Debug, PartialEq)]
pub struct Pending {
    pub pass: TunePass,
    pub shape: TuneShape,
    pub default: String,
}

/// The fastest of `timings` (variant, milliseconds): the smallest finite time, the earlier
/// candidate on a tie, so the same timings always give the same choice. None without a finite
/// timing: the caller then keeps its deterministic default.
pub fn fastest(timings: &[(String, f64)]) -> Option<&str> {
    let mut best: Option<(&str, f64)> = None;
    for (name, ms) in timings {
        if !ms.is_finite() || *ms < 0.0 {
            continue;
        }
        if best.is_none_or(|(_, b)| *ms < b) {
            best = Some((name.as_str(), *ms));
        }
    }
    best.map(|(n, _)| n)
}

/// The choices of one adapter, and the shapes still resolved by default.
#[derive(Debug, Default)]
pub struct TuneTable {
    pub adapter: AdapterKey,
    entries: HashMap<(TunePass, TuneShape), TuneEntry>,
    pending: Vec<Pending>,
    /// Off: no shape is noted as pending (nothing gets tuned); stored choices still apply.
    pub enabled: bool,
}

impl TuneTable {
    pub fn new(adapter: AdapterKey) -> TuneTable {
        TuneTable {
            adapter,
            entries: HashMap::new(),
            pending: Vec::new(),
            enabled: true,
        }
    }

    /// The tuned variant of `pass` on `shape`, if one was timed.
    pub fn choice(&self, pass: TunePass, shape: &TuneShape) -> Option<&str> {
        self.entries.get(&(pass, *shape)).map(|e| e.choice.as_str())
    }

    /// Note that `pass` on `shape` ran its default (once per shape) so it can be tuned later.
    pub fn note_default(&mut self, pass: TunePass, shape: &TuneShape, default: &str) {
        let known = self.entries.contains_key(&(pass, *shape))
            || self.pending.iter().any(|p| p.pass == pass && p.shape == *shape);
        if self.enabled && !known {
            self.pending.push(Pending {
                pass,
                shape: *shape,
                default: default.to_string(),
            });
        }
    }

    /// The shapes waiting for a timing, taken out of the table (`nn::tune` puts back what its
    /// time budget did not reach).
    pub fn take_pending(&mut self) -> Vec<Pending> {
        std::mem::take(&mut self.pending)
    }

    pub fn requeue(&mut self, rest: Vec<Pending>) {
        self.pending.extend(rest);
    }

    /// Keep the fastest of `timings` for `pass` on `shape`; returns the choice (None without a
    /// finite timing: nothing is stored).
    pub fn record(&mut self, pass: TunePass, shape: TuneShape, timings: Vec<(String, f64)>) -> Option<String> {
        let choice = fastest(&timings)?.to_string();
        let entry = TuneEntry {
            pass,
            shape,
            choice: choice.clone(),
            timings,
        };
        self.entries.insert((pass, shape), entry);
        Some(choice)
    }

    /// Every stored choice, ordered by pass then shape text (stable output for `info --tune`).
    pub fn entries(&self) -> Vec<TuneEntry> {
        let mut v: Vec<TuneEntry> = self.entries.values().cloned().collect();
        v.sort_by_key(|a| (a.pass, a.shape.to_string()));
        v
    }

    /// Replace the stored choices with `entries` (a cache that was read back).
    pub fn set_entries(&mut self, entries: Vec<TuneEntry>) {
        self.entries = entries.into_iter().map(|e| ((e.pass, e.shape), e)).collect();
        self.pending.retain(|p| !self.entries.contains_key(&(p.pass, p.shape)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[(&str, f64)]) -> Vec<(String, f64)> {
        v.iter().map(|(n, ms)| (n.to_string(), *ms)).collect()
    }

    #[test]
    fn fastest_picks_the_smallest_time() {
        assert_eq!(
            fastest(&t(&[("Direct", 3.0), ("Subgroup", 1.5), ("Vec4", 2.0)])),
            Some("Subgroup")
        );
        assert_eq!(fastest(&t(&[("Plain", 0.2), ("Subgroup", 0.9)])), Some("Plain"));
    }

    #[test]
    fn fastest_breaks_ties_by_candidate_order_and_skips_bad_times() {
        assert_eq!(fastest(&t(&[("Direct", 1.0), ("Subgroup", 1.0)])), Some("Direct"));
        assert_eq!(fastest(&t(&[("Subgroup", 1.0), ("Direct", 1.0)])), Some("Subgroup"));
        assert_eq!(
            fastest(&t(&[("Direct", f64::NAN), ("Subgroup", 4.0)])),
            Some("Subgroup")
        );
        assert_eq!(fastest(&t(&[("Direct", f64::INFINITY), ("Vec4", -1.0)])), None);
        assert_eq!(fastest(&[]), None);
    }

    #[test]
    fn no_timing_keeps_the_default_and_notes_the_shape_once() {
        let mut table = TuneTable::new(AdapterKey::default());
        let shape = TuneShape::Linear {
            n: 4,
            in_f: 8,
            out_f: 2,
        };
        assert_eq!(table.choice(TunePass::LinearForward, &shape), None);
        table.note_default(TunePass::LinearForward, &shape, "Plain");
        table.note_default(TunePass::LinearForward, &shape, "Plain");
        let pending = table.take_pending();
        assert_eq!(pending.len(), 1);
        assert_eq!(
            table.record(TunePass::LinearForward, shape, t(&[("Plain", f64::NAN)])),
            None
        );
        assert_eq!(table.choice(TunePass::LinearForward, &shape), None);
        let got = table.record(TunePass::LinearForward, shape, t(&[("Plain", 2.0), ("Subgroup", 0.5)]));
        assert_eq!(got.as_deref(), Some("Subgroup"));
        assert_eq!(table.choice(TunePass::LinearForward, &shape), Some("Subgroup"));
        table.note_default(TunePass::LinearForward, &shape, "Plain");
        assert!(table.take_pending().is_empty(), "a tuned shape is not pending again");
    }

    #[test]
    fn disabled_table_notes_nothing() {
        let mut table = TuneTable::new(AdapterKey::default());
        table.enabled = false;
        table.note_default(
            TunePass::ConvForward,
            &TuneShape::Linear {
                n: 1,
                in_f: 1,
                out_f: 1,
            },
            "Direct",
        );
        assert!(table.take_pending().is_empty());
    }
}
