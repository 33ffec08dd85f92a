//! Augmentation (crop + flip), the seeded batcher and the synthetic dataset.
#![cfg(not(target_arch = "wasm32"))] // native (lavapipe or a GPU); the browser runs tests/browser.rs

use ultraspike::data::augment::{crop_flip, CropFlip};
use ultraspike::data::{synthetic, synthetic_split, Augment, Batcher, Dataset, DatasetKind, Normalization};

#[test]
fn crop_and_flip_hand_checked() {
    // 1 channel, 2x3:  1 2 3 / 4 5 6, padded by 1; (dy, dx) is the crop's corner in the padded image.
    let src = [1u8, 2, 3, 4, 5, 6];
    let crop = |src: &[u8], dy: usize, dx: usize, flip: bool| {
        let mut dst = [0u8; 6];
        crop_flip(src, [1, 2, 3], 1, CropFlip { dy, dx, flip }, &mut dst).map(|_| dst)
    };
    // corner (0,0) shifts the image down-right by one, zeros enter
    assert_eq!(crop(&src, 0, 0, false).unwrap(), [0, 0, 0, 0, 1, 2]);
    assert_eq!(crop(&src, 1, 1, false).unwrap(), src);
    assert_eq!(crop(&src, 1, 1, true).unwrap(), [3, 2, 1, 6, 5, 4]);
    // crop up-left by one, then mirror
    assert_eq!(crop(&src, 2, 2, true).unwrap(), [0, 6, 5, 0, 0, 0]);
    assert!(crop(&src, 3, 0, false).is_err(), "corner past the padding");
    assert!(crop(&src[..5], 0, 0, false).is_err(), "source shorter than C*H*W");
}

/// n samples, sample i has every pixel and label = i (classes 256).
fn indexed(n: usize, c: usize, hw: usize) -> Dataset {
    Dataset {
        kind: DatasetKind::Synthetic,
        n,
        c,
        h: hw,
        w: hw,
        classes: 256,
        images: (0..n).flat_map(|i| vec![i as u8; c * hw * hw]).collect(),
        labels: (0..n).map(|i| i as u8).collect(),
        norm: Normalization {
            mean: vec![0.0],
            std: vec![1.0 / 255.0],
        },
    }
}

fn epoch(b: &mut Batcher, ds: &Dataset, e: u64) -> (Vec<u32>, Vec<f32>) {
    b.reset_epoch(e);
    let bs = b.batch_size();
    let (mut x, mut y) = (vec![0.0; bs * ds.image_len()], vec![0; bs]);
    let (mut ys, mut xs) = (Vec::new(), Vec::new());
    while let Some(v) = b.next_batch(ds, &mut x, &mut y).unwrap() {
        assert!(y[v..].iter().all(|&l| l == 0) && x[v * ds.image_len()..].iter().all(|&p| p == 0.0));
        ys.extend(&y[..v]);
        xs.extend(&x[..v * ds.image_len()]);
    }
    assert!(
        b.next_batch(ds, &mut x, &mut y).unwrap().is_none(),
        "stays at the end until reset"
    );
    (ys, xs)
}

#[test]
fn batcher_covers_each_sample_once_per_epoch() {
    let ds = indexed(10, 1, 2);
    let mut b = Batcher::new(&ds, 3, true, false, 42);
    assert_eq!(b.batches_per_epoch(), 4);
    let (y0, x0) = epoch(&mut b, &ds, 0);
    let mut sorted = y0.clone();
    sorted.sort();
    assert_eq!(sorted, (0..10).collect::<Vec<u32>>());
    assert!(y0 != sorted, "shuffled");
    for (i, &l) in y0.iter().enumerate() {
        let row = &x0[i * 4..i * 4 + 4];
        assert!(
            row.iter().all(|&p| (p - l as f32).abs() < 1e-3),
            "image matches label: {row:?} vs {l}"
        );
    }
    let (y1, _) = epoch(&mut b, &ds, 1);
    assert_ne!(y0, y1, "reshuffled per epoch");
    assert_eq!(epoch(&mut b, &ds, 0).0, y0, "epoch order depends only on (seed, epoch)");
    let mut fresh = Batcher::new(&ds, 3, true, false, 42);
    assert_eq!(epoch(&mut fresh, &ds, 1).0, y1);

    let mut d = Batcher::new(&ds, 3, false, false, 1).drop_last(true);
    assert_eq!(d.batches_per_epoch(), 3);
    assert_eq!(epoch(&mut d, &ds, 0).0, (0..9).collect::<Vec<u32>>());
    let (mut x, mut y) = (vec![0.0; 5], vec![0; 3]);
    assert!(d.next_batch(&ds, &mut x, &mut y).is_err(), "wrong x size");
    assert!(
        d.next_batch(&indexed(4, 1, 2), &mut [0.0; 12], &mut y).is_err(),
        "other dataset"
    );
}

