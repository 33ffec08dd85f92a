//! Layers as paired `*_forward` / `*_backward` op builders over the engine's
//! kernels (llm.c style, no autograd). Each builder checks shapes and returns
//! `Op`s built once; callers record them into an `Encoder` every step.

pub mod activation;
pub mod activation_backward;
pub mod conv;
pub mod conv3x3;
pub mod conv_select;
pub mod conv_tiled;
pub mod dropout;
pub mod fit;
pub mod linear;
pub mod loss;
pub mod optim;
pub mod pool;
pub mod program;
pub mod reduce;
pub mod residual;
pub mod select;
pub mod spikes;
pub mod spiking;
pub mod tune;
