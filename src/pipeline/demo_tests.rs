//! The planner on probes like those of a real GPU and of a CPU adapter, its
//! monotonicity, and bad probes refused by name.

use super::*;

fn probe(model: &str, first_batch_s: f64, batch_s: f64) -> DemoProbe {
    DemoProbe {
        model: model.into(),
        batch: 64,
        first_batch_s,
        batch_s,
    }
}

/// A discrete GPU in a browser: vgg-small at 8,000 images/s, networks built in 0.3 s.
fn gpu() -> Vec<DemoProbe> {
    vec![probe("vgg-tiny", 0.2, 0.004), probe("vgg-small", 0.3, 0.008)]
}

/// SwiftShader on 2 cores: vgg-small at 40 images/s, vgg-tiny at 136, builds of 5-6 s.
fn cpu() -> Vec<DemoProbe> {
    vec![probe("vgg-small", 8.0, 1.6), probe("vgg-tiny", 5.0, 0.47)]
}

#[test]
fn a_gpu_trains_the_bigger_model_on_the_whole_set_within_the_budget() {
    let p = plan(demo_probes(&gpu()).unwrap(), DEMO_BUDGET_S, 60_000, 10_000).unwrap();
    assert_eq!((p.model.as_str(), p.train_images, p.epochs), ("vgg-small", 60_000, 3));
    assert!(p.test_images > 1000 && p.test_images < 10_000, "{p:?}");
    assert_eq!((p.finetune_images, p.calib_batches), (10_000, 10));
    assert!(
        p.estimated_seconds <= DEMO_BUDGET_S && p.estimated_seconds > 30.0,
        "{p:?}"
    );
    assert!(p.reason.contains("within the 60 s budget"), "{}", p.reason);
}

#[test]
fn a_cpu_adapter_gets_the_smallest_demo_and_is_told_it_runs_past_the_budget() {
    let p = plan(demo_probes(&cpu()).unwrap(), DEMO_BUDGET_S, 60_000, 10_000).unwrap();
    assert_eq!(
        (
            p.model.as_str(),
            p.train_images,
            p.epochs,
            p.test_images,
            p.finetune_images,
            p.calib_batches
        ),
        ("vgg-tiny", 1500, 1, 200, 400, 4)
    );
    // 1500 + 64 x 200 + 2 x 400 + 4 x 100 image-equivalents at 136/s, and 38 networks at 4.53 s.
    let want = (1500.0 + 12_800.0 + 800.0 + 400.0) / (64.0 / 0.47) + 38.0 * 4.53;
    assert!(
        (p.estimated_seconds - want).abs() < 1e-6,
        "{} vs {want}",
        p.estimated_seconds
    );
    assert!(p.reason.contains("vgg-small cannot see one epoch"), "{}", p.reason);
    assert!(p.reason.contains("past the 60 s budget"), "{}", p.reason);
}

#[test]
fn with_the_same_model_a_faster_device_never_trains_or_tests_on_less() {
    let mut last: Option<(String, usize, usize)> = None;
    let mut models = Vec::new();
    for k in 0..40 {
        let batch_s = 2.0 / 1.35f64.powi(k);
        let probes = [
            probe("vgg-small", batch_s + 0.1, batch_s),
            probe("vgg-tiny", batch_s / 2.0 + 0.1, batch_s / 2.0),
        ];
        let p = plan([&probes[0], &probes[1]], DEMO_BUDGET_S, 60_000, 10_000).unwrap();
        if p.model == "vgg-small" {
            assert!(p.train_images * p.epochs >= 60_000, "{p:?}");
        }
        if let Some((model, trained, tested)) = &last {
            if *model == p.model {
                assert!(
                    p.train_images * p.epochs >= *trained && p.test_images >= *tested,
                    "k={k}: {p:?}"
                );
            }
        }
        if models.last() != Some(&p.model) {
            models.push(p.model.clone());
        }
        last = Some((p.model.clone(), p.train_images * p.epochs, p.test_images));
    }
    // Slow devices get the small model, fast ones the big one, and the switch happens once.
    assert_eq!(models, ["vgg-tiny", "vgg-small"]);
    assert_eq!(last.map(|l| (l.1, l.2)), Some((3 * 60_000, 10_000)));
}

