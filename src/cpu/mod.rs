//! Naive CPU references of every kernel: plain loops written for clarity, not
//! speed. The GPU tests compare against these, and these are themselves
//! checked by central finite differences (tests/gradcheck_conv.rs, gradcheck_dense.rs,
//! gradcheck_snn.rs and gradcheck_snn_net.rs).

pub mod activation;
pub mod conv;
pub mod dropout;
pub mod elementwise;
pub mod linear;
pub mod loss;
pub mod net;
pub mod optim;
pub mod pool;
pub mod reduce;
pub mod select;
pub mod snn;
pub mod spikes;
pub mod spiking;
