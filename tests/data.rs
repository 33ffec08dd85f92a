//! Dataset loaders on real MNIST / Fashion-MNIST (from `data/`, made by
//! `scripts/fetch-datasets.sh data`), IDX error handling and normalization.
//! CIFAR: tests/data_cifar.rs; augmentation and batching: tests/data_batches.rs.
#![cfg(not(target_arch = "wasm32"))] // native (lavapipe or a GPU); the browser runs tests/browser.rs

use std::io::Write;
use std::path::{Path, PathBuf};

use ultraspike::data::{load_dir, load_named_files, parse_idx_pair, Dataset, DatasetKind, Normalization, Split};

fn data_dir() -> Option<PathBuf> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    if d.join("mnist").is_dir() && d.join("fashion-mnist").is_dir() {
        return Some(d);
    }
    if std::env::var_os("CI").is_some() {
        panic!("data/ is missing under CI: run `bash scripts/fetch-datasets.sh data` first");
    }
    eprintln!(
        "SKIP: {} has no datasets; run `bash scripts/fetch-datasets.sh data`",
        d.display()
    );
    None
}

fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

fn mean_pixel(ds: &Dataset) -> f64 {
    ds.images.iter().map(|&p| p as u64).sum::<u64>() as f64 / ds.images.len() as f64 / 255.0
}

fn err_msg<T: std::fmt::Debug>(r: ultraspike::Result<T>) -> String {
    r.expect_err("expected an error").to_string()
}

