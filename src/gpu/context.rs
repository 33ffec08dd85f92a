//! Device context: adapter choice, the adapter's real limits, error capture
//! (uncaptured errors and device loss become `Error`s) and the pipeline cache.
//! The one async readback path is `Gpu`'s other half, in `gpu::readback`.

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use crate::gpu::kernels::Kernel;
pub use crate::gpu::readback::{plan_chunks, ReadRange};
use crate::gpu::tune::{AdapterKey, TuneTable};

/// How to pick the adapter.
#[derive(Clone, Debug, Default)]
pub struct GpuOptions {
    /// Force the fallback (software/CPU) adapter, e.g. Mesa lavapipe.
    pub force_fallback: bool,
    /// Restrict to one backend: "vulkan", "metal", "dx12", "gl" or "browser". None = all.
    pub backend: Option<String>,
    /// Prefer the low-power adapter (integrated GPU) instead of the high-performance one.
    pub low_power: bool,
}

impl GpuOptions {
    fn backends(&self) -> Result<wgpu::Backends> {
        Ok(match self.backend.as_deref() {
            None => default_backends(),
            Some("vulkan") => wgpu::Backends::VULKAN,
            Some("metal") => wgpu::Backends::METAL,
            Some("dx12") => wgpu::Backends::DX12,
            Some("gl") => wgpu::Backends::GL,
            Some("browser") => wgpu::Backends::BROWSER_WEBGPU,
            Some(other) => {
                return Err(Error::NoAdapter(format!(
                    "unknown backend `{other}` (use vulkan, metal, dx12, gl or browser)"
                )))
            }
        })
    }
}

#[cfg(target_arch = "wasm32")]
fn default_backends() -> wgpu::Backends {
    wgpu::Backends::BROWSER_WEBGPU
}

#[cfg(not(target_arch = "wasm32"))]
fn default_backends() -> wgpu::Backends {
    wgpu::Backends::PRIMARY
}

/// Errors reported by wgpu callbacks, checked after each submit/readback.
#[derive(Default)]
struct ErrorSink {
    lost: Option<String>,
    errors: Vec<String>,
}

/// A device and queue with the adapter's full limits and a pipeline cache.
pub struct Gpu {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: wgpu::AdapterInfo,
    pub limits: wgpu::Limits,
    pub features: wgpu::Features,
    sink: Arc<Mutex<ErrorSink>>,
    pipelines: Mutex<HashMap<Kernel, wgpu::ComputePipeline>>,
    /// Pooled staging buffers and the count of maps so far (`gpu::readback`).
    pub(super) staging: Mutex<Vec<super::live::Staging>>,
    /// Every live buffer the engine made (`Gpu::live_buffers`).
    pub(super) live: Arc<super::live::LiveTally>,
    pub(super) maps: AtomicU64,
    /// Queue submissions so far (`Gpu::submits`).
    pub(super) submits: AtomicU64,
    /// The last submission, which a `Fence` made now waits for (native polls for it).
    last_submission: Mutex<Option<wgpu::SubmissionIndex>>,
    /// The autotuner's choices for this adapter (`gpu::tune`) and the file they persist in.
    pub(super) tune: Mutex<TuneTable>,
    pub(super) tune_path: Mutex<Option<std::path::PathBuf>>,
}

/// A point in the queue: every submission made before `Gpu::fence`. Waiting for it is neither a
/// submission nor a readback.
pub struct Fence {
    done: futures_channel::oneshot::Receiver<()>,
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    index: Option<wgpu::SubmissionIndex>,
}

