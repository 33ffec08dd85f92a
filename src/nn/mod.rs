//! Layers as paired `*_forward` / `*_backward` op builders over the engine's
//! kernels (llm.c style, no autograd). Each builder checks shapes and returns
//! `Op`s built once; callers record them into an `Encoder` every step.

pub mod residual;
