//! Layers as paired `*_forward` / `*_backward` op builders over the engine's
//! kernels (llm.c style, no autograd). Each builder checks shapes and returns
//! `Op`s built once; callers record them into an `Encoder` every step.

pub mod residual;
pub mod conv;
pub mod activation;
pub mod dropout;
pub mod linear;
pub mod pool;
pub mod loss;
pub mod optim;
pub mod reduce;
pub mod spiking;
pub mod spikes;
pub mod program;
