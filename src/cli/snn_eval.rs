//! How `ultraspike eval` prints an SNN's evaluation: accuracy, spikes per
//! layer, synaptic operations and energy (or `--json`).

use ultraspike::pipeline::SnnReport;

use super::common::to_json;

pub fn print(r: &SnnReport, json: bool) {
    let ev = &r.evaluation;
    if json {
        println!(
            "{}",
            to_json(&serde_json::json!({ "kind": "snn", "model": r.model, "method": r.method, "evaluation": ev }))
        );
        return;
    }
    println!(
        "{} SNN ({}), T={}: test accuracy {:.2}% on {} images",
        r.model,
        r.method,
        r.t,
        ev.accuracy * 100.0,
        ev.images
    );
    println!(
        "{:<24} {:>9} {:>14} {:>9}",
        "layer", "neurons", "spikes/image", "activity"
    );
    for l in &ev.layers {
        println!(
            "{:<24} {:>9} {:>14.1} {:>9.4}",
            l.name, l.neurons, l.spikes_per_image, l.activity
        );
    }
    if let Some(e) = &ev.energy {
        println!(
            "{:<24} {:>14} {:>14} {:>12} {:>12}",
            "synaptic layer", "DNN MACs", "SNN ops", "DNN pJ", "SNN pJ"
        );
        for l in &e.layers {
            println!(
                "{:<24} {:>14.0} {:>14.0} {:>12.0} {:>12.0}{}",
                l.name,
                l.dnn_macs,
                l.snn_ops,
                l.dnn_pj,
                l.snn_pj,
                if l.analog { "  (MACs x T)" } else { "" }
            );
        }
        println!(
            "total: DNN {:.1} nJ, SNN {:.1} nJ per image: {:.1}x less ({:.1}x with the first layer once); E_MAC {} pJ, E_AC {} pJ; TrueNorth {:.3e}, SpiNNaker {:.3e} (normalized)",
            e.dnn_pj / 1e3, e.snn_pj / 1e3, e.ratio, e.ratio_first_once, e.e_mac_pj, e.e_ac_pj, e.truenorth, e.spinnaker
        );
    }
}
