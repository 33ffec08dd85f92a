//! torchvision's CIFAR recipe on u8 images: RandomCrop(size, padding=pad) with
//! zero padding, then RandomHorizontalFlip(0.5). Working on u8 before
//! normalization makes padded pixels black, as in torchvision.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::shape_err;
use crate::util::rng::Rng;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Augment {
    /// Zero padding on each side before the random crop back to h x w.
    pub pad: usize,
    /// Mirror left-right with probability 1/2.
    pub flip: bool,
}

/// One draw of the random parameters: the crop's top-left corner inside the
/// padded image (0..=2*pad each) and whether to mirror.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CropFlip {
    pub dy: usize,
    pub dx: usize,
    pub flip: bool,
}

impl Augment {
    pub const NONE: Augment = Augment { pad: 0, flip: false };

    /// Random crop with padding 4 and horizontal flip.
    pub fn cifar() -> Self {
        Augment { pad: 4, flip: true }
    }

    pub fn is_identity(&self) -> bool {
        self.pad == 0 && !self.flip
    }

    pub fn draw(&self, rng: &mut Rng) -> CropFlip {
        let dy = rng.below(2 * self.pad + 1);
        let dx = rng.below(2 * self.pad + 1);
        let flip = self.flip && rng.next_u32() & 1 == 1;
        CropFlip { dy, dx, flip }
    }

    /// Augment `src` `[c, h, w]` into `dst` (same size) with a fresh random draw.
    pub fn apply(&self, rng: &mut Rng, src: &[u8], chw: [usize; 3], dst: &mut [u8]) -> Result<()> {
        let t = self.draw(rng);
        crop_flip(src, chw, self.pad, t, dst)
    }
}

/// Deterministic part: `dst[ch][y][x] = padded[ch][y + dy][x' + dx]` with
/// `x' = w-1-x` when flipping, where `padded` is `src` with `pad` zeros around.
pub fn crop_flip(src: &[u8], [c, h, w]: [usize; 3], pad: usize, t: CropFlip, dst: &mut [u8]) -> Result<()> {
    let hw = h * w;
    if src.len() != c * hw || dst.len() != c * hw || t.dy > 2 * pad || t.dx > 2 * pad {
        return Err(shape_err!(
            "crop_flip: src {} / dst {} bytes for [{c}, {h}, {w}], offset ({}, {}) with pad {pad}",
            src.len(),
            dst.len(),
            t.dy,
            t.dx
        ));
    }
    for ch in 0..c {
        let (s, d) = (&src[ch * hw..(ch + 1) * hw], &mut dst[ch * hw..(ch + 1) * hw]);
        for y in 0..h {
            // source row in unpadded coordinates; out of range -> zero padding
            let sy = (y + t.dy).checked_sub(pad).filter(|&v| v < h);
            for x in 0..w {
                let xo = if t.flip { w - 1 - x } else { x };
                let sx = (xo + t.dx).checked_sub(pad).filter(|&v| v < w);
                d[y * w + x] = match (sy, sx) {
                    (Some(sy), Some(sx)) => s[sy * w + sx],
                    _ => 0,
                };
            }
        }
    }
    Ok(())
}
