//! Every WGSL uniform matches its Rust mirror byte for byte (no GPU): naga
//! reflects each shader's uniform struct (span, member offsets and scalar
//! types) and the table below names the `#[repr(C)]` Pod struct the host
//! writes into it. A shader with a `var<uniform>` the table does not cover
//! fails, so a new kernel cannot skip the check.
#![cfg(not(target_arch = "wasm32"))] // native (lavapipe or a GPU); the browser runs tests/browser.rs

use std::collections::BTreeSet;
use std::mem::{offset_of, size_of, size_of_val};

use bytemuck::Zeroable;
use naga::{AddressSpace, ScalarKind, TypeInner};

// The Rust mirrors, in one place so a move (e.g. into a `spec` module) is a one-block edit.
use ultraspike::nn::activation::{ElemParams, MuPartialParams, QcfsMuParams, QcfsParams};
use ultraspike::nn::conv::{Conv2dParams, ReduceParams as ConvReduceParams};
use ultraspike::nn::conv3x3::{Conv3x3Params, PackParams};
use ultraspike::nn::dropout::DropoutParams;
use ultraspike::nn::linear::{BiasParams, LinearParams};
use ultraspike::nn::loss::XentParams;
use ultraspike::nn::optim::{AdamParams, SgdParams};
use ultraspike::nn::pool::PoolParams;
use ultraspike::nn::reduce::{HistParams, ReduceParams, TimeParams};
use ultraspike::nn::residual::ResidualParams;
use ultraspike::nn::select::RadixParams;
use ultraspike::nn::spikes::{SpikeMapParams, SPIKE_MAP_COUNT_LIMIT_WORD};
use ultraspike::nn::spiking::{IfParams, IF_COUNT_LIMIT_WORD};

/// One WGSL uniform struct and the Rust struct the host writes into it.
struct Mirror {
    shader: &'static str,
    wgsl_struct: &'static str,
    rust_struct: &'static str,
    size: usize,
    /// In WGSL declaration order.
    members: Vec<Member>,
}

struct Member {
    wgsl: &'static str,
    rust: &'static str,
    offset: usize,
    scalar: &'static str,
}

/// The WGSL spelling of a Rust field's scalar type.
trait WgslScalar {
    const NAME: &'static str;
}
impl WgslScalar for u32 {
    const NAME: &'static str = "u32";
}
impl WgslScalar for i32 {
    const NAME: &'static str = "i32";
}
impl WgslScalar for f32 {
    const NAME: &'static str = "f32";
}

fn scalar_of<T: WgslScalar>(_: &T) -> &'static str {
    T::NAME
}

/// `member!(Ty, wgsl)`, `member!(Ty, wgsl = field)` or `member!(Ty, wgsl = field[i])`:
/// a WGSL member and the Rust field (or array element) at the same place.
macro_rules! member {
    ($ty:ty, $w:ident) => {
        member!($ty, $w = $w)
    };
    ($ty:ty, $w:ident = $f:ident) => {
        Member {
            wgsl: stringify!($w),
            rust: stringify!($f),
            offset: offset_of!($ty, $f),
            scalar: scalar_of(&<$ty as Zeroable>::zeroed().$f),
        }
    };
    ($ty:ty, $w:ident = $f:ident[$i:literal]) => {
        Member {
            wgsl: stringify!($w),
            rust: concat!(stringify!($f), "[", stringify!($i), "]"),
            offset: offset_of!($ty, $f) + $i * size_of_val(&<$ty as Zeroable>::zeroed().$f[0]),
            scalar: scalar_of(&<$ty as Zeroable>::zeroed().$f[$i]),
        }
    };
}

/// `mirror!("shader" Params => RustStruct { a, b = rust_b, _p0 = _pad[0] })`: every
/// member of the WGSL struct, in declaration order; a bare name means the same name in Rust.
macro_rules! mirror {
    ($shader:literal $wgsl:ident => $ty:ty { $($w:ident $(= $f:ident $([$i:literal])?)?),+ $(,)? }) => {
        Mirror {
            shader: $shader,
            wgsl_struct: stringify!($wgsl),
            rust_struct: stringify!($ty),
            size: size_of::<$ty>(),
            members: vec![$(member!($ty, $w $(= $f $([$i])?)?)),+],
        }
    };
}

/// Every mirrored uniform: the three tables below, in this order.
fn mirrors() -> Vec<Mirror> {
    [layer_mirrors(), training_mirrors(), spiking_mirrors()]
        .into_iter()
        .flatten()
        .collect()
}