#[test]
fn real_mnist_raw_and_gz() {
    let Some(dir) = data_dir() else { return };
    let Split { train, test } = load_dir(DatasetKind::Mnist, &dir).unwrap();
    assert_eq!((train.n, test.n), (60000, 10000));
    assert_eq!((train.c, train.h, train.w, train.classes), (1, 28, 28, 10));
    assert_eq!(&train.labels[..10], &[5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    assert_eq!(&test.labels[..10], &[7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
    assert_eq!(
        train.label_histogram(),
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
    assert_eq!(
        test.label_histogram(),
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
    let m = mean_pixel(&train);
    assert!((m - 0.1307).abs() < 1e-3, "MNIST mean pixel {m}");
    assert_eq!(train.norm, Normalization::for_kind(DatasetKind::Mnist));
    // the same bytes gzip-compressed parse to the same dataset
    let im = std::fs::read(dir.join("mnist/t10k-images-idx3-ubyte")).unwrap();
    let lb = std::fs::read(dir.join("mnist/t10k-labels-idx1-ubyte")).unwrap();
    let gz = parse_idx_pair(DatasetKind::Mnist, &gzip(&im), &gzip(&lb)).unwrap();
    assert_eq!(gz, test);
}

#[test]
fn real_fashion_mnist_raw_and_gz() {
    let Some(dir) = data_dir() else { return };
    let d = dir.join("fashion-mnist");
    let read = |n: &str| std::fs::read(d.join(n)).unwrap();
    let raw = parse_idx_pair(
        DatasetKind::FashionMnist,
        &read("train-images-idx3-ubyte"),
        &read("train-labels-idx1-ubyte"),
    )
    .unwrap();
    let gz = parse_idx_pair(
        DatasetKind::FashionMnist,
        &read("train-images-idx3-ubyte.gz"),
        &read("train-labels-idx1-ubyte.gz"),
    )
    .unwrap();
    assert_eq!(raw, gz);
    assert_eq!(raw.n, 60000);
    assert_eq!(raw.label_histogram(), vec![6000; 10]);
    assert_eq!(&raw.labels[..10], &[9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
    let m = mean_pixel(&raw);
    assert!((m - 0.2860).abs() < 1e-3, "Fashion-MNIST mean pixel {m}");
    // browser path: only the .gz test files, named as uploaded
    let files = [
        ("fashion/t10k-images-idx3-ubyte.gz", read("t10k-images-idx3-ubyte.gz")),
        ("fashion/t10k-labels-idx1-ubyte.gz", read("t10k-labels-idx1-ubyte.gz")),
        ("fashion/train-images-idx3-ubyte.gz", read("train-images-idx3-ubyte.gz")),
        ("fashion/train-labels-idx1-ubyte.gz", read("train-labels-idx1-ubyte.gz")),
        ("fashion/README.md", b"not data".to_vec()),
    ];
    let named: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (*n, b.as_slice())).collect();
    let split = load_named_files(None, &named).unwrap();
    assert_eq!(split.train.kind, DatasetKind::FashionMnist);
    assert_eq!(split.train, raw);
    assert_eq!(split.test.n, 10000);
    assert_eq!(split.test.label_histogram(), vec![1000; 10]);
    assert_eq!(&split.test.labels[..10], &[9, 2, 1, 1, 6, 1, 4, 6, 5, 7]);
}

/// Tiny IDX pair written by hand: 3 images of 28x28.
fn idx_pair(n_img: u32, n_lab: u32) -> (Vec<u8>, Vec<u8>) {
    let mut im = vec![0, 0, 8, 3];
    for d in [n_img, 28, 28] {
        im.extend(d.to_be_bytes());
    }
    im.extend((0..n_img as usize * 784).map(|i| (i % 251) as u8));
    let mut lb = vec![0, 0, 8, 1];
    lb.extend(n_lab.to_be_bytes());
    lb.extend((0..n_lab).map(|i| (i % 10) as u8));
    (im, lb)
}

#[test]
fn idx_rejects_bad_inputs() {
    let (im, lb) = idx_pair(3, 3);
    let ds = parse_idx_pair(DatasetKind::Mnist, &im, &lb).unwrap();
    assert_eq!((ds.n, ds.labels.clone()), (3, vec![0, 1, 2]));
    assert_eq!(ds.image(2)[5], ((2 * 784 + 5) % 251) as u8);

    let m = err_msg(parse_idx_pair(DatasetKind::Mnist, &im[..im.len() - 1], &lb));
    assert!(m.contains("truncated") && m.contains("2368"), "{m}");
    let mut long = im.clone();
    long.push(0);
    assert!(err_msg(parse_idx_pair(DatasetKind::Mnist, &long, &lb)).contains("trailing"));
    let mut bad = im.clone();
    bad[2] = 9;
    assert!(err_msg(parse_idx_pair(DatasetKind::Mnist, &bad, &lb)).contains("magic"));
    // labels file given as images
    assert!(err_msg(parse_idx_pair(DatasetKind::Mnist, &lb, &im)).contains("dims"));
    let (_, lb4) = idx_pair(3, 4);
    assert!(err_msg(parse_idx_pair(DatasetKind::Mnist, &im, &lb4)).contains("3 images but"));
    let mut lbad = lb.clone();
    lbad[9] = 10;
    assert!(err_msg(parse_idx_pair(DatasetKind::Mnist, &im, &lbad)).contains("out of range"));
    let gz = gzip(&im);
    let m = err_msg(parse_idx_pair(DatasetKind::Mnist, &gz[..gz.len() / 2], &lb));
    assert!(m.contains("gzip"), "{m}");
    assert!(err_msg(parse_idx_pair(DatasetKind::Mnist, &[0, 0], &lb)).contains("too short"));
}

/// CIFAR records: CIFAR-10 `<label><3072 px>`, CIFAR-100 `<coarse><fine><3072 px>`.
#[test]
fn normalization_values() {
    let n = Normalization::for_kind(DatasetKind::Cifar10);
    let mut out = [0.0f32; 3];
    n.apply(&[255, 0, 128], 3, &mut out);
    let want = [
        (1.0 - 0.4914) / 0.2023,
        -0.4822 / 0.1994,
        (128.0 / 255.0 - 0.4465) / 0.2010,
    ];
    for (g, w) in out.iter().zip(want) {
        assert!((g - w).abs() < 1e-5, "{out:?} vs {want:?}");
    }
    assert_eq!(
        Normalization::for_kind(DatasetKind::Cifar100).std,
        [0.2675, 0.2565, 0.2761]
    );
    assert_eq!(Normalization::for_kind(DatasetKind::FashionMnist).mean, [0.2860]);
    for k in DatasetKind::ALL {
        assert_eq!(k.to_string().parse::<DatasetKind>().unwrap(), k);
        let js = serde_json::to_string(&k).unwrap();
        assert_eq!(js, format!("\"{k}\""));
        assert_eq!(serde_json::from_str::<DatasetKind>(&js).unwrap(), k);
    }
    assert_eq!("CIFAR-10".parse::<DatasetKind>().unwrap(), DatasetKind::Cifar10);
    assert!("imagenet".parse::<DatasetKind>().is_err());
}