impl Gpu {
    /// Open the GPU described by `opts`, requesting the adapter's real limits
    /// (wgpu's defaults cap buffers at 256 MiB) and subgroups where offered.
    pub async fn new(opts: &GpuOptions) -> Result<Gpu> {
        let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
        desc.backends = opts.backends()?;
        let instance = wgpu::Instance::new(desc);
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: if opts.low_power {
                    wgpu::PowerPreference::LowPower
                } else {
                    wgpu::PowerPreference::HighPerformance
                },
                force_fallback_adapter: opts.force_fallback,
                ..Default::default()
            })
            .await
            .map_err(|e| Error::NoAdapter(no_adapter_hint(&e.to_string())))?;
        let info = adapter.get_info();
        let limits = adapter.limits();
        let features = adapter.features() & wgpu::Features::SUBGROUP;
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("ultraspike"),
                required_features: features,
                required_limits: limits.clone(),
                ..Default::default()
            })
            .await
            .map_err(|e| Error::RequestDevice(e.to_string()))?;
        let sink = Arc::new(Mutex::new(ErrorSink::default()));
        let lost_sink = sink.clone();
        device.set_device_lost_callback(move |reason, msg| {
            if let Ok(mut s) = lost_sink.lock() {
                s.lost = Some(format!("{reason:?}: {msg}"));
            }
        });
        let err_sink = sink.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            if let Ok(mut s) = err_sink.lock() {
                s.errors.push(e.to_string());
            }
        }));
        Ok(Gpu {
            device,
            queue,
            limits,
            features,
            sink,
            pipelines: Mutex::new(HashMap::new()),
            staging: Mutex::new(Vec::new()),
            live: Arc::default(),
            maps: AtomicU64::new(0),
            submits: AtomicU64::new(0),
            last_submission: Mutex::new(None),
            tune: Mutex::new(TuneTable::new(AdapterKey::of(&info))),
            tune_path: Mutex::new(None),
            info,
        })
    }

    /// Native convenience: the default adapter, or the CPU fallback when
    /// `ULTRASPIKE_FALLBACK=1` (CI uses lavapipe this way). The tuner's choices persist in the
    /// user's cache folder unless the environment says otherwise (`gpu::tune_cache`); an
    /// unusable cache file is ignored with a warning.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new_blocking(opts: &GpuOptions) -> Result<Gpu> {
        let gpu = pollster::block_on(Gpu::new(opts))?;
        gpu.with_tune(|t| t.enabled = !super::tune_cache::tuning_disabled());
        if let Some(path) = super::tune_cache::cache_path() {
            if let Some(warning) = gpu.use_tune_cache(path) {
                eprintln!("warning: {warning}");
            }
        }
        Ok(gpu)
    }

    pub fn has_subgroups(&self) -> bool {
        self.features.contains(wgpu::Features::SUBGROUP)
    }

    /// Turn any reported device loss or uncaptured error into an `Error`.
    pub fn check(&self) -> Result<()> {
        let mut s = self.sink.lock().map_err(|_| Error::Gpu("error sink poisoned".into()))?;
        if let Some(l) = &s.lost {
            return Err(Error::DeviceLost(l.clone()));
        }
        if !s.errors.is_empty() {
            let all = std::mem::take(&mut s.errors).join("; ");
            return Err(Error::Gpu(all));
        }
        Ok(())
    }

    /// Reject a buffer the device cannot hold or bind, before anything is allocated.
    pub fn check_buffer_size(&self, what: &str, bytes: u64) -> Result<()> {
        let binding = self.limits.max_storage_buffer_binding_size;
        if bytes > binding {
            return Err(Error::TooLarge {
                what: what.into(),
                size: bytes,
                limit: binding,
                limit_name: "max_storage_buffer_binding_size",
            });
        }
        if bytes > self.limits.max_buffer_size {
            return Err(Error::TooLarge {
                what: what.into(),
                size: bytes,
                limit: self.limits.max_buffer_size,
                limit_name: "max_buffer_size",
            });
        }
        Ok(())
    }

    /// The compiled pipeline of `kernel`, built once and cached.
    pub fn pipeline(&self, kernel: Kernel) -> Result<wgpu::ComputePipeline> {
        let mut cache = self
            .pipelines
            .lock()
            .map_err(|_| Error::Gpu("pipeline cache poisoned".into()))?;
        if let Some(p) = cache.get(&kernel) {
            return Ok(p.clone());
        }
        if kernel.needs_subgroups() && !self.has_subgroups() {
            return Err(Error::Gpu(format!(
                "kernel `{}` needs subgroups, which this adapter does not offer",
                kernel.name()
            )));
        }
        let module = self.device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(kernel.name()),
            source: wgpu::ShaderSource::Wgsl(kernel.device_source()),
        });
        let pipeline = self.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(kernel.name()),
            layout: None,
            module: &module,
            entry_point: Some("main"),
            compilation_options: Default::default(),
            cache: None,
        });
        self.check().map_err(|e| {
            e.unless_lost(|e| Error::Shader {
                name: kernel.name().into(),
                msg: e.to_string(),
            })
        })?;
        cache.insert(kernel, pipeline.clone());
        Ok(pipeline)
    }

    /// Submit command buffers, counted (`submits`): every submission of the engine goes here.
    pub(crate) fn submit(&self, cmds: impl IntoIterator<Item = wgpu::CommandBuffer>) {
        self.submits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let index = self.queue.submit(cmds);
        if let Ok(mut last) = self.last_submission.lock() {
            *last = Some(index);
        }
    }

    /// A fence after everything submitted so far.
    pub fn fence(&self) -> Fence {
        let (tx, rx) = futures_channel::oneshot::channel();
        self.queue.on_submitted_work_done(move || {
            let _ = tx.send(());
        });
        Fence {
            done: rx,
            index: self.last_submission.lock().ok().and_then(|l| l.clone()),
        }
    }

    /// Wait until the work before `fence` is done, not for what was submitted after it (so a
    /// trainer can keep the next step queued). Natively a poll for that submission; in the
    /// browser the work-done callback, the event loop running meanwhile.
    pub async fn wait_fence(&self, fence: Fence) -> Result<()> {
        #[cfg(not(target_arch = "wasm32"))]
        self.device
            .poll(wgpu::PollType::Wait {
                submission_index: fence.index,
                timeout: None,
            })
            .map_err(|e| Error::Gpu(format!("poll: {e}")))?;
        fence
            .done
            .await
            .map_err(|_| Error::Gpu("work-done callback dropped".into()))?;
        self.check()
    }

    /// Queue submissions so far; with `maps` (readbacks) it lets tests hold a training step to
    /// one submission and no readback.
    pub fn submits(&self) -> u64 {
        self.submits.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Block until submitted work is done (native); a no-op in the browser.
    pub fn wait(&self) -> Result<()> {
        #[cfg(not(target_arch = "wasm32"))]
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Gpu(format!("poll: {e}")))?;
        self.check()
    }

    /// Wait for all submitted work; on the web this resolves through a tiny readback.
    pub async fn finish(&self) -> Result<()> {
        self.queue.submit([]);
        let (tx, rx) = futures_channel::oneshot::channel();
        self.queue.on_submitted_work_done(move || {
            let _ = tx.send(());
        });
        self.wait()?;
        rx.await.map_err(|_| Error::Gpu("work-done callback dropped".into()))?;
        self.check()
    }

    /// One line per fact that matters for sizing work on this adapter.
    pub fn describe(&self) -> Vec<(String, String)> {
        let l = &self.limits;
        vec![
            ("adapter".into(), self.info.name.clone()),
            ("backend".into(), format!("{:?}", self.info.backend)),
            ("device type".into(), format!("{:?}", self.info.device_type)),
            (
                "driver".into(),
                format!("{} {}", self.info.driver, self.info.driver_info),
            ),
            (
                "max_storage_buffer_binding_size".into(),
                mib(l.max_storage_buffer_binding_size),
            ),
            ("max_buffer_size".into(), mib(l.max_buffer_size)),
            (
                "max_compute_workgroup_storage_size".into(),
                format!("{} bytes", l.max_compute_workgroup_storage_size),
            ),
            (
                "max_compute_invocations_per_workgroup".into(),
                l.max_compute_invocations_per_workgroup.to_string(),
            ),
            (
                "max_compute_workgroups_per_dimension".into(),
                l.max_compute_workgroups_per_dimension.to_string(),
            ),
            (
                "max_storage_buffers_per_shader_stage".into(),
                l.max_storage_buffers_per_shader_stage.to_string(),
            ),
            ("subgroups".into(), self.has_subgroups().to_string()),
        ]
    }
}

fn mib(bytes: u64) -> String {
    format!("{bytes} bytes ({:.0} MiB)", bytes as f64 / (1024.0 * 1024.0))
}

fn no_adapter_hint(e: &str) -> String {
    if cfg!(target_arch = "wasm32") {
        format!("{e}. This browser exposes no WebGPU: use a recent Chrome/Edge (113+), Safari 26+, or Firefox 141+ on Windows; on Linux start Chrome with --enable-unsafe-webgpu")
    } else {
        format!("{e}. Install a Vulkan/Metal/DX12 driver; on Linux without a GPU `apt-get install mesa-vulkan-drivers` gives the lavapipe CPU adapter")
    }
}
