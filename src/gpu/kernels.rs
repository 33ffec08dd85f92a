//! The kernel registry: one `.wgsl` file per kernel under `shaders/`, compiled
//! into the binary. `tests/shaders_valid.rs` naga-validates each and fails when
//! a `.wgsl` file exists that no kernel names.

macro_rules! kernels {
    ($($id:ident => $file:literal,)*) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Kernel { $($id,)* }

        impl Kernel {
            pub const ALL: &'static [Kernel] = &[$(Kernel::$id,)*];

            /// File name under `shaders/`, without the extension.
            pub fn name(self) -> &'static str {
                match self { $(Kernel::$id => $file,)* }
            }

            pub fn source(self) -> &'static str {
                match self { $(Kernel::$id => include_str!(concat!("../../shaders/", $file, ".wgsl")),)* }
            }
        }
    };
}

// Each section is owned by one area of the engine; keep entries sorted inside it.
kernels! {
    // elementwise / residual
    ResidualAdd => "residual_add",
    // conv
    // linear
    // pooling
    // activations, dropout
    // loss, optimizers
    // spiking neurons
    // reductions, statistics
}

impl Kernel {
    /// Whether the shader uses `enable subgroups;` (needs `Features::SUBGROUP`).
    pub fn needs_subgroups(self) -> bool {
        self.source().contains("enable subgroups;")
    }
}

/// Parse and validate a WGSL source with naga, as the device would (no GPU needed).
pub fn validate_wgsl(name: &str, source: &str) -> crate::Result<()> {
    use naga::valid::{Capabilities, ValidationFlags, Validator};
    let module = naga::front::wgsl::parse_str(source)
        .map_err(|e| crate::Error::Shader { name: name.into(), msg: e.emit_to_string(source) })?;
    Validator::new(ValidationFlags::all(), Capabilities::SUBGROUP)
        .validate(&module)
        .map_err(|e| crate::Error::Shader { name: name.into(), msg: e.emit_to_string(source) })?;
    Ok(())
}
