// Getting dataset files into a Session: the bundled sets (served beside the
// page), a URL, or uploaded files. Each function stages the files and returns
// the source's description (what persist.js keeps to load it again); the
// caller parses them with `session.load_staged`. (`session` is the worker's: every call is awaited.)

const BUNDLED_FILES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"];

async function fetchBytes(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`dataset: ${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

/** data/<name>/ (raw IDX files, or their .gz). */
export async function stageBundled(session, name, progress) {
  for (const [i, n] of BUNDLED_FILES.entries()) {
    progress(i / 4, `fetching data/${name}/${n}`);
    try {
      await session.stage_file(n, await fetchBytes(`data/${name}/${n}`));
    } catch {
      await session.stage_file(n + ".gz", await fetchBytes(`data/${name}/${n}.gz`));
    }
  }
  return { kind: "bundled", name };
}

/** One file by URL (a CIFAR .tar.gz, or an IDX file). */
export async function stageUrl(session, url, progress) {
  if (!url) throw new Error("dataset: enter a URL first");
  progress(0, "fetching " + url);
  const name = new URL(url, location.href).pathname.split("/").pop() || "download";
  await session.stage_file(name, await fetchBytes(url));
  return { kind: "url", url };
}

/** Files from a file picker (File objects) or kept ones ({ name, bytes }). */
export async function stageFiles(session, files) {
  const read = [];
  // (File has a bytes() method in recent browsers: tell the two kinds apart by type, not by field.)
  for (const f of files) read.push({ name: f.name, bytes: f instanceof Blob ? new Uint8Array(await f.arrayBuffer()) : f.bytes });
  for (const f of read) await session.stage_file(f.name, f.bytes);
  return { kind: "files", files: read };
}

/** A kept source again (after a reload, or into a new device's session). */
export async function stageSource(session, src, progress) {
  if (src.kind === "bundled") return stageBundled(session, src.name, progress);
  if (src.kind === "url") return stageUrl(session, src.url, progress);
  if (src.kind === "files") return stageFiles(session, src.files);
  throw new Error(`dataset: the uploaded files (${(src.names ?? []).join(", ")}) were too large to keep: upload them again`);
}
