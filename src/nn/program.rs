//! A recorded sequence of GPU work built once per network: dispatches of
//! owned ops, dropout ops (whose seed changes per step), buffer copies and
//! clears. Recording a program allocates nothing.

use crate::gpu::{Encoder, Op, Tensor};
use crate::nn::dropout::Dropout;

#[derive(Clone, Debug)]
pub enum Step {
    /// Index into `Arena::ops`.
    Op(usize),
    /// Index into `Arena::dropouts`.
    Dropout(usize),
    /// Copy a whole tensor: indices into `Arena::tensors` (src, dst).
    Copy(usize, usize),
    /// Zero a tensor (index into `Arena::tensors`).
    Clear(usize),
}

/// Owns every op, dropout and scratch tensor of a network.
#[derive(Default)]
pub struct Arena {
    pub ops: Vec<Op>,
    pub dropouts: Vec<Dropout>,
    pub tensors: Vec<Tensor>,
}

impl Arena {
    pub fn op(&mut self, op: Op) -> Step {
        self.ops.push(op);
        Step::Op(self.ops.len() - 1)
    }

    pub fn ops(&mut self, ops: Vec<Op>) -> Vec<Step> {
        ops.into_iter().map(|o| self.op(o)).collect()
    }

    pub fn dropout(&mut self, d: Dropout) -> Step {
        self.dropouts.push(d);
        Step::Dropout(self.dropouts.len() - 1)
    }

    /// Keep a tensor alive for the arena's lifetime; returns its index.
    pub fn tensor(&mut self, t: Tensor) -> usize {
        self.tensors.push(t);
        self.tensors.len() - 1
    }

    pub fn record<'a>(&'a self, steps: &[Step], enc: &mut Encoder<'a>) {
        for s in steps {
            match *s {
                Step::Op(i) => enc.dispatch(&self.ops[i]),
                Step::Dropout(i) => enc.dispatch(&self.dropouts[i].op),
                Step::Copy(a, b) => {
                    let (src, dst) = (&self.tensors[a], &self.tensors[b]);
                    enc.copy(src.bind(), dst.bind(), src.bytes().min(dst.bytes()));
                }
                Step::Clear(i) => enc.clear(self.tensors[i].bind()),
            }
        }
    }
}
