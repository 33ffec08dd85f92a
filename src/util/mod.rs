//! Small helpers shared by the library, its tests and benchmarks.

pub mod rng;
