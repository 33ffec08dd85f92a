//! Naive CPU references of every kernel: plain loops written for clarity, not
//! speed. The GPU tests compare against these, and these are themselves
//! checked by central finite differences (tests/gradcheck.rs).

pub mod elementwise;
pub mod conv;
pub mod activation;
pub mod dropout;
pub mod linear;
pub mod pool;
pub mod loss;
pub mod optim;
pub mod reduce;
pub mod spiking;
pub mod net;
pub mod spikes;
pub mod snn;
