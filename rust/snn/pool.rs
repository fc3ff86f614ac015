//! Sum pooling of docs/algorithms.md §2: one neuron per (kernel a, block P, Q) over a pool×pool
//! block of conv neurons of kernel a; synaptic weight (1 + ε)·u_THR, no leak,
//! subtractive reset, at most one spike per step.
//!
//! The charge is an integer in units of u_THR / [`UNITS`], so the weight is exactly
//! `UNITS + 1` units (ε = 2⁻²⁰) and no round-off can ever make a pooling neuron skip
//! or add a spike. With n inputs and m outputs the charge is (n − m)·UNITS + n, so
//! as long as n < UNITS (guaranteed by [`max_inputs`]) the neuron fires once per
//! input and the backlog ⌊v / u_THR⌋ = n − m: pooled count + backlog = block sum.
//!
//! Conv rows/columns beyond the last full block (when the map size is not a
//! multiple of `pool`) are not pooled, as in `snnconv.probe.sum_pool`.

use crate::error::{Error, Result};
use crate::limits;

/// Charge units per threshold; one input adds `UNITS + 1`.
pub const UNITS: u64 = 1 << 20;

/// Upper bound of inputs one pooling neuron can receive in a frame, which must
/// stay below [`UNITS`] for the identity, and whose counts must fit u16.
pub fn max_inputs(pool: usize, frame_steps: usize) -> usize {
    pool.saturating_mul(pool).saturating_mul(frame_steps)
}

/// Geometry of a pooling layer on top of a (n_kernels, conv_p, conv_q) map.
#[derive(Clone, Debug)]
pub struct PoolLayer {
    pub pool: usize,
    pub n_kernels: usize,
    pub p_len: usize,
    pub q_len: usize,
    /// Per conv position p·Q_c + q: its block P·Q' + Q, or `NOT_POOLED`.
    block_of: Vec<u32>,
}

const NOT_POOLED: u32 = u32::MAX;

impl PoolLayer {
    pub fn new(
        pool: usize,
        n_kernels: usize,
        (conv_p, conv_q): (usize, usize),
        frame_steps: usize,
    ) -> Result<Self> {
        if pool == 0 {
            return Err(Error::param("pool", "must be >= 1, got 0"));
        }
        if pool > conv_p || pool > conv_q {
            return Err(Error::param(
                "pool",
                format!("{pool} is larger than the {conv_p}x{conv_q} convolution map"),
            ));
        }
        if max_inputs(pool, frame_steps) > u16::MAX as usize {
            return Err(Error::param(
                "pool",
                format!(
                    "pool² · frame_steps must be <= 65535 so counts fit uint16 and pooling \
                     stays exact, got {pool}² · {frame_steps}"
                ),
            ));
        }
        let (p_len, q_len) = (conv_p / pool, conv_q / pool);
        let block_of = (0..conv_p * conv_q)
            .map(|pos| {
                let (bp, bq) = (pos / conv_q / pool, pos % conv_q / pool);
                if bp < p_len && bq < q_len {
                    (bp * q_len + bq) as u32
                } else {
                    NOT_POOLED
                }
            })
            .collect();
        Ok(Self {
            pool,
            n_kernels,
            p_len,
            q_len,
            block_of,
        })
    }

