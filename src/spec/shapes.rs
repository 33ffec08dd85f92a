//! Geometry of the convolution and pooling kernels: plain data shared by the
//! GPU op builders (src/nn), the CPU references (src/cpu) and the model
//! description (src/models).

use crate::error::Result;
use crate::shape_err;

/// Shape of one convolution: input `[n, c_in, h, w]`, weights `[c_out, c_in, k, k]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Conv2dShape {
    pub n: usize,
    pub c_in: usize,
    pub h: usize,
    pub w: usize,
    pub c_out: usize,
    /// Square kernel size.
    pub k: usize,
    pub stride: usize,
    pub pad: usize,
}

impl Conv2dShape {
    /// Output height; 0 when the (padded) image is smaller than the kernel.
    pub fn out_h(&self) -> usize {
        out_len(self.h, self.k, self.stride, self.pad)
    }

    pub fn out_w(&self) -> usize {
        out_len(self.w, self.k, self.stride, self.pad)
    }

    /// 2 x multiply-accumulates of the forward pass (each backward pass does as many).
    pub fn flops(&self) -> u64 {
        let macs = self.n * self.c_out * self.out_h() * self.out_w() * self.c_in * self.k * self.k;
        2 * macs as u64
    }

    pub fn x_shape(&self) -> [usize; 4] {
        [self.n, self.c_in, self.h, self.w]
    }

    pub fn w_shape(&self) -> [usize; 4] {
        [self.c_out, self.c_in, self.k, self.k]
    }

    pub fn y_shape(&self) -> [usize; 4] {
        [self.n, self.c_out, self.out_h(), self.out_w()]
    }

    /// Non-empty dimensions, an output of at least 1x1, and tensors the kernels' 32-bit
    /// signed indices can address.
    pub fn validate(&self) -> Result<()> {
        let dims = [self.n, self.c_in, self.h, self.w, self.c_out, self.k, self.stride];
        if dims.contains(&0) {
            return Err(shape_err!(
                "conv2d {self:?}: every dimension, k and stride must be >= 1"
            ));
        }
        if self.out_h() == 0 || self.out_w() == 0 {
            return Err(shape_err!(
                "conv2d {self:?}: kernel {} exceeds the padded input",
                self.k
            ));
        }
        let elems = [self.x_shape(), self.w_shape(), self.y_shape()].map(|s| s.iter().product::<usize>());
        if elems.iter().any(|&e| e > i32::MAX as usize) {
            return Err(shape_err!("conv2d {self:?}: a tensor exceeds 2^31 elements"));
        }
        Ok(())
    }
}

fn out_len(size: usize, k: usize, stride: usize, pad: usize) -> usize {
    if stride == 0 || size + 2 * pad < k {
        return 0;
    }
    (size + 2 * pad - k) / stride + 1
}

/// Pooling geometry: input `[n, c, h, w]`, a `k x k` window moved by `stride`,
/// no padding, so `out = (h - k) / stride + 1` (trailing rows/cols a window
/// cannot reach are ignored, as in PyTorch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolShape {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub k: usize,
    pub stride: usize,
}

impl PoolShape {
    pub fn out_h(&self) -> usize {
        (self.h.saturating_sub(self.k)) / self.stride.max(1) + 1
    }

    pub fn out_w(&self) -> usize {
        (self.w.saturating_sub(self.k)) / self.stride.max(1) + 1
    }

    /// Global pooling over square `h x w` maps (k = stride = h). Non-square maps
    /// get `k = max(h, w)`, which the builders reject with a shape error.
    pub fn global(n: usize, c: usize, h: usize, w: usize) -> Self {
        let k = h.max(w);
        PoolShape {
            n,
            c,
            h,
            w,
            k,
            stride: k,
        }
    }

    pub fn in_len(&self) -> usize {
        self.n * self.c * self.h * self.w
    }

    pub fn out_len(&self) -> usize {
        self.n * self.c * self.out_h() * self.out_w()
    }

    /// Shape errors for an unusable geometry.
    pub fn validate(&self, label: &str) -> Result<()> {
        let s = self;
        if s.n == 0 || s.c == 0 || s.k == 0 || s.stride == 0 {
            return Err(shape_err!("{label}: pool {s:?}: n, c, k and stride must be > 0"));
        }
        if s.k > s.h || s.k > s.w {
            return Err(shape_err!(
                "{label}: pool {s:?}: window k={} larger than the {}x{} map",
                s.k,
                s.h,
                s.w
            ));
        }
        if s.in_len() > u32::MAX as usize {
            return Err(shape_err!("{label}: pool {s:?} overflows u32 indexing"));
        }
        Ok(())
    }
}

/// A convolution of `out` channels, `k x k`, over a batch of `n` inputs of `in_shape` = [C, H, W].
pub fn conv_shape(n: usize, in_shape: &[usize], out: usize, k: usize, stride: usize, pad: usize) -> Conv2dShape {
    Conv2dShape {
        n,
        c_in: in_shape[0],
        h: in_shape[1],
        w: in_shape[2],
        c_out: out,
        k,
        stride,
        pad,
    }
}
