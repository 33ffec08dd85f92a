//! Operation counts and energy (paper.md section 6): DNN layers cost MACs;
//! SNN layers fed by spikes cost ACs = incoming spikes x fan-out (counted
//! exactly per input position), the analog first layer MACs at every step.

use serde::{Deserialize, Serialize};

use super::net::Synapse;

/// Energy per operation in pJ (45 nm CMOS, 0.9 V, 32-bit int: 3.2 / 0.1).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnergyModel {
    pub name: &'static str,
    pub e_mac_pj: f64,
    pub e_ac_pj: f64,
}

pub const CMOS_45NM: EnergyModel = EnergyModel {
    name: "45nm CMOS (Horowitz)",
    e_mac_pj: 3.2,
    e_ac_pj: 0.1,
};

/// Neuromorphic normalized costs: total = FLOPs * compute + T * static.
pub const TRUENORTH: (f64, f64) = (0.4, 0.6);
pub const SPINNAKER: (f64, f64) = (0.64, 0.36);

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LayerOps {
    pub name: String,
    pub dnn_macs: f64,
    /// SNN operations per image: MACs for the analog layer, ACs otherwise.
    pub snn_ops: f64,
    pub analog: bool,
    pub dnn_pj: f64,
    pub snn_pj: f64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EnergyReport {
    pub t: usize,
    pub e_mac_pj: f64,
    pub e_ac_pj: f64,
    pub layers: Vec<LayerOps>,
    pub dnn_pj: f64,
    pub snn_pj: f64,
    /// DNN energy / SNN energy.
    pub ratio: f64,
    /// The same when the analog first layer is computed once, not T times
    /// (valid because no spiking layer lies upstream of it).
    pub snn_pj_first_once: f64,
    pub ratio_first_once: f64,
    /// Normalized neuromorphic totals of the SNN (FLOPs * compute + T * static).
    pub truenorth: f64,
    pub spinnaker: f64,
}

/// How many outputs along one axis a window position `i` feeds:
/// #{o in 0..out : o*stride - pad <= i <= o*stride - pad + k - 1}.
fn cover(i: usize, k: usize, stride: usize, pad: usize, out: usize) -> u64 {
    (0..out)
        .filter(|&o| {
            let start = (o * stride) as isize - pad as isize;
            let i = i as isize;
            i >= start && i < start + k as isize
        })
        .count() as u64
}

/// Synaptic operations of one layer from its spike map (non-zero inputs per
/// position, summed over time, batch and channels).
pub fn synaptic_ops(s: &Synapse, map: &[u32]) -> u64 {
    match s.conv {
        Some(c) => {
            let (oh, ow) = (c.out_h(), c.out_w());
            let rows: Vec<u64> = (0..c.h).map(|h| cover(h, c.k, c.stride, c.pad, oh)).collect();
            let cols: Vec<u64> = (0..c.w).map(|w| cover(w, c.k, c.stride, c.pad, ow)).collect();
            map.iter()
                .enumerate()
                .map(|(i, &n)| n as u64 * rows[i / c.w] * cols[i % c.w] * c.c_out as u64)
                .sum()
        }
        None => map.iter().map(|&n| n as u64).sum::<u64>() * s.fan_out_linear as u64,
    }
}

/// The report for `images` images at `t` steps, from the spike maps.
pub fn energy_report(synapses: &[Synapse], maps: &[Vec<u32>], images: u64, t: usize, m: EnergyModel) -> EnergyReport {
    let imgs = images.max(1) as f64;
    let mut r = EnergyReport {
        t,
        e_mac_pj: m.e_mac_pj,
        e_ac_pj: m.e_ac_pj,
        ..Default::default()
    };
    let mut analog_once = 0.0;
    for (s, map) in synapses.iter().zip(maps) {
        let dnn_macs = s.dnn_macs as f64;
        let (snn_ops, snn_pj) = if s.analog {
            analog_once += dnn_macs * m.e_mac_pj;
            (dnn_macs * t as f64, dnn_macs * t as f64 * m.e_mac_pj)
        } else {
            let acs = synaptic_ops(s, map) as f64 / imgs;
            (acs, acs * m.e_ac_pj)
        };
        let l = LayerOps {
            name: s.name.clone(),
            dnn_macs,
            snn_ops,
            analog: s.analog,
            dnn_pj: dnn_macs * m.e_mac_pj,
            snn_pj,
        };
        r.dnn_pj += l.dnn_pj;
        r.snn_pj += l.snn_pj;
        r.layers.push(l);
    }
    let analog_t: f64 = r.layers.iter().filter(|l| l.analog).map(|l| l.snn_pj).sum();
    r.snn_pj_first_once = r.snn_pj - analog_t + analog_once;
    r.ratio = r.dnn_pj / r.snn_pj.max(1e-30);
    r.ratio_first_once = r.dnn_pj / r.snn_pj_first_once.max(1e-30);
    let flops: f64 = r.layers.iter().map(|l| l.snn_ops).sum();
    r.truenorth = flops * TRUENORTH.0 + t as f64 * TRUENORTH.1;
    r.spinnaker = flops * SPINNAKER.0 + t as f64 * SPINNAKER.1;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cover_counts_windows_with_padding() {
        // 3x3, stride 1, pad 1 over 4 positions: the edges feed 2 outputs, the middle 3.
        let c: Vec<u64> = (0..4).map(|i| cover(i, 3, 1, 1, 4)).collect();
        assert_eq!(c, vec![2, 3, 3, 2]);
        // 2x2 stride 2 (no overlap): every input feeds exactly one output.
        assert!((0..6).all(|i| cover(i, 2, 2, 0, 3) == 1));
    }
}
