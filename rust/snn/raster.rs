//! Full spike rasters and state traces of one frame, for plots and tests.

use super::conv_layer::ConvLayer;
use super::network::Recorder;
use super::pool::PoolLayer;

/// Everything that happened in one frame, step-major:
/// `input[t][y][x]`, `conv[t][a][p][q]`, `pool[t][a][P][Q]`, and the conv potentials
/// and pool charges (in units of the pool threshold) at the end of each step.
pub struct Raster {
    pub steps: usize,
    pub n_pixels: usize,
    pub n_conv: usize,
    pub n_pool: usize,
    conv_p: usize,
    conv_q: usize,
    pub input: Vec<bool>,
    pub conv: Vec<bool>,
    pub pool: Vec<bool>,
    pub potential: Vec<f32>,
    pub charge: Vec<f64>,
}

impl Raster {
    pub fn new(steps: usize, n_pixels: usize, conv: &ConvLayer, pool: &PoolLayer) -> Self {
        let n_conv = conv.n_kernels * conv.p_len * conv.q_len;
        Self {
            steps,
            n_pixels,
            n_conv,
            n_pool: pool.len(),
            conv_p: conv.p_len,
            conv_q: conv.q_len,
            input: vec![false; steps * n_pixels],
            conv: vec![false; steps * n_conv],
            pool: vec![false; steps * pool.len()],
            potential: vec![0.0; steps * n_conv],
            charge: vec![0.0; steps * pool.len()],
        }
    }

    fn conv_index(&self, a: usize, p: usize, q: usize) -> usize {
        (a * self.conv_p + p) * self.conv_q + q
    }
}

impl Recorder for Raster {
    fn input(&mut self, t: usize, pixel: usize) {
        self.input[t * self.n_pixels + pixel] = true;
    }
    fn conv(&mut self, t: usize, a: usize, pos: usize) {
        let i = a * self.conv_p * self.conv_q + pos;
        self.conv[t * self.n_conv + i] = true;
    }
    fn pool(&mut self, t: usize, idx: usize) {
        self.pool[t * self.n_pool + idx] = true;
    }
    fn end_step(&mut self, t: usize, conv: &ConvLayer, u: &[f32], v: &[u64]) {
        for a in 0..conv.n_kernels {
            for p in 0..conv.p_len {
                for q in 0..conv.q_len {
                    let i = self.conv_index(a, p, q);
                    self.potential[t * self.n_conv + i] = conv.potential(u, a, p, q);
                }
            }
        }
        for (dst, &c) in self.charge[t * self.n_pool..][..self.n_pool]
            .iter_mut()
            .zip(v)
        {
            *dst = PoolLayer::charge(c);
        }
    }
}