    /// Number of pooling neurons, laid out (a, P, Q).
    pub fn len(&self) -> usize {
        self.n_kernels * self.p_len * self.q_len
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Index of the pooling neuron fed by the conv neuron of kernel `a` at conv
    /// position `pos` = p·Q_c + q, if any (a table lookup, no division).
    #[inline(always)]
    pub fn target(&self, a: usize, pos: usize) -> Option<usize> {
        let b = self.block_of[pos];
        (b != NOT_POOLED).then(|| a * self.p_len * self.q_len + b as usize)
    }

    /// One conv spike arrives at pooling neuron `idx`.
    #[inline(always)]
    pub fn receive(v: &mut [u64], idx: usize) {
        v[idx] += UNITS + 1;
    }

    /// Threshold test and subtractive reset of one pooling neuron; true on a spike.
    #[inline(always)]
    pub fn fire_one(charge: &mut u64) -> bool {
        let spike = *charge >= UNITS;
        if spike {
            *charge -= UNITS;
        }
        spike
    }

    /// Spikes still owed: ⌊v / u_THR⌋.
    #[inline]
    pub fn backlog(charge: u64) -> u64 {
        charge / UNITS
    }

    /// Residual charge in units of the threshold.
    #[inline]
    pub fn charge(charge: u64) -> f64 {
        charge as f64 / UNITS as f64
    }
}

/// Runs a pooling layer alone on a conv raster `spikes` (steps, n_kernels, P, Q)
/// (one bool per neuron and step); fills pooled `counts` and end-of-run `backlog`.
pub fn pool_raster(
    spikes: &[bool],
    (steps, n_kernels, conv_p, conv_q): (usize, usize, usize, usize),
    pool: usize,
    counts: &mut Vec<u16>,
    backlog: &mut Vec<u16>,
) -> Result<PoolLayer> {
    limits::elements_of::<u64>("spikes", &[n_kernels, conv_p, conv_q])?;
    let want = [steps, n_kernels, conv_p, conv_q]
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d));
    if want != Some(spikes.len()) {
        return Err(Error::input("spikes", "length does not match the shape"));
    }
    let layer = PoolLayer::new(pool, n_kernels, (conv_p, conv_q), steps.max(1))?;
    let mut v = vec![0u64; layer.len()];
    counts.clear();
    counts.resize(layer.len(), 0);
    let per_step = n_kernels * conv_p * conv_q;
    for t in 0..steps {
        let frame = &spikes[t * per_step..(t + 1) * per_step];
        for (i, _) in frame.iter().enumerate().filter(|(_, &s)| s) {
            let (a, pos) = (i / (conv_p * conv_q), i % (conv_p * conv_q));
            if let Some(idx) = layer.target(a, pos) {
                PoolLayer::receive(&mut v, idx);
            }
        }
        for (c, n) in v.iter_mut().zip(counts.iter_mut()) {
            *n += u16::from(PoolLayer::fire_one(c));
        }
    }
    backlog.clear();
    backlog.extend(v.iter().map(|&c| PoolLayer::backlog(c) as u16));
    Ok(layer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simultaneous_inputs_drain_one_per_step() {
        // Four conv neurons of one block spike together at step 0 of 3 steps: the
        // pooling neuron fires at steps 0, 1, 2 and still owes one spike.
        let mut spikes = vec![false; 3 * 4];
        spikes[..4].fill(true);
        let (mut c, mut b) = (Vec::new(), Vec::new());
        pool_raster(&spikes, (3, 1, 2, 2), 2, &mut c, &mut b).unwrap();
        assert_eq!((c[0], b[0]), (3, 1));
        // With 5 steps it all drains.
        let mut spikes = vec![false; 5 * 4];
        spikes[..4].fill(true);
        pool_raster(&spikes, (5, 1, 2, 2), 2, &mut c, &mut b).unwrap();
        assert_eq!((c[0], b[0]), (4, 0));
    }

    #[test]
    fn counts_plus_backlog_equal_block_sums() {
        let mut state = 12345u64;
        let (steps, nk, cp, cq, pool) = (15, 3, 7, 6, 2);
        let spikes: Vec<bool> = (0..steps * nk * cp * cq)
            .map(|_| {
                state = crate::rng::mix64(state);
                state % 3 == 0
            })
            .collect();
        let (mut c, mut b) = (Vec::new(), Vec::new());
        let layer = pool_raster(&spikes, (steps, nk, cp, cq), pool, &mut c, &mut b).unwrap();
        assert_eq!((layer.p_len, layer.q_len), (3, 3));
        for a in 0..nk {
            for bp in 0..3 {
                for bq in 0..3 {
                    let mut total = 0;
                    for t in 0..steps {
                        for p in bp * 2..bp * 2 + 2 {
                            for q in bq * 2..bq * 2 + 2 {
                                total += spikes[((t * nk + a) * cp + p) * cq + q] as u16;
                            }
                        }
                    }
                    let i = (a * 3 + bp) * 3 + bq;
                    assert_eq!(c[i] + b[i], total);
                }
            }
        }
    }

    #[test]
    fn rejects_pool_larger_than_map() {
        let e = PoolLayer::new(4, 1, (3, 5), 15);
        assert!(matches!(
            e,
            Err(Error::InvalidParameter { name: "pool", .. })
        ));
    }
}
