//! The built-in models: the paper's VGG-11/16 and ResNet-20 (DIET-SNN variant),
//! and small VGG-style nets that train in minutes for demos and tests.

use super::config::{LayerSpec, ModelConfig};
use crate::error::{Error, Result};

pub const NAMES: &[&str] = &[
    "vgg11",
    "vgg16",
    "resnet20",
    "vgg-small",
    "vgg-tiny",
    "vgg11-avg",
    "vgg16-avg",
    "resnet20-avg",
    "vgg-small-avg",
    "vgg-tiny-avg",
];

/// `input` = [C, H, W] of the dataset. A name ending in `-avg` is the model with
/// every max-pool replaced by an average pool of the same window: average
/// pooling is linear, so it commutes with the SNN's rate code (the pooled spike
/// rate is the rate of the pooled input), where max-pooling spikes is not, and NIR
/// can express it (`AvgPool2d`), where it has no max-pool.
pub fn builtin(name: &str, input: [usize; 3], classes: usize) -> Result<ModelConfig> {
    if let Some(base) = name.strip_suffix("-avg").filter(|b| !b.ends_with("-avg")) {
        return with_average_pools(builtin(base, input, classes)?, name);
    }
    let cfg = match name {
        "vgg11" => vgg(
            name,
            input,
            classes,
            &[64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512],
            &[4096, 4096],
            PAPER_DROPOUT,
        ),
        "vgg16" => vgg(
            name,
            input,
            classes,
            &[
                64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512,
            ],
            &[4096, 4096],
            PAPER_DROPOUT,
        ),
        "resnet20" => resnet20(input, classes),
        // Demo nets: light dropout so that a few epochs suffice.
        "vgg-small" => vgg(name, input, classes, &[32, 0, 64, 0], &[256], (0.1, 0.3)),
        "vgg-tiny" => vgg(name, input, classes, &[8, 0, 16, 0], &[], (0.1, 0.3)),
        other => {
            return Err(Error::Model(format!(
                "unknown model `{other}`; built-ins: {}",
                NAMES.join(", ")
            )))
        }
    };
    cfg.validate()?;
    Ok(cfg)
}

fn with_average_pools(mut cfg: ModelConfig, name: &str) -> Result<ModelConfig> {
    for l in &mut cfg.layers {
        if let LayerSpec::MaxPool { k, stride } = *l {
            *l = LayerSpec::AvgPool { k, stride };
        }
    }
    cfg.name = name.into();
    cfg.validate()?;
    Ok(cfg)
}

/// Dropout after each conv and after each hidden linear, as in the paper's code.
const PAPER_DROPOUT: (f32, f32) = (0.3, 0.5);

/// VGG as in the paper's code: conv3x3 (bias) - act - dropout per conv, max-pool 2x2 where `0`,
/// then flatten and linears with act - dropout, and the classifier.
/// Note the paper's VGG-16 for CIFAR ends its features without a last pool (512 x 2 x 2 = 2048 inputs).
fn vgg(
    name: &str,
    input: [usize; 3],
    classes: usize,
    features: &[usize],
    hidden: &[usize],
    drop: (f32, f32),
) -> ModelConfig {
    let mut layers = Vec::new();
    for &c in features {
        if c == 0 {
            layers.push(LayerSpec::MaxPool { k: 2, stride: 2 });
        } else {
            layers.push(LayerSpec::Conv {
                out: c,
                k: 3,
                stride: 1,
                pad: 1,
                bias: true,
            });
            layers.push(LayerSpec::Act { mu: 4.0 });
            layers.push(LayerSpec::Dropout { p: drop.0 });
        }
    }
    layers.push(LayerSpec::Flatten);
    for &h in hidden {
        layers.push(LayerSpec::Linear { out: h, bias: true });
        layers.push(LayerSpec::Act { mu: 4.0 });
        layers.push(LayerSpec::Dropout { p: drop.1 });
    }
    layers.push(LayerSpec::Linear {
        out: classes,
        bias: true,
    });
    ModelConfig {
        name: name.into(),
        input,
        classes,
        layers,
        act_levels: None,
    }
}

/// "ResNet-20" of the paper's code (DIET-SNN variant, not He et al.'s CIFAR ResNet-20):
/// 3 conv64 pre-layers + max-pool, basic blocks [2,2,2,2] at 64/128/256/512 channels
/// (stride 2 at the first block of each stage after the first), Linear(.., classes, bias=False).
/// On 32x32 input: 16x16 after the pool, 2x2x512 = 2048 features at the end.
fn resnet20(input: [usize; 3], classes: usize) -> ModelConfig {
    let mut layers = Vec::new();
    for _ in 0..3 {
        layers.push(LayerSpec::Conv {
            out: 64,
            k: 3,
            stride: 1,
            pad: 1,
            bias: true,
        });
        layers.push(LayerSpec::Act { mu: 4.0 });
        layers.push(LayerSpec::Dropout { p: 0.2 });
    }
    layers.push(LayerSpec::MaxPool { k: 2, stride: 2 });
    for (stage, &c) in [64usize, 128, 256, 512].iter().enumerate() {
        for b in 0..2 {
            let stride = if stage > 0 && b == 0 { 2 } else { 1 };
            layers.push(LayerSpec::Block {
                out: c,
                stride,
                dropout: 0.2,
            });
        }
    }
    layers.push(LayerSpec::Flatten);
    layers.push(LayerSpec::Linear {
        out: classes,
        bias: false,
    });
    ModelConfig {
        name: "resnet20".into(),
        input,
        classes,
        layers,
        act_levels: None,
    }
}
