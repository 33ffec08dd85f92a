//! Mini-batches of normalized f32 images `[batch, c, h, w]` and u32 labels.
//! The order and the augmentation of epoch `e` depend only on (seed, e), so a
//! resumed run sees the same batches as an uninterrupted one.

use super::augment::Augment;
use super::Dataset;
use crate::error::{Error, Result};
use crate::shape_err;
use crate::util::rng::Rng;

#[derive(Clone, Debug)]
pub struct Batcher {
    n: usize,
    chw: [usize; 3],
    batch: usize,
    shuffle: bool,
    augment: Augment,
    drop_last: bool,
    seed: u64,
    epoch: u64,
    order: Vec<u32>,
    pos: usize,
    rng: Rng,
    scratch: Vec<u8>,
}

impl Batcher {
    /// `augment` turns on the CIFAR recipe (crop pad 4 + flip); see `with_augment`
    /// for others. A batch size of 0 is treated as 1. Starts at epoch 0.
    pub fn new(ds: &Dataset, batch: usize, shuffle: bool, augment: bool, seed: u64) -> Self {
        let mut b = Batcher {
            n: ds.n,
            chw: [ds.c, ds.h, ds.w],
            batch: batch.max(1),
            shuffle,
            augment: if augment { Augment::cifar() } else { Augment::NONE },
            drop_last: false,
            seed,
            epoch: 0,
            order: Vec::new(),
            pos: 0,
            rng: Rng::new(seed),
            scratch: vec![0; ds.image_len()],
        };
        b.reset_epoch(0);
        b
    }

    pub fn with_augment(mut self, augment: Augment) -> Self {
        self.augment = augment;
        self.reset_epoch(self.epoch);
        self
    }

    /// Skip the last partial batch (training); keep it off for evaluation.
    pub fn drop_last(mut self, yes: bool) -> Self {
        self.drop_last = yes;
        self
    }

    pub fn batch_size(&self) -> usize {
        self.batch
    }

    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    pub fn batches_per_epoch(&self) -> usize {
        if self.drop_last {
            self.n / self.batch
        } else {
            self.n.div_ceil(self.batch)
        }
    }

    /// Rewind to the start of `epoch` with that epoch's order and augmentation.
    pub fn reset_epoch(&mut self, epoch: u64) {
        self.epoch = epoch;
        self.pos = 0;
        self.rng = Rng::new(self.seed ^ (epoch.wrapping_add(1)).wrapping_mul(0xD1B5_4A32_D192_ED03));
        self.order = (0..self.n as u32).collect();
        if self.shuffle {
            self.rng.shuffle(&mut self.order);
        }
    }

    /// Sample indices of the next batch (advancing), None at the end of the epoch.
    pub fn next_indices(&mut self) -> Option<&[u32]> {
        let rest = self.n - self.pos;
        if rest == 0 || (self.drop_last && rest < self.batch) {
            return None;
        }
        let take = rest.min(self.batch);
        let s = self.pos;
        self.pos += take;
        Some(&self.order[s..s + take])
    }

    /// Fill `x` (`batch * c*h*w` floats) and `y` (`batch` labels) with the next
    /// batch and return its valid rows; a last partial batch zeroes the rows
    /// after them. `Ok(None)` at the end of the epoch: call `reset_epoch(e + 1)`.
    pub fn next_batch(&mut self, ds: &Dataset, x: &mut [f32], y: &mut [u32]) -> Result<Option<usize>> {
        let len = ds.image_len();
        if ds.n != self.n || [ds.c, ds.h, ds.w] != self.chw {
            return Err(Error::Data(format!(
                "batcher was built for {} samples of {:?}, got a dataset of {} samples of [{}, {}, {}]",
                self.n, self.chw, ds.n, ds.c, ds.h, ds.w
            )));
        }
        if x.len() != self.batch * len || y.len() != self.batch {
            return Err(shape_err!(
                "batcher: x has {} floats and y {} labels, batch {} of {len}-pixel images needs {} and {}",
                x.len(),
                y.len(),
                self.batch,
                self.batch * len,
                self.batch
            ));
        }
        let (augment, chw) = (self.augment, self.chw);
        let Some(idx) = self.next_indices().map(<[u32]>::to_vec) else {
            return Ok(None);
        };
        for (row, &i) in idx.iter().enumerate() {
            let i = i as usize;
            let out = &mut x[row * len..(row + 1) * len];
            if augment.is_identity() {
                ds.normalized_into(i, out);
            } else {
                augment.apply(&mut self.rng, ds.image(i), chw, &mut self.scratch)?;
                ds.norm.apply(&self.scratch, ds.c, out);
            }
            y[row] = ds.labels[i] as u32;
        }
        x[idx.len() * len..].fill(0.0);
        y[idx.len()..].fill(0);
        Ok(Some(idx.len()))
    }
}