#[test]
fn a_small_dataset_bounds_every_size() {
    let p = plan(demo_probes(&cpu()).unwrap(), DEMO_BUDGET_S, 300, 50).unwrap();
    assert_eq!((p.train_images, p.test_images, p.finetune_images), (300, 50, 300));
}

#[test]
fn bad_probes_and_budgets_are_refused_by_name() {
    let cases: Vec<(DemoProbe, f64, &str)> = vec![
        (probe("vgg-small", 1.0, f64::NAN), 60.0, "batch_s"),
        (probe("vgg-small", 0.0, 0.5), 60.0, "first_batch_s"),
        (probe("vgg-small", 1.0, -1.0), 60.0, "batch_s"),
        (
            DemoProbe {
                batch: 0,
                ..probe("vgg-small", 1.0, 0.5)
            },
            60.0,
            "batch",
        ),
        (probe("vgg-small", 1.0, 0.5), f64::INFINITY, "budget"),
        (probe("vgg-small", 1.0, 0.5), 1.0, "budget"),
    ];
    let tiny = probe("vgg-tiny", 1.0, 0.5);
    for (bad, budget, field) in cases {
        let err = plan([&bad, &tiny], budget, 60_000, 10_000).unwrap_err().to_string();
        assert!(err.contains(field), "{field}: {err}");
    }
    let err = demo_probes(&[probe("vgg-small", 1.0, 0.5)]).unwrap_err().to_string();
    assert!(err.contains("no probe of `vgg-tiny`"), "{err}");
    let err = plan([&probe("vgg-small", 1.0, 0.5), &tiny], 60.0, 0, 10)
        .unwrap_err()
        .to_string();
    assert!(err.contains("load a dataset"), "{err}");
}

#[test]
fn a_slow_device_fine_tunes_the_bundled_model_and_a_gpu_still_trains_from_scratch() {
    let mnist = BUNDLED_MODELS.iter().find(|b| b.dataset == DatasetKind::Mnist);
    let p = plan_with_bundled(demo_probes(&cpu()).unwrap(), DEMO_BUDGET_S, 60_000, 10_000, mnist).unwrap();
    assert_eq!(
        (
            p.start,
            p.bundled_file.as_deref(),
            p.model.as_str(),
            p.qcfs,
            p.method.as_deref()
        ),
        (
            DemoStart::Bundled,
            Some("mnist.safetensors"),
            "vgg-small-avg",
            Some(4),
            Some("qcfs")
        )
    );
    assert_eq!(p.lr, Some(BUNDLED_FINETUNE_LR));
    // Sized with the bigger model's rate (vgg-small-avg is vgg-small with average pools).
    let big = plan([&cpu()[0], &cpu()[0]], DEMO_BUDGET_S, 60_000, 10_000).unwrap();
    assert_eq!(
        (p.train_images, p.epochs, p.test_images),
        (big.train_images, 1, big.test_images)
    );
    assert!(
        p.reason.contains("starts from the bundled vgg-small-avg"),
        "{}",
        p.reason
    );
    let fresh = plan_with_bundled(demo_probes(&gpu()).unwrap(), DEMO_BUDGET_S, 60_000, 10_000, mnist).unwrap();
    assert_eq!(
        (fresh.start, fresh.model.as_str(), fresh.qcfs, fresh.lr),
        (DemoStart::Fresh, "vgg-small", None, None)
    );
    // No bundled model for the data: the smaller model from scratch, as before.
    let none = plan_with_bundled(demo_probes(&cpu()).unwrap(), DEMO_BUDGET_S, 60_000, 10_000, None).unwrap();
    assert_eq!((none.start, none.model.as_str()), (DemoStart::Fresh, "vgg-tiny"));
}
