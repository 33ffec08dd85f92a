//! CIFAR-10/100 loaders on files written here in the official binary and
//! .tar.gz formats: directories, archives, loose files, bad inputs.
#![cfg(not(target_arch = "wasm32"))] // native (lavapipe or a GPU); the browser runs tests/browser.rs

use std::io::Write;

use ultraspike::data::{load_dir, load_named_files, parse_cifar, parse_cifar_archive, DatasetKind, Normalization};
use ultraspike::util::rng::Rng;

fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

fn err_msg<T: std::fmt::Debug>(r: ultraspike::Result<T>) -> String {
    r.expect_err("expected an error").to_string()
}

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
    entries.push(("cifar-10-batches-bin/batches.meta.txt".into(), b'0', b"airplane\n"));
    for (i, b) in batches.iter().enumerate().rev() {
        entries.push((format!("cifar-10-batches-bin/data_batch_{}.bin", i + 1), b'0', &b.0));
    }
    entries.push(("cifar-10-batches-bin/test_batch.bin".into(), b'0', &test.0));
    let e: Vec<(&str, u8, &[u8])> = entries.iter().map(|(n, f, d)| (n.as_str(), *f, *d)).collect();
    let tgz = gzip(&tar(&e));
    let from_archive = parse_cifar_archive(DatasetKind::Cifar10, &tgz).unwrap();
    assert_eq!(from_archive, split);
    let inferred = load_named_files(None, &[("cifar-10-binary.tar.gz", &tgz)]).unwrap();
    assert_eq!(inferred, split);
    // wrong kind for this archive
    let m = err_msg(parse_cifar_archive(DatasetKind::Cifar100, &tgz));
    assert!(m.contains("train.bin and test.bin"), "{m}");
    // truncated archive and corrupted tar header
    assert!(err_msg(parse_cifar_archive(DatasetKind::Cifar10, &tgz[..tgz.len() - 100])).contains("gzip"));
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
        ("cifar-100-binary/coarse_label_names.txt", b'0', b"aquatic_mammals\n"),
    ];
    let split = parse_cifar_archive(DatasetKind::Cifar100, &gzip(&tar(&e))).unwrap();
    assert_eq!((split.train.n, split.test.n, split.train.classes), (6, 4, 100));
    assert_eq!((&split.train.labels, &split.train.images), (&train.1, &train.2));
    assert_eq!((&split.test.labels, &split.test.images), (&test.1, &test.2));
    assert_eq!(split.train.norm, Normalization::for_kind(DatasetKind::Cifar100));
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
