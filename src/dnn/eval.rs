//! Evaluating the DNN over a dataset: mean loss and accuracy, batch by batch, the batches'
//! statistics read from the step log every `LOG_SLOTS` batches (not after each).

use super::net::DnnNet;
use crate::data::Dataset;
use crate::error::Result;
use crate::gpu::Gpu;
use crate::spec::Evaluation;

/// Loss and accuracy of `net` over all of `ds`, in order, batch by batch.
pub async fn evaluate(gpu: &Gpu, net: &mut DnnNet, ds: &Dataset, x: &mut [f32], y: &mut [u32]) -> Result<Evaluation> {
    let img = net.image_len();
    let (mut loss, mut correct) = (0f64, 0f64);
    // Sums in batch order, as when each batch was read on its own.
    let mut add = |steps: Vec<crate::spec::StepStats>| {
        for s in steps {
            loss += s.loss_sum as f64;
            correct += s.correct as f64;
        }
    };
    add(net.drain_steps(gpu).await?);
    let mut start = 0;
    while start < ds.n {
        let valid = net.batch.min(ds.n - start);
        for i in 0..valid {
            ds.normalized_into(start + i, &mut x[i * img..(i + 1) * img]);
            y[i] = ds.labels[start + i] as u32;
        }
        if net.log_full() {
            add(net.drain_steps(gpu).await?);
        }
        net.queue_eval_step(gpu, x, y, valid)?;
        start += valid;
    }
    add(net.drain_steps(gpu).await?);
    let n = ds.n.max(1) as f64;
    Ok(Evaluation {
        loss: (loss / n) as f32,
        accuracy: (correct / n) as f32,
        images: ds.n,
    })
}
