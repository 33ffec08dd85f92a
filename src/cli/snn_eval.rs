//! `ultraspike eval` on an SNN checkpoint: accuracy, spikes per layer and energy.

use ultraspike::checkpoint::Checkpoint;
use ultraspike::gpu::Gpu;
use ultraspike::snn::ckpt::{snn_from_checkpoint, SnnMeta};
use ultraspike::snn::energy::CMOS_45NM;
use ultraspike::snn::eval::{evaluate_snn, shrink_until_fits};
use ultraspike::snn::SnnOptions;
use ultraspike::models::check_dataset;
use ultraspike::Result;

use super::common::to_json;
use super::eval::EvalArgs;

pub fn run(a: &EvalArgs, ck: &Checkpoint) -> Result<()> {
    let meta = SnnMeta::from_checkpoint(ck)?;
    let gpu = Gpu::new_blocking(&a.gpu.options())?;
    let split = a.data.load()?;
    check_dataset(&meta.model, &split.test)?;
    let t = a.timesteps.unwrap_or(meta.timesteps);
    // --batch (at most the test set), halved until the device takes it.
    let (net, _) = shrink_until_fits(a.batch, split.test.n, |b| snn_from_checkpoint(&gpu, ck, SnnOptions::inference(b, t)))?;
    let ev = pollster::block_on(evaluate_snn(&gpu, &net, &split.test, Some(CMOS_45NM)))?;
    if a.json {
        println!("{}", to_json(&serde_json::json!({ "kind": "snn", "model": meta.model.name, "method": meta.method, "evaluation": ev })));
        return Ok(());
    }
    println!("{} SNN ({}), T={t}: test accuracy {:.2}% on {} images", meta.model.name, meta.method, ev.accuracy * 100.0, ev.images);
    println!("{:<24} {:>9} {:>14} {:>9}", "layer", "neurons", "spikes/image", "activity");
    for l in &ev.layers {
        println!("{:<24} {:>9} {:>14.1} {:>9.4}", l.name, l.neurons, l.spikes_per_image, l.activity);
    }
    if let Some(e) = &ev.energy {
        println!("{:<24} {:>14} {:>14} {:>12} {:>12}", "synaptic layer", "DNN MACs", "SNN ops", "DNN pJ", "SNN pJ");
        for l in &e.layers {
            println!("{:<24} {:>14.0} {:>14.0} {:>12.0} {:>12.0}{}", l.name, l.dnn_macs, l.snn_ops, l.dnn_pj, l.snn_pj, if l.analog { "  (MACs x T)" } else { "" });
        }
        println!(
            "total: DNN {:.1} nJ, SNN {:.1} nJ per image: {:.1}x less ({:.1}x with the first layer once); E_MAC {} pJ, E_AC {} pJ; TrueNorth {:.3e}, SpiNNaker {:.3e} (normalized)",
            e.dnn_pj / 1e3, e.snn_pj / 1e3, e.ratio, e.ratio_first_once, e.e_mac_pj, e.e_ac_pj, e.truenorth, e.spinnaker
        );
    }
    Ok(())
}