/// The residual add, convolutions, linears and pooling.
fn layer_mirrors() -> Vec<Mirror> {
    vec![
        // elementwise / residual
        mirror!("residual_add" Params => ResidualParams { n, _p0 = _pad[0], _p1 = _pad[1], _p2 = _pad[2] }),
        mirror!("residual_add_vec4" Params => ResidualParams { n, _p0 = _pad[0], _p1 = _pad[1], _p2 = _pad[2] }),
        // conv
        mirror!("conv2d_forward" Params => Conv2dParams {
            n, c_in, h, w, c_out, k, stride, pad, out_h, out_w, tiles, rows_per
        }),
        mirror!("conv2d_forward_subgroup" Params => Conv2dParams {
            n, c_in, h, w, c_out, k, stride, pad, out_h, out_w, tiles, rows_per
        }),
        mirror!("conv2d_forward_tiled" Params => Conv2dParams {
            n, c_in, h, w, c_out, k, stride, pad, out_h, out_w, tiles, rows_per
        }),
        mirror!("conv2d_backward_input" Params => Conv2dParams {
            n, c_in, h, w, c_out, k, stride, pad, out_h, out_w, tiles, rows_per
        }),
        mirror!("conv2d_backward_input_subgroup" Params => Conv2dParams {
            n, c_in, h, w, c_out, k, stride, pad, out_h, out_w, tiles, rows_per
        }),
        mirror!("conv2d_backward_input_tiled" Params => Conv2dParams {
            n, c_in, h, w, c_out, k, stride, pad, out_h, out_w, tiles, rows_per
        }),
        mirror!("conv2d_backward_weight" Params => Conv2dParams {
            n, c_in, h, w, c_out, k, stride, pad, out_h, out_w, tiles, rows_per
        }),
        mirror!("conv2d_backward_weight_subgroup" Params => Conv2dParams {
            n, c_in, h, w, c_out, k, stride, pad, out_h, out_w, tiles, rows_per
        }),
        mirror!("conv2d_3x3_bw_sg" Params => Conv2dParams {
            n, c_in, h, w, c_out, k, stride, pad, out_h, out_w, tiles, rows_per
        }),
        mirror!("conv2d_backward_weight_tiled" Params => Conv2dParams {
            n, c_in, h, w, c_out, k, stride, pad, out_h, out_w, tiles, rows_per
        }),
        mirror!("conv2d_forward_reg" Params => Conv2dParams {
            n, c_in, h, w, c_out, k, stride, pad, out_h, out_w, tiles, rows_per
        }),
        mirror!("conv2d_backward_input_reg" Params => Conv2dParams {
            n, c_in, h, w, c_out, k, stride, pad, out_h, out_w, tiles, rows_per
        }),
        mirror!("conv2d_backward_weight_reg" Params => Conv2dParams {
            n, c_in, h, w, c_out, k, stride, pad, out_h, out_w, tiles, rows_per
        }),
        mirror!("conv2d_backward_weight_reduce" Params => ConvReduceParams {
            len, splits, _p0 = _pad[0], _p1 = _pad[1]
        }),
        mirror!("conv2d_3x3_sg" Params => Conv3x3Params {
            n, c_red, c_out, h, w, quads, cout4, neg, has_bias, groups, _p1 = _pad[0], _p2 = _pad[1]
        }),
        mirror!("conv2d_pack_weights" Params => PackParams { c_red, c_out, cout4, transposed }),
        // linear
        mirror!("linear_forward" Params => LinearParams { n, in_f, out_f, _p0 = _pad }),
        mirror!("linear_backward_input" Params => LinearParams { n, in_f, out_f, _p0 = _pad }),
        mirror!("linear_backward_weight" Params => LinearParams { n, in_f, out_f, _p0 = _pad }),
        mirror!("linear_forward_sg" Params => LinearParams { n, in_f, out_f, _p0 = _pad }),
        mirror!("linear_forward_tiled" Params => LinearParams { n, in_f, out_f, _p0 = _pad }),
        mirror!("linear_forward_tiled_v4" Params => LinearParams { n, in_f, out_f, _p0 = _pad }),
        mirror!("linear_backward_input_sg" Params => LinearParams { n, in_f, out_f, _p0 = _pad }),
        mirror!("linear_backward_input_tiled" Params => LinearParams { n, in_f, out_f, _p0 = _pad }),
        mirror!("linear_backward_input_tiled_v4" Params => LinearParams { n, in_f, out_f, _p0 = _pad }),
        mirror!("linear_backward_weight_sg" Params => LinearParams { n, in_f, out_f, _p0 = _pad }),
        mirror!("linear_backward_weight_tiled" Params => LinearParams { n, in_f, out_f, _p0 = _pad }),
        mirror!("linear_backward_weight_tiled_v4" Params => LinearParams { n, in_f, out_f, _p0 = _pad }),
        mirror!("linear_forward_reg" Params => LinearParams { n, in_f, out_f, _p0 = _pad }),
        mirror!("linear_backward_input_reg" Params => LinearParams { n, in_f, out_f, _p0 = _pad }),
        mirror!("linear_backward_weight_reg" Params => LinearParams { n, in_f, out_f, _p0 = _pad }),
        mirror!("bias_backward" Params => BiasParams { n, c, spatial, _p0 = _pad }),
        // pooling
        mirror!("maxpool2d_forward" Params => PoolParams {
            total, h, w, k, stride, out_h, out_w, _p0 = zero
        }),
        mirror!("maxpool2d_backward" Params => PoolParams {
            total, h, w, k, stride, out_h, out_w, _p0 = zero
        }),
        mirror!("maxpool2d_forward_2x2" Params => PoolParams { total, h, w, k, stride, out_h, out_w, _p0 = zero }),
        mirror!("maxpool2d_forward_2x2_single" Params => PoolParams {
            total, h, w, k, stride, out_h, out_w, _p0 = zero
        }),
        mirror!("maxpool2d_backward_2x2" Params => PoolParams { total, h, w, k, stride, out_h, out_w, zero }),
        mirror!("maxpool2d_backward_2x2_single" Params => PoolParams { total, h, w, k, stride, out_h, out_w, zero }),
        mirror!("avgpool2d_forward" Params => PoolParams {
            total, h, w, k, stride, out_h, out_w, _p0 = zero
        }),
        mirror!("avgpool2d_backward" Params => PoolParams {
            total, h, w, k, stride, out_h, out_w, _p0 = zero
        }),
    ]
}

