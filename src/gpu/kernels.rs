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
    ResidualAddVec4 => "residual_add_vec4",
    // conv
    Conv2dBackwardInput => "conv2d_backward_input",
    Conv2dBackwardInputReg => "conv2d_backward_input_reg",
    Conv2dBackwardInputSubgroup => "conv2d_backward_input_subgroup",
    Conv2dBackwardInputTiled => "conv2d_backward_input_tiled",
    Conv2dBackwardWeight => "conv2d_backward_weight",
    Conv2dBackwardWeightReg => "conv2d_backward_weight_reg",
    Conv2dBackwardWeightSubgroup => "conv2d_backward_weight_subgroup",
    Conv2dBackwardWeightReduce => "conv2d_backward_weight_reduce",
    Conv2dBackwardWeightTiled => "conv2d_backward_weight_tiled",
    Conv2d3x3Sg => "conv2d_3x3_sg",
    Conv2d3x3BwSg => "conv2d_3x3_bw_sg",
    Conv2dForward => "conv2d_forward",
    Conv2dForwardReg => "conv2d_forward_reg",
    Conv2dForwardSubgroup => "conv2d_forward_subgroup",
    Conv2dForwardTiled => "conv2d_forward_tiled",
    Conv2dPackWeights => "conv2d_pack_weights",
    // linear
    BiasBackward => "bias_backward",
    LinearBackwardInput => "linear_backward_input",
    LinearBackwardInputReg => "linear_backward_input_reg",
    LinearBackwardInputSg => "linear_backward_input_sg",
    LinearBackwardInputTiled => "linear_backward_input_tiled",
    LinearBackwardInputTiledV4 => "linear_backward_input_tiled_v4",
    LinearBackwardWeight => "linear_backward_weight",
    LinearBackwardWeightReg => "linear_backward_weight_reg",
    LinearBackwardWeightSg => "linear_backward_weight_sg",
    LinearBackwardWeightTiled => "linear_backward_weight_tiled",
    LinearBackwardWeightTiledV4 => "linear_backward_weight_tiled_v4",
    LinearForward => "linear_forward",
    LinearForwardReg => "linear_forward_reg",
    LinearForwardSg => "linear_forward_sg",
    LinearForwardTiled => "linear_forward_tiled",
    LinearForwardTiledV4 => "linear_forward_tiled_v4",
    // pooling
    AvgPool2dBackward => "avgpool2d_backward",
    AvgPool2dForward => "avgpool2d_forward",
    MaxPool2dBackward => "maxpool2d_backward",
    MaxPool2dBackward2x2 => "maxpool2d_backward_2x2",
    MaxPool2dBackward2x2Single => "maxpool2d_backward_2x2_single",
    MaxPool2dForward => "maxpool2d_forward",
    MaxPool2dForward2x2 => "maxpool2d_forward_2x2",
    MaxPool2dForward2x2Single => "maxpool2d_forward_2x2_single",
    // activations, dropout
    ActivationBackwardFused => "activation_backward_fused",
    ActivationBackwardFusedReg => "activation_backward_fused_reg",
    DropoutBackward => "dropout_backward",
    DropoutBackwardVec4 => "dropout_backward_vec4",
    DropoutForward => "dropout_forward",
    DropoutForwardVec4 => "dropout_forward_vec4",
    QcfsBackwardMu => "qcfs_backward_mu",
    QcfsForward => "qcfs_forward",
    QcfsForwardVec4 => "qcfs_forward_vec4",
    ThresholdReluBackward => "threshold_relu_backward",
    ThresholdReluBackwardMu => "threshold_relu_backward_mu",
    ThresholdReluBackwardMuReg => "threshold_relu_backward_mu_reg",
    ThresholdReluBackwardVec4 => "threshold_relu_backward_vec4",
    ThresholdReluForward => "threshold_relu_forward",
    ThresholdReluForwardVec4 => "threshold_relu_forward_vec4",
    ThresholdReluMuReduce => "threshold_relu_mu_reduce",
    // loss, optimizers
    AdamStep => "adam_step",
    SgdStep => "sgd_step",
    SgdStepVec4 => "sgd_step_vec4",
    SoftmaxXent => "softmax_xent",
    SoftmaxXentStats => "softmax_xent_stats",
    // spiking neurons
    SpikeMapCount => "spike_map_count",
    IfBackward => "if_backward",
    IfBackwardReg => "if_backward_reg",
    IfForward => "if_forward",
    IfForwardReg => "if_forward_reg",
    // reductions, statistics
    BroadcastOverT => "broadcast_over_t",
    Histogram => "histogram",
    RadixCountHigh => "radix_count_high",
    RadixCountLow => "radix_count_low",
    ReduceStage => "reduce_stage",
    SumOverT => "sum_over_t",
}

impl Kernel {
    /// Whether the shader uses subgroup operations (needs `Features::SUBGROUP`).
    pub fn needs_subgroups(self) -> bool {
        let s = self.source();
        s.contains("subgroupBroadcast") || s.contains("subgroup_invocation_id") || s.contains("subgroupShuffle")
    }

    /// The source as the device compiles it. naga (native) rejects the
    /// `enable subgroups;` directive (gfx-rs/wgpu#5555) while browsers require
    /// it, so the files leave it out and the web build prepends it.
    pub fn device_source(self) -> std::borrow::Cow<'static, str> {
        if cfg!(target_arch = "wasm32") && self.needs_subgroups() {
            std::borrow::Cow::Owned(format!("enable subgroups;\n{}", self.source()))
        } else {
            std::borrow::Cow::Borrowed(self.source())
        }
    }
}

/// Parse and validate a WGSL source with naga, as the device would (no GPU needed).
pub fn validate_wgsl(name: &str, source: &str) -> crate::Result<()> {
    use naga::valid::{Capabilities, ValidationFlags, Validator};
    let module = naga::front::wgsl::parse_str(source).map_err(|e| crate::Error::Shader {
        name: name.into(),
        msg: e.emit_to_string(source),
    })?;
    Validator::new(ValidationFlags::all(), Capabilities::SUBGROUP)
        .validate(&module)
        .map_err(|e| crate::Error::Shader {
            name: name.into(),
            msg: e.emit_to_string(source),
        })?;
    Ok(())
}
