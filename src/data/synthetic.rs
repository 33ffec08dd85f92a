//! A learnable synthetic dataset for tests and demos: each class owns a smooth
//! random pattern (a 4x4 grid per channel, bilinearly upsampled); a sample is
//! its class pattern plus Gaussian pixel noise, so a tiny net beats chance in a
//! few steps while the task is not trivially separable per pixel.

use super::{Dataset, DatasetKind, Normalization, Split};
use crate::error::{Error, Result};
use crate::util::rng::Rng;

const GRID: usize = 4;
const CONTRAST: f32 = 60.0;
const NOISE: f32 = 40.0;

/// `n` samples of shape `[c, h, w]` over `classes` classes, fully determined by `seed`.
pub fn synthetic(n: usize, c: usize, h: usize, w: usize, classes: usize, seed: u64) -> Result<Dataset> {
    let protos = prototypes(c, h, w, classes, seed)?;
    Ok(samples(&protos, n, [c, h, w], classes, seed ^ 0x5A17_0001))
}

/// Train and test sets drawn from the same class patterns with independent noise.
pub fn synthetic_split(
    n_train: usize,
    n_test: usize,
    c: usize,
    h: usize,
    w: usize,
    classes: usize,
    seed: u64,
) -> Result<Split> {
    let protos = prototypes(c, h, w, classes, seed)?;
    Ok(Split {
        train: samples(&protos, n_train, [c, h, w], classes, seed ^ 0x5A17_0001),
        test: samples(&protos, n_test, [c, h, w], classes, seed ^ 0x5A17_0002),
    })
}

/// One pattern per class, values in about [-1, 1], `[classes][c*h*w]`.
fn prototypes(c: usize, h: usize, w: usize, classes: usize, seed: u64) -> Result<Vec<Vec<f32>>> {
    if c == 0 || h == 0 || w == 0 || classes == 0 || classes > 256 {
        return Err(Error::Data(format!(
            "synthetic: need c, h, w >= 1 and 1..=256 classes, got [{c}, {h}, {w}] with {classes} classes"
        )));
    }
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(classes);
    for _ in 0..classes {
        let mut p = Vec::with_capacity(c * h * w);
        for _ in 0..c {
            let grid = rng.vec_uniform(GRID * GRID, -1.0, 1.0);
            for y in 0..h {
                for x in 0..w {
                    p.push(bilinear(&grid, y as f32 / h as f32, x as f32 / w as f32));
                }
            }
        }
        out.push(p);
    }
    Ok(out)
}

/// Sample the GRIDxGRID grid at fractional position (fy, fx) in [0, 1).
fn bilinear(grid: &[f32], fy: f32, fx: f32) -> f32 {
    let gy = fy * (GRID - 1) as f32;
    let gx = fx * (GRID - 1) as f32;
    let (y0, x0) = (gy.floor() as usize, gx.floor() as usize);
    let (y1, x1) = ((y0 + 1).min(GRID - 1), (x0 + 1).min(GRID - 1));
    let (ty, tx) = (gy - y0 as f32, gx - x0 as f32);
    let g = |y: usize, x: usize| grid[y * GRID + x];
    let top = g(y0, x0) * (1.0 - tx) + g(y0, x1) * tx;
    let bot = g(y1, x0) * (1.0 - tx) + g(y1, x1) * tx;
    top * (1.0 - ty) + bot * ty
}

fn samples(protos: &[Vec<f32>], n: usize, [c, h, w]: [usize; 3], classes: usize, seed: u64) -> Dataset {
    let mut rng = Rng::new(seed);
    let len = c * h * w;
    let mut images = Vec::with_capacity(n * len);
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        let label = rng.below(classes);
        labels.push(label as u8);
        for &p in &protos[label] {
            let v = 128.0 + CONTRAST * p + NOISE * rng.normal();
            images.push(v.round().clamp(0.0, 255.0) as u8);
        }
    }
    Dataset {
        kind: DatasetKind::Synthetic,
        n,
        c,
        h,
        w,
        classes,
        images,
        labels,
        norm: Normalization {
            mean: vec![0.5; c],
            std: vec![0.25; c],
        },
    }
}