/// Activations, dropout, the loss and the optimizers.
fn training_mirrors() -> Vec<Mirror> {
    vec![
        // activations, dropout
        mirror!("threshold_relu_forward" Params => ElemParams {
            n, _p0 = _pad[0], _p1 = _pad[1], _p2 = _pad[2]
        }),
        mirror!("threshold_relu_forward_vec4" Params => ElemParams { n, _p0 = _pad[0], _p1 = _pad[1], _p2 = _pad[2] }),
        mirror!("threshold_relu_backward" Params => ElemParams {
            n, _p0 = _pad[0], _p1 = _pad[1], _p2 = _pad[2]
        }),
        mirror!("threshold_relu_backward_vec4" Params => ElemParams { n, _p0 = _pad[0], _p1 = _pad[1], _p2 = _pad[2] }),
        mirror!("threshold_relu_backward_mu" Params => MuPartialParams {
            n, per_group, groups, _p0 = _pad
        }),
        mirror!("threshold_relu_backward_mu_reg" Params => MuPartialParams {
            n, per_group, groups, _p0 = _pad
        }),
        mirror!("qcfs_forward" Params => QcfsParams { n, levels, _p0 = _pad[0], _p1 = _pad[1] }),
        mirror!("qcfs_forward_vec4" Params => QcfsParams { n, levels, _p0 = _pad[0], _p1 = _pad[1] }),
        mirror!("qcfs_backward_mu" Params => QcfsMuParams { n, per_group, groups, levels }),
        mirror!("activation_backward_fused" Params => QcfsMuParams { n, per_group, groups, levels }),
        mirror!("activation_backward_fused_reg" Params => QcfsMuParams { n, per_group, groups, levels }),
        // The host writes the group count into `ElemParams::n`.
        mirror!("threshold_relu_mu_reduce" Params => ElemParams {
            groups = n, _p0 = _pad[0], _p1 = _pad[1], _p2 = _pad[2]
        }),
        mirror!("dropout_forward" Params => DropoutParams {
            n, per_row, rows_per_mask, seed, threshold, scale, _p0 = _pad[0], _p1 = _pad[1]
        }),
        mirror!("dropout_forward_vec4" Params => DropoutParams {
            n, per_row, rows_per_mask, seed, threshold, scale, _p0 = _pad[0], _p1 = _pad[1]
        }),
        mirror!("dropout_backward" Params => ElemParams {
            n, _p0 = _pad[0], _p1 = _pad[1], _p2 = _pad[2]
        }),
        mirror!("dropout_backward_vec4" Params => ElemParams { n, _p0 = _pad[0], _p1 = _pad[1], _p2 = _pad[2] }),
        // loss, optimizers
        mirror!("softmax_xent" Params => XentParams { n, classes, n_valid, _p0 = _pad }),
        mirror!("softmax_xent_stats" Params => XentParams { n, classes, n_valid, _p0 = _pad }),
        mirror!("sgd_step" Params => SgdParams { n, lr, momentum, weight_decay }),
        mirror!("sgd_step_vec4" Params => SgdParams { n, lr, momentum, weight_decay }),
        mirror!("adam_step" Params => AdamParams {
            n, step, lr, beta1, beta2, eps, weight_decay, amsgrad,
            clamp_max, use_clamp, step_size, bc2_sqrt
        }),
    ]
}

