//! Dataset loaders on real MNIST / Fashion-MNIST (from `data/`, made by
//! `scripts/fetch-datasets.sh data`) and on CIFAR files written here in the
//! official binary and .tar.gz formats; augmentation and batching.

use std::io::Write;
use std::path::{Path, PathBuf};

use ultraspike::data::augment::{crop_flip, CropFlip};
use ultraspike::data::{
    load_dir, load_named_files, parse_cifar, parse_cifar_archive, parse_idx_pair, synthetic,
    synthetic_split, Augment, Batcher, Dataset, DatasetKind, Normalization, Split,
};
use ultraspike::util::rng::Rng;

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
        (
            "fashion/t10k-images-idx3-ubyte.gz",
            read("t10k-images-idx3-ubyte.gz"),
        ),
        (
            "fashion/t10k-labels-idx1-ubyte.gz",
            read("t10k-labels-idx1-ubyte.gz"),
        ),
        (
            "fashion/train-images-idx3-ubyte.gz",
            read("train-images-idx3-ubyte.gz"),
        ),
        (
            "fashion/train-labels-idx1-ubyte.gz",
            read("train-labels-idx1-ubyte.gz"),
        ),
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
fn cifar_file(kind: DatasetKind, n: usize, rng: &mut Rng) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let (mut file, mut labels, mut pixels) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..n {
        let px: Vec<u8> = (0..3072).map(|_| rng.next_u32() as u8).collect();
        if kind == DatasetKind::Cifar100 {
            let fine = rng.below(100) as u8;
            file.extend([fine / 5, fine]);
            labels.push(fine);
        } else {
            let l = rng.below(10) as u8;
            file.push(l);
            labels.push(l);
        }
        file.extend(&px);
        pixels.extend(px);
    }
    (file, labels, pixels)
}