#[test]
fn augmentation_deterministic_per_seed() {
    let ds = synthetic(16, 3, 8, 8, 4, 5).unwrap();
    let run = |seed| epoch(&mut Batcher::new(&ds, 5, true, true, seed), &ds, 2);
    let (ya, xa) = run(9);
    assert_eq!(run(9), (ya.clone(), xa.clone()));
    assert_ne!(run(10).1, xa);
    // each augmented row is one crop/flip of its source image
    let mut b = Batcher::new(&ds, 16, false, true, 9).with_augment(Augment::cifar());
    let (y, x) = epoch(&mut b, &ds, 0);
    let mut cand = vec![0u8; ds.image_len()];
    let mut norm = vec![0.0f32; ds.image_len()];
    let mut distinct = 0;
    for (i, &l) in y.iter().enumerate() {
        assert_eq!(l, ds.labels[i] as u32);
        let row = &x[i * ds.image_len()..(i + 1) * ds.image_len()];
        let found = (0..9)
            .flat_map(|dy| (0..9).flat_map(move |dx| [false, true].map(|f| (dy, dx, f))))
            .any(|(dy, dx, flip)| {
                crop_flip(ds.image(i), [3, 8, 8], 4, CropFlip { dy, dx, flip }, &mut cand).unwrap();
                ds.norm.apply(&cand, 3, &mut norm);
                norm == row
            });
        assert!(found, "row {i} is no crop/flip of sample {i}");
        ds.normalized_into(i, &mut norm);
        distinct += (norm != row) as usize;
    }
    assert!(distinct > 8, "augmentation changed only {distinct} of 16 images");
}

#[test]
fn synthetic_is_deterministic_and_learnable() {
    let s = synthetic_split(400, 200, 3, 8, 8, 5, 123).unwrap();
    assert_eq!(s, synthetic_split(400, 200, 3, 8, 8, 5, 123).unwrap());
    assert_ne!(
        s.train.images,
        synthetic_split(400, 200, 3, 8, 8, 5, 124).unwrap().train.images
    );
    s.train.validate().unwrap();
    assert!(s.train.label_histogram().iter().all(|&c| c > 40));
    // nearest class mean, fit on train: far above the 20% of chance on test
    let l = s.train.image_len();
    let mut means = vec![vec![0.0f64; l]; 5];
    for i in 0..s.train.n {
        let c = s.train.labels[i] as usize;
        for (m, &p) in means[c].iter_mut().zip(s.train.image(i)) {
            *m += p as f64;
        }
    }
    let hist = s.train.label_histogram();
    let correct = (0..s.test.n)
        .filter(|&i| {
            let d = |c: usize| -> f64 {
                means[c]
                    .iter()
                    .zip(s.test.image(i))
                    .map(|(m, &p)| (m / hist[c] as f64 - p as f64).powi(2))
                    .sum()
            };
            let best = (0..5).min_by(|&a, &b| d(a).total_cmp(&d(b))).unwrap();
            best == s.test.labels[i] as usize
        })
        .count();
    assert!(correct > 180, "nearest-mean accuracy {correct}/200");
    assert!(synthetic(4, 0, 8, 8, 2, 1).is_err());
    assert_eq!(s.train.subset(390, 20).n, 10);
    assert_eq!(s.train.subset(10, 3).labels, s.train.labels[10..13]);
}