/// Spiking neurons, spike maps, reductions and statistics.
fn spiking_mirrors() -> Vec<Mirror> {
    vec![
        // spiking neurons
        mirror!("if_forward" Params => IfParams {
            n, t, in_stride_t, save_trace, beta, shift, out_scale, surrogate,
            count_n, init, _p1 = threads, _p2 = _pad
        }),
        mirror!("if_forward_reg" Params => IfParams {
            n, t, in_stride_t, save_trace, beta, shift, out_scale, surrogate,
            count_n, init, threads, _p2 = _pad
        }),
        mirror!("if_backward" Params => IfParams {
            n, t, in_stride_t, save_trace, beta, shift, out_scale, surrogate,
            count_n, init, _p1 = threads, _p2 = _pad
        }),
        mirror!("if_backward_reg" Params => IfParams {
            n, t, in_stride_t, save_trace, beta, shift, out_scale, surrogate,
            count_n, init, threads, _p2 = _pad
        }),
        mirror!("spike_map_count" Params => SpikeMapParams { n, hw, step, count_n, chunks, _p0 = _pad[0], _p1 = _pad[1], _p2 = _pad[2] }),
        // reductions, statistics
        mirror!("reduce_stage" Params => ReduceParams { n, op, per_thread, _p0 = _pad }),
        mirror!("sum_over_t" Params => TimeParams { n, t, _p0 = _pad[0], _p1 = _pad[1] }),
        mirror!("broadcast_over_t" Params => TimeParams { n, t, _p0 = _pad[0], _p1 = _pad[1] }),
        mirror!("radix_count_high" Params => RadixParams { n, low_bits, _p0 = _pad[0], _p1 = _pad[1] }),
        mirror!("radix_count_low" Params => RadixParams { n, low_bits, _p0 = _pad[0], _p1 = _pad[1] }),
        mirror!("histogram" Params => HistParams {
            n, bins, lo, hi, scale, _p0 = _pad[0], _p1 = _pad[1], _p2 = _pad[2]
        }),
    ]
}

/// A uniform as naga lays it out: struct name, span, and (name, offset, scalar) per member.
struct Reflected {
    shader: String,
    var: String,
    struct_name: Option<String>,
    span: u32,
    members: Vec<(String, u32, String)>,
}

fn scalar_name(inner: &TypeInner) -> String {
    match inner {
        TypeInner::Scalar(s) => {
            let kind = match s.kind {
                ScalarKind::Uint => "u",
                ScalarKind::Sint => "i",
                ScalarKind::Float => "f",
                _ => return format!("{inner:?}"),
            };
            format!("{kind}{}", u32::from(s.width) * 8)
        }
        other => format!("{other:?}"),
    }
}

/// Every `var<uniform>` of every `shaders/*.wgsl`, sorted by shader file name.
fn reflect_uniforms() -> Vec<Reflected> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/shaders");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("shaders/ exists")
        .map(|e| e.expect("readable shaders/ entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "wgsl"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let shader = path.file_stem().unwrap().to_string_lossy().into_owned();
        let source = std::fs::read_to_string(&path).unwrap();
        let module =
            naga::front::wgsl::parse_str(&source).unwrap_or_else(|e| panic!("{shader}: {}", e.emit_to_string(&source)));
        for (_, var) in module.global_variables.iter() {
            if var.space != AddressSpace::Uniform {
                continue;
            }
            let ty = &module.types[var.ty];
            let (span, members) = match &ty.inner {
                TypeInner::Struct { members, span } => (*span, members.as_slice()),
                _ => (0, &[][..]),
            };
            out.push(Reflected {
                shader: shader.clone(),
                var: var.name.clone().unwrap_or_default(),
                struct_name: matches!(ty.inner, TypeInner::Struct { .. }).then(|| ty.name.clone().unwrap_or_default()),
                span,
                members: members
                    .iter()
                    .map(|m| {
                        let name = m.name.clone().unwrap_or_default();
                        (name, m.offset, scalar_name(&module.types[m.ty].inner))
                    })
                    .collect(),
            });
        }
    }
    out
}

