//! Naive CPU references of every kernel: plain loops written for clarity, not
//! speed. The GPU tests compare against these, and these are themselves
//! checked by central finite differences (tests/gradcheck.rs).

pub mod elementwise;