/// ustar header written field by field, as GNU tar does.
fn tar_header(name: &str, size: usize, typeflag: u8) -> [u8; 512] {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0001750\0");
    h[116..124].copy_from_slice(b"0001750\0");
    h[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
    h[136..148].copy_from_slice(b"11150223640\0");
    h[156] = typeflag;
    h[257..265].copy_from_slice(b"ustar  \0");
    h[265..269].copy_from_slice(b"user");
    h[148..156].fill(b' ');
    let sum: u32 = h.iter().map(|&b| b as u32).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    h
}

fn tar(entries: &[(&str, u8, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, flag, data) in entries {
        out.extend(tar_header(name, data.len(), *flag));
        out.extend(*data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

#[test]
fn cifar10_files_dir_and_archive() {
    let mut rng = Rng::new(7);
    let batches: Vec<_> = (0..5)
        .map(|i| cifar_file(DatasetKind::Cifar10, 2 + i, &mut rng))
        .collect();
    let test = cifar_file(DatasetKind::Cifar10, 3, &mut rng);
    let want_labels: Vec<u8> = batches.iter().flat_map(|b| b.1.clone()).collect();
    let want_px: Vec<u8> = batches.iter().flat_map(|b| b.2.clone()).collect();

    let files: Vec<&[u8]> = batches.iter().map(|b| b.0.as_slice()).collect();
    let ds = parse_cifar(DatasetKind::Cifar10, &files).unwrap();
    assert_eq!((ds.n, ds.c, ds.h, ds.w, ds.classes), (20, 3, 32, 32, 10));
    assert_eq!((&ds.labels, &ds.images), (&want_labels, &want_px));

    // directory layout of the extracted archive
    let dir = std::env::temp_dir().join(format!("ultraspike-cifar10-{}", std::process::id()));
    let sub = dir.join("cifar-10-batches-bin");
    std::fs::create_dir_all(&sub).unwrap();
    for (i, b) in batches.iter().enumerate() {
        std::fs::write(sub.join(format!("data_batch_{}.bin", i + 1)), &b.0).unwrap();
    }
    std::fs::write(sub.join("test_batch.bin"), &test.0).unwrap();
    std::fs::write(sub.join("batches.meta.txt"), b"airplane\n").unwrap();
    let split = load_dir(DatasetKind::Cifar10, &dir).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(split.train, ds);
    assert_eq!((&split.test.labels, &split.test.images), (&test.1, &test.2));

    // the official .tar.gz layout, with a directory entry and the meta file
    let mut entries: Vec<(String, u8, &[u8])> = vec![("cifar-10-batches-bin/".into(), b'5', &[])];
    entries.push((
        "cifar-10-batches-bin/batches.meta.txt".into(),
        b'0',
        b"airplane\n",
    ));
    for (i, b) in batches.iter().enumerate().rev() {
        entries.push((
            format!("cifar-10-batches-bin/data_batch_{}.bin", i + 1),
            b'0',
            &b.0,
        ));
    }
    entries.push(("cifar-10-batches-bin/test_batch.bin".into(), b'0', &test.0));
    let e: Vec<(&str, u8, &[u8])> = entries
        .iter()
        .map(|(n, f, d)| (n.as_str(), *f, *d))
        .collect();
    let tgz = gzip(&tar(&e));
    let from_archive = parse_cifar_archive(DatasetKind::Cifar10, &tgz).unwrap();
    assert_eq!(from_archive, split);
    let inferred = load_named_files(None, &[("cifar-10-binary.tar.gz", &tgz)]).unwrap();
    assert_eq!(inferred, split);
    // wrong kind for this archive
    let m = err_msg(parse_cifar_archive(DatasetKind::Cifar100, &tgz));
    assert!(m.contains("train.bin and test.bin"), "{m}");
    // truncated archive and corrupted tar header
    assert!(err_msg(parse_cifar_archive(
        DatasetKind::Cifar10,
        &tgz[..tgz.len() - 100]
    ))
    .contains("gzip"));
    let mut t = tar(&e);
    t[3] ^= 0x20;
    let m = err_msg(parse_cifar_archive(DatasetKind::Cifar10, &gzip(&t)));
    assert!(m.contains("checksum"), "{m}");
    let t = tar(&e);
    let m = err_msg(parse_cifar_archive(DatasetKind::Cifar10, &t[..2000]));
    assert!(m.contains("truncated"), "{m}");
}

#[test]
fn cifar100_archive_with_long_name_uses_fine_labels() {
    let mut rng = Rng::new(11);
    let train = cifar_file(DatasetKind::Cifar100, 6, &mut rng);
    let test = cifar_file(DatasetKind::Cifar100, 4, &mut rng);
    // a GNU long-name record ('L') carries a path longer than the 100-byte field
    let long = format!("cifar-100-binary/{}/test.bin", "x".repeat(120));
    let mut long_z = long.clone().into_bytes();
    long_z.push(0);
    let e: Vec<(&str, u8, &[u8])> = vec![
        ("cifar-100-binary/train.bin", b'0', &train.0),
        ("././@LongLink", b'L', &long_z),
        (&long[..99], b'0', &test.0),
        (
            "cifar-100-binary/coarse_label_names.txt",
            b'0',
            b"aquatic_mammals\n",
        ),
    ];
    let split = parse_cifar_archive(DatasetKind::Cifar100, &gzip(&tar(&e))).unwrap();
    assert_eq!(
        (split.train.n, split.test.n, split.train.classes),
        (6, 4, 100)
    );
    assert_eq!(
        (&split.train.labels, &split.train.images),
        (&train.1, &train.2)
    );
    assert_eq!((&split.test.labels, &split.test.images), (&test.1, &test.2));
    assert_eq!(
        split.train.norm,
        Normalization::for_kind(DatasetKind::Cifar100)
    );
    // loose files, kind inferred from the names
    let loose = load_named_files(None, &[("train.bin", &train.0), ("test.bin", &test.0)]).unwrap();
    assert_eq!(loose, split);
}

#[test]
fn cifar_rejects_wrong_sizes_and_labels() {
    let mut rng = Rng::new(3);
    let (c10, _, _) = cifar_file(DatasetKind::Cifar10, 2, &mut rng);
    let m = err_msg(parse_cifar(DatasetKind::Cifar10, &[&c10[..c10.len() - 1]]));
    assert!(m.contains("3073") && m.contains("file 0"), "{m}");
    // CIFAR-10 records read as CIFAR-100 do not divide
    assert!(err_msg(parse_cifar(DatasetKind::Cifar100, &[&c10])).contains("3074"));
    let mut bad = c10.clone();
    bad[3073] = 10;
    let m = err_msg(parse_cifar(DatasetKind::Cifar10, &[&bad]));
    assert!(m.contains("record 1") && m.contains("out of range"), "{m}");
    assert!(err_msg(parse_cifar(DatasetKind::Cifar10, &[])).contains("no files"));
    let m = err_msg(load_named_files(None, &[("data_batch_1.bin", &c10)]));
    assert!(m.contains("test_batch.bin"), "{m}");
    assert!(err_msg(load_named_files(None, &[("notes.txt", b"hi")])).contains("no dataset files"));
}

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
    assert_eq!(
        Normalization::for_kind(DatasetKind::FashionMnist).mean,
        [0.2860]
    );
    for k in DatasetKind::ALL {
        assert_eq!(k.to_string().parse::<DatasetKind>().unwrap(), k);
        let js = serde_json::to_string(&k).unwrap();
        assert_eq!(js, format!("\"{k}\""));
        assert_eq!(serde_json::from_str::<DatasetKind>(&js).unwrap(), k);
    }
    assert_eq!(
        "CIFAR-10".parse::<DatasetKind>().unwrap(),
        DatasetKind::Cifar10
    );
    assert!("imagenet".parse::<DatasetKind>().is_err());
}

#[test]
fn crop_and_flip_hand_checked() {
    // 1 channel, 2x3:  1 2 3 / 4 5 6
    let src = [1u8, 2, 3, 4, 5, 6];
    let mut dst = [0u8; 6];
    // pad 1, corner (0,0): shifts the image down-right by one, zeros enter
    crop_flip(
        &src,
        [1, 2, 3],
        1,
        CropFlip {
            dy: 0,
            dx: 0,
            flip: false,
        },
        &mut dst,
    )
    .unwrap();
    assert_eq!(dst, [0, 0, 0, 0, 1, 2]);
    crop_flip(
        &src,
        [1, 2, 3],
        1,
        CropFlip {
            dy: 1,
            dx: 1,
            flip: false,
        },
        &mut dst,
    )
    .unwrap();
    assert_eq!(dst, src);
    crop_flip(
        &src,
        [1, 2, 3],
        1,
        CropFlip {
            dy: 1,
            dx: 1,
            flip: true,
        },
        &mut dst,
    )
    .unwrap();
    assert_eq!(dst, [3, 2, 1, 6, 5, 4]);
    // crop up-left by one, then mirror
    crop_flip(
        &src,
        [1, 2, 3],
        1,
        CropFlip {
            dy: 2,
            dx: 2,
            flip: true,
        },
        &mut dst,
    )
    .unwrap();
    assert_eq!(dst, [0, 6, 5, 0, 0, 0]);
    assert!(crop_flip(
        &src,
        [1, 2, 3],
        1,
        CropFlip {
            dy: 3,
            dx: 0,
            flip: false
        },
        &mut dst
    )
    .is_err());
    assert!(crop_flip(
        &src[..5],
        [1, 2, 3],
        1,
        CropFlip {
            dy: 0,
            dx: 0,
            flip: false
        },
        &mut dst
    )
    .is_err());
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
        assert!(
            y[v..].iter().all(|&l| l == 0) && x[v * ds.image_len()..].iter().all(|&p| p == 0.0)
        );
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
    assert_eq!(
        epoch(&mut b, &ds, 0).0,
        y0,
        "epoch order depends only on (seed, epoch)"
    );
    let mut fresh = Batcher::new(&ds, 3, true, false, 42);
    assert_eq!(epoch(&mut fresh, &ds, 1).0, y1);

    let mut d = Batcher::new(&ds, 3, false, false, 1).drop_last(true);
    assert_eq!(d.batches_per_epoch(), 3);
    assert_eq!(epoch(&mut d, &ds, 0).0, (0..9).collect::<Vec<u32>>());
    let (mut x, mut y) = (vec![0.0; 5], vec![0; 3]);
    assert!(d.next_batch(&ds, &mut x, &mut y).is_err(), "wrong x size");
    assert!(
        d.next_batch(&indexed(4, 1, 2), &mut [0.0; 12], &mut y)
            .is_err(),
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
                crop_flip(
                    ds.image(i),
                    [3, 8, 8],
                    4,
                    CropFlip { dy, dx, flip },
                    &mut cand,
                )
                .unwrap();
                ds.norm.apply(&cand, 3, &mut norm);
                norm == row
            });
        assert!(found, "row {i} is no crop/flip of sample {i}");
        ds.normalized_into(i, &mut norm);
        distinct += (norm != row) as usize;
    }
    assert!(
        distinct > 8,
        "augmentation changed only {distinct} of 16 images"
    );
}

#[test]
fn synthetic_is_deterministic_and_learnable() {
    let s = synthetic_split(400, 200, 3, 8, 8, 5, 123).unwrap();
    assert_eq!(s, synthetic_split(400, 200, 3, 8, 8, 5, 123).unwrap());
    assert_ne!(
        s.train.images,
        synthetic_split(400, 200, 3, 8, 8, 5, 124)
            .unwrap()
            .train
            .images
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