/// Differences between a reflected uniform and its Rust mirror (empty when they agree).
fn compare(u: &Reflected, m: &Mirror) -> Vec<String> {
    let at = format!("{}.wgsl `{}` vs {}", u.shader, m.wgsl_struct, m.rust_struct);
    let mut errs = Vec::new();
    if u.span as usize != m.size {
        errs.push(format!("{at}: WGSL size {} != Rust size {}", u.span, m.size));
    }
    let wgsl_names: Vec<&str> = u.members.iter().map(|(n, _, _)| n.as_str()).collect();
    let table_names: Vec<&str> = m.members.iter().map(|r| r.wgsl).collect();
    if wgsl_names != table_names {
        errs.push(format!(
            "{at}: WGSL members {wgsl_names:?} but the table lists {table_names:?}"
        ));
        return errs;
    }
    for ((name, offset, scalar), r) in u.members.iter().zip(&m.members) {
        if *offset as usize != r.offset {
            errs.push(format!(
                "{at}: `{name}` at offset {offset}, Rust `{}` at {}",
                r.rust, r.offset
            ));
        }
        if scalar != r.scalar {
            errs.push(format!("{at}: `{name}` is {scalar}, Rust `{}` is {}", r.rust, r.scalar));
        }
    }
    errs
}

#[test]
fn uniforms_match_their_rust_mirrors() {
    let uniforms = reflect_uniforms();
    let mirrors = mirrors();
    let mut errs = Vec::new();
    let mut keys = BTreeSet::new();
    for m in &mirrors {
        if !keys.insert((m.shader, m.wgsl_struct)) {
            errs.push(format!("{}.wgsl `{}` listed twice", m.shader, m.wgsl_struct));
        }
        let found = uniforms
            .iter()
            .find(|u| u.shader == m.shader && u.struct_name.as_deref() == Some(m.wgsl_struct));
        match found {
            Some(u) => errs.extend(compare(u, m)),
            None => errs.push(format!(
                "{}.wgsl has no uniform of type `{}` (stale table row?)",
                m.shader, m.wgsl_struct
            )),
        }
    }
    for u in &uniforms {
        let covered = u
            .struct_name
            .as_deref()
            .is_some_and(|s| keys.contains(&(u.shader.as_str(), s)));
        if !covered {
            errs.push(format!(
                "{}.wgsl: uniform `{}` ({}) has no Rust mirror in tests/wgsl_layout.rs",
                u.shader,
                u.var,
                u.struct_name.as_deref().unwrap_or("not a struct")
            ));
        }
    }
    assert!(errs.is_empty(), "{}", errs.join("\n"));
}

/// `Op::set_param_word` patches single words of a uniform: the word indices must
/// point at the fields they name.
#[test]
fn count_limit_words_point_at_count_n() {
    assert_eq!(IF_COUNT_LIMIT_WORD * 4, offset_of!(IfParams, count_n));
    assert_eq!(SPIKE_MAP_COUNT_LIMIT_WORD * 4, offset_of!(SpikeMapParams, count_n));
}

#[test]
fn a_wrong_mirror_is_caught() {
    let uniforms = reflect_uniforms();
    let u = uniforms
        .iter()
        .find(|u| u.shader == "if_forward")
        .expect("if_forward has a uniform");
    // Conv2dParams has IfParams' size; with beta and shift mapped onto swapped
    // fields (k, c_out) the offsets differ, and beta (f32) lands on a u32.
    let wrong = mirror!("if_forward" Params => Conv2dParams {
        n = n, t = c_in, in_stride_t = h, save_trace = w, beta = k, shift = c_out,
        out_scale = stride, surrogate = pad, count_n = out_h, init = out_w, _p1 = tiles,
        _p2 = rows_per
    });
    let errs = compare(u, &wrong);
    assert!(
        errs.iter().any(|e| e.contains("offset")),
        "a shuffled mirror passed: {errs:?}"
    );
    assert!(
        errs.iter().any(|e| e.contains("is f32")),
        "a u32 field under an f32 member passed: {errs:?}"
    );
}
