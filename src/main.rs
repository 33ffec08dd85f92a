//! The `ultraspike` command line. Native only: in the browser the app is the
//! library's `wasm_api`, so on wasm32 this binary compiles to an empty `main`
//! (that keeps `cargo clippy --all-targets --target wasm32-unknown-unknown` working).

#[cfg(not(target_arch = "wasm32"))]
mod cli;

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    cli::main()
}

#[cfg(target_arch = "wasm32")]
fn main() {}
