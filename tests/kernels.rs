//! Every GPU kernel against its CPU reference, natively (lavapipe on CI).

mod checks;
mod common;

check!(residual_add, checks::residual::residual_add);
