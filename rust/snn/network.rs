//! The whole front-end of docs/algorithms.md §2 for one frame, and batches of frames in parallel.
//!
//! Order of events within step t (a choice; docs/algorithms.md §2 does not fix it):
//! 1. leak: u ← u·(1 − 1/τ) for every conv neuron;
//! 2. if t < T_p, the encoder emits input spikes in raster order, and each one adds
//!    its weights to the conv neurons that see it, immediately (so a neuron's input
//!    is summed in raster order of the pixels — the numpy reference does the same);
//! 3. every conv neuron with u ≥ u_THR spikes once and is reset (only positions
//!    that got input in this step, or kept u ≥ u_THR after a reset, are tested: no
//!    other neuron can be at threshold);
//! 4. those spikes reach the pooling neurons in the same step (no synaptic delay),
//!    which then fire and reset.
//!
//! The input spikes come from an [`InputSpikes`] source: the encoder of an image (the
//! usual case), or a given raster of spike counts per step and input node (for
//! input that already is spikes, such as the events of an event camera).
//!
//! The network state (conv potentials, pool charges) starts at zero in every frame —
//! only the encoder carry runs from frame to frame, as docs/algorithms.md §2 says — so frames can be
//! simulated on any thread once each frame's starting carry is known (it is, in
//! closed form: `encoder::advance_carry`).

use rayon::prelude::*;

use super::conv_layer::{ConvLayer, Reset};
use super::encoder::{advance_carry, Encoding, InputEncoder};
use super::pool::{PoolLayer, UNITS};
use crate::error::{Error, Result};

/// Everything about the front-end except the kernels and the image size.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ConvSnnParams {
    pub stride: usize,
    pub pool: usize,
    /// Leak time constant in steps; None (or ∞) = no leak.
    pub tau: Option<f64>,
    pub threshold: f64,
    pub frame_steps: usize,
    pub active_steps: usize,
    pub encoding: Encoding,
    /// f_max: spikes per step at brightness 1 (≤ 1).
    pub max_rate: f64,
    pub reset: Reset,
}

impl ConvSnnParams {
    pub fn validate(&self) -> Result<()> {
        if self.frame_steps == 0 {
            return Err(Error::param("frame_steps", "must be >= 1, got 0"));
        }
        if self.active_steps == 0 || self.active_steps > self.frame_steps {
            return Err(Error::param(
                "active_steps",
                format!(
                    "must be in [1, frame_steps={}], got {}",
                    self.frame_steps, self.active_steps
                ),
            ));
        }
        if !(self.max_rate > 0.0 && self.max_rate <= 1.0) {
            return Err(Error::param(
                "max_rate",
                format!("must be in (0, 1] spikes per step, got {}", self.max_rate),
            ));
        }
        Ok(())
    }
}

/// Spike and event totals of one frame (or summed over a batch).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FrameStats {
    pub input_spikes: u64,
    pub conv_spikes: u64,
    pub pool_spikes: u64,
    /// Synapse activations: input→conv deliveries plus conv→pool deliveries.
    pub synaptic_events: u64,
}

impl std::ops::Add for FrameStats {
    type Output = Self;
    fn add(self, o: Self) -> Self {
        Self {
            input_spikes: self.input_spikes + o.input_spikes,
            conv_spikes: self.conv_spikes + o.conv_spikes,
            pool_spikes: self.pool_spikes + o.pool_spikes,
            synaptic_events: self.synaptic_events + o.synaptic_events,
        }
    }
}

/// Observer of a frame, for rasters and plots. The default methods do nothing and
/// inline away, so the batch path pays nothing for the hook.
pub trait Recorder {
    #[inline(always)]
    fn input(&mut self, _t: usize, _pixel: usize) {}
    /// A conv spike of kernel `a` at conv position `pos` = p·Q + q.
    #[inline(always)]
    fn conv(&mut self, _t: usize, _a: usize, _pos: usize) {}
    #[inline(always)]
    fn pool(&mut self, _t: usize, _idx: usize) {}
    /// End of step t, with the conv potentials and pool charges after the resets.
    #[inline(always)]
    fn end_step(&mut self, _t: usize, _conv: &ConvLayer, _u: &[f32], _v: &[u64]) {}
}

/// The recorder that records nothing.
pub struct NoRecord;
impl Recorder for NoRecord {}

/// Where the input spikes of a frame come from.
pub trait InputSpikes {
    /// Whether a node can spike several times in one step (its spikes then lie in
    /// a row in `spikes` and are delivered at once, as n·α·w).
    const REPEATS: bool = false;
    /// Steps at the start of the frame during which input arrives.
    fn active_steps(&self) -> usize;
    /// Replaces the contents of `spikes` with the input nodes (c·H + y)·W + x
    /// spiking at step `t` (< `active_steps`), in ascending order; a node that
    /// spikes n times in the step appears n times in a row.
    fn step(&mut self, t: usize, spikes: &mut Vec<u32>);
}

/// The encoder of one image as an input source.
struct Encoded<'a>(&'a mut InputEncoder, usize);

impl InputSpikes for Encoded<'_> {
    #[inline(always)]
    fn active_steps(&self) -> usize {
        self.1
    }
    #[inline(always)]
    fn step(&mut self, _t: usize, spikes: &mut Vec<u32>) {
        self.0.step(spikes)
    }
}

/// A given input raster: spike counts per step and input node,
/// `counts[t·nodes + node]` for the first `counts.len() / nodes` steps.
pub struct CountRaster<'a> {
    pub counts: &'a [u16],
    pub nodes: usize,
}

impl InputSpikes for CountRaster<'_> {
    const REPEATS: bool = true;
    fn active_steps(&self) -> usize {
        self.counts.len().checked_div(self.nodes).unwrap_or(0)
    }
    fn step(&mut self, t: usize, spikes: &mut Vec<u32>) {
        spikes.clear();
        let row = &self.counts[t * self.nodes..(t + 1) * self.nodes];
        // Rasters of events are mostly zeros: four counts are skipped at a time.
        let mut base = 0;
        for quad in row.chunks(4) {
            if quad.iter().any(|&n| n != 0) {
                for (j, &n) in quad.iter().enumerate() {
                    for _ in 0..n {
                        spikes.push((base + j) as u32);
                    }
                }
            }
            base += quad.len();
        }
    }
}

/// A raster of spike counts with a bitmap of its non-zero entries: the nodes that
/// spike in a step are read off the bitmap, not found by scanning every count.
/// Events fill both ([`ConvSnn::run_batch_given`]).
struct MarkedRaster<'a> {
    counts: &'a [u16],
    /// bit e (bit e % 64 of word e / 64) set when entry e of `counts` is non-zero
    marks: &'a [u64],
    nodes: usize,
}

impl InputSpikes for MarkedRaster<'_> {
    const REPEATS: bool = true;
    fn active_steps(&self) -> usize {
        self.counts.len().checked_div(self.nodes).unwrap_or(0)
    }
    fn step(&mut self, t: usize, spikes: &mut Vec<u32>) {
        spikes.clear();
        let (lo, hi) = (t * self.nodes, (t + 1) * self.nodes);
        let mut k = lo / 64;
        while k * 64 < hi {
            let mut bits = self.marks[k];
            if k * 64 < lo {
                bits &= !0u64 << (lo - k * 64);
            }
            if (k + 1) * 64 > hi {
                bits &= (1u64 << (hi - k * 64)) - 1;
            }
            while bits != 0 {
                let e = k * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                for _ in 0..self.counts[e] {
                    spikes.push((e - lo) as u32);
                }
            }
            k += 1;
        }
    }
}

/// The input spikes of a batch of frames, given rather than encoded from images.
#[derive(Clone, Copy, Debug)]
pub enum GivenInput<'a> {
    /// Frame-major rasters of `steps` × input nodes spike counts.
    Rasters { counts: &'a [u16], steps: usize },
    /// Events: frame i's are `index[offsets[i]..offsets[i + 1]]`, each the raster
    /// entry `t·nodes + node` (t < `steps`) it adds one spike to; entries repeat
    /// (counts saturate at 65535). `offsets` is non-decreasing, from 0 to
    /// `index.len()`, and every entry is below `steps · nodes` (the caller checks).
    Events {
        index: &'a [u32],
        offsets: &'a [usize],
        steps: usize,
    },
}

impl GivenInput<'_> {
    /// Steps per frame that get input.
    pub fn steps(&self) -> usize {
        match *self {
            GivenInput::Rasters { steps, .. } | GivenInput::Events { steps, .. } => steps,
        }
    }

    /// Frames in the batch.
    pub fn frames(&self, nodes: usize) -> usize {
        match *self {
            GivenInput::Rasters { counts, steps } => {
                counts.len().checked_div(steps * nodes).unwrap_or(0)
            }
            GivenInput::Events { offsets, .. } => offsets.len().saturating_sub(1),
        }
    }
}

/// Per-thread buffers, allocated once and reused for every frame.
pub struct Scratch {
    encoder: InputEncoder,
    buffers: Buffers,
}

/// The network's buffers (all but the encoder).
struct Buffers {
    u: Vec<f32>,
    v: Vec<u64>,
    /// Spiking input nodes / conv neurons of the current step.
    input_spikes: Vec<u32>,
    conv_spikes: Vec<(u32, u32)>,
    /// Conv positions whose neurons must be tested this step (bit set).
    marked: Vec<u64>,
    /// Pooling neurons holding at least one spike (bit set).
    owed: Vec<u64>,
}

/// Where one frame's results go.
pub struct FrameOut<'a> {
    /// Pooled spike counts (n_kernels, P', Q').
    pub pooled: &'a mut [u16],
    /// Spikes still held by each pooling neuron at the end of the frame.
    pub backlog: &'a mut [u16],
    /// Conv spikes per kernel.
    pub conv_counts: &'a mut [u32],
}

/// Outputs of a batch of frames, image-major.
pub struct BatchOut {
    pub pooled: Vec<u16>,
    pub backlog: Vec<u16>,
    pub conv_counts: Vec<u32>,
    pub stats: Vec<FrameStats>,
}

impl BatchOut {
    /// Zeroed outputs of `n` frames: `per` pooled neurons and `nk` kernels each.
    fn zeroed(n: usize, per: usize, nk: usize) -> Self {
        BatchOut {
            pooled: vec![0; n * per],
            backlog: vec![0; n * per],
            conv_counts: vec![0; n * nk],
            stats: vec![FrameStats::default(); n],
        }
    }
}

/// The convolutional spiking front-end (Python: `snnconv.ConvSNN`) for images of one
/// size.
#[derive(Clone, Debug)]
pub struct ConvSnn {
    pub params: ConvSnnParams,
    pub conv: ConvLayer,
    pub pool: PoolLayer,
}

impl ConvSnn {
    /// `kernels` (n, k, k) row-major, `scales` α per kernel, images of `size`.
    pub fn new(
        params: ConvSnnParams,
        kernels: &[f64],
        k: usize,
        scales: &[f64],
        size: (usize, usize),
    ) -> Result<Self> {
        Self::with_channels(params, kernels, (1, k), scales, size)
    }

    /// `kernels` (n, channels, k, k) row-major, `scales` α per kernel, images of
    /// `channels` planes of `size`.
    pub fn with_channels(
        params: ConvSnnParams,
        kernels: &[f64],
        (channels, k): (usize, usize),
        scales: &[f64],
        size: (usize, usize),
    ) -> Result<Self> {
        params.validate()?;
        let conv = ConvLayer::with_channels(
            kernels,
            (channels, k),
            scales,
            params.stride,
            size,
            params.threshold,
            params.tau,
            params.reset,
        )?;
        let pool = PoolLayer::new(
            params.pool,
            conv.n_kernels,
            (conv.p_len, conv.q_len),
            params.frame_steps,
        )?;
        Ok(Self { params, conv, pool })
    }

    /// Input nodes: one per channel and pixel.
    pub fn n_pixels(&self) -> usize {
        self.conv.n_inputs()
    }

    pub fn scratch(&self) -> Scratch {
        let encoder =
            InputEncoder::new(self.params.encoding, self.params.max_rate, self.n_pixels());
        Scratch {
            buffers: Buffers {
                u: vec![0.0; self.conv.state_len()],
                v: vec![0; self.pool.len()],
                input_spikes: encoder.spike_buffer(),
                conv_spikes: Vec::with_capacity(self.conv.state_len()),
                marked: vec![0; self.conv.position_words()],
                owed: vec![0; self.pool.len().div_ceil(64)],
            },
            encoder,
        }
    }

    /// Simulates one frame whose input spikes are given (`raster.counts`: steps ×
    /// input nodes, at most `frame_steps` steps) instead of encoded from an image;
    /// otherwise as [`ConvSnn::run_frame`]. Outputs are added to `out`.
    pub fn run_frame_raster<R: Recorder>(
        &self,
        raster: CountRaster<'_>,
        scratch: &mut Scratch,
        out: FrameOut<'_>,
        rec: &mut R,
    ) -> FrameStats {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2, checked just above.
                return unsafe { self.run_frame_raster_avx2(raster, scratch, out, rec) };
            }
        }
        let mut input = raster;
        self.frame_loop::<false, _, R>(&mut input, &mut scratch.buffers, out, rec)
    }

    /// [`ConvSnn::run_frame_raster`] on a raster with its bitmap of non-zero entries.
    fn run_frame_marked(
        &self,
        raster: MarkedRaster<'_>,
        scratch: &mut Scratch,
        out: FrameOut<'_>,
    ) -> FrameStats {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2, checked just above.
                return unsafe { self.run_frame_marked_avx2(raster, scratch, out) };
            }
        }
        let mut input = raster;
        self.frame_loop::<false, _, NoRecord>(&mut input, &mut scratch.buffers, out, &mut NoRecord)
    }

    /// # Safety
    /// The CPU supports AVX2 (checked by the caller).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn run_frame_marked_avx2(
        &self,
        raster: MarkedRaster<'_>,
        scratch: &mut Scratch,
        out: FrameOut<'_>,
    ) -> FrameStats {
        let mut input = raster;
        self.frame_loop::<true, _, NoRecord>(&mut input, &mut scratch.buffers, out, &mut NoRecord)
    }

    /// # Safety
    /// The CPU supports AVX2 (checked by the caller).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn run_frame_raster_avx2<R: Recorder>(
        &self,
        raster: CountRaster<'_>,
        scratch: &mut Scratch,
        out: FrameOut<'_>,
        rec: &mut R,
    ) -> FrameStats {
        let mut input = raster;
        self.frame_loop::<true, _, R>(&mut input, &mut scratch.buffers, out, rec)
    }

    /// Simulates one frame of image `g` starting from encoder state `carry`
    /// (per pixel; updated to the end-of-frame state). `image_index` selects the
    /// Bernoulli stream. Outputs are added to `out` (callers pass zeroed slices).
    pub fn run_frame<R: Recorder>(
        &self,
        g: &[f64],
        carry: &mut [u64],
        image_index: u64,
        scratch: &mut Scratch,
        out: FrameOut<'_>,
        rec: &mut R,
    ) -> FrameStats {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2, checked just above.
                return unsafe { self.run_frame_avx2(g, carry, image_index, scratch, out, rec) };
            }
        }
        self.run_frame_generic::<false, R>(g, carry, image_index, scratch, out, rec)
    }

    /// # Safety
    /// The CPU supports AVX2 (checked by the caller).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn run_frame_avx2<R: Recorder>(
        &self,
        g: &[f64],
        carry: &mut [u64],
        image_index: u64,
        scratch: &mut Scratch,
        out: FrameOut<'_>,
        rec: &mut R,
    ) -> FrameStats {
        self.run_frame_generic::<true, R>(g, carry, image_index, scratch, out, rec)
    }

    /// One frame of an encoded image. No allocation: all state lives in `scratch`
    /// and `out`. `AVX2` selects intrinsics: only true when compiled for and run on
    /// AVX2.
    #[inline(always)]
    fn run_frame_generic<const AVX2: bool, R: Recorder>(
        &self,
        g: &[f64],
        carry: &mut [u64],
        image_index: u64,
        scratch: &mut Scratch,
        out: FrameOut<'_>,
        rec: &mut R,
    ) -> FrameStats {
        let Scratch { encoder, buffers } = scratch;
        encoder.begin_frame(g, carry, image_index);
        let mut input = Encoded(encoder, self.params.active_steps);
        let st = self.frame_loop::<AVX2, _, R>(&mut input, buffers, out, rec);
        encoder.end_frame(carry);
        st
    }

    /// The step loop over the input of `input`.
    #[inline(always)]
    fn frame_loop<const AVX2: bool, I: InputSpikes, R: Recorder>(
        &self,
        input: &mut I,
        buffers: &mut Buffers,
        out: FrameOut<'_>,
        rec: &mut R,
    ) -> FrameStats {
        let Buffers {
            u,
            v,
            input_spikes,
            conv_spikes,
            marked,
            owed,
        } = buffers;
        let (conv, pool) = (&self.conv, &self.pool);
        u.fill(0.0);
        v.fill(0);
        marked.fill(0);
        owed.fill(0);
        let active_steps = input.active_steps();
        let mut st = FrameStats::default();
        let mut fan_out = 0u64;
        let mut pooled_events = 0u64;
        for t in 0..self.params.frame_steps {
            conv.leak(u);
            if t < active_steps {
                input.step(t, input_spikes);
                let spikes = &input_spikes[..];
                let mut i = 0;
                while i < spikes.len() {
                    let px = spikes[i] as usize;
                    // n spikes of one node in this step (only given input repeats)
                    let mut n = 1;
                    if I::REPEATS {
                        while i + n < spikes.len() && spikes[i + n] as usize == px {
                            n += 1;
                        }
                    }
                    let (c, y, x) = conv.pixel(px);
                    if n == 1 {
                        conv.deliver(u, c, y, x);
                    } else {
                        conv.deliver_times(u, c, y, x, n as f32);
                    }
                    conv.mark(marked, y, x);
                    fan_out += (n * conv.fan_out(y, x)) as u64;
                    for _ in 0..n {
                        rec.input(t, px);
                    }
                    i += n;
                }
                st.input_spikes += input_spikes.len() as u64;
            }
            conv.fire_marked_with::<AVX2>(u, marked, conv_spikes);
            st.conv_spikes += conv_spikes.len() as u64;
            for &(pos, a) in conv_spikes.iter() {
                let (pos, a) = (pos as usize, a as usize);
                out.conv_counts[a] += 1;
                if let Some(idx) = pool.target(a, pos) {
                    PoolLayer::receive(v, idx);
                    owed[idx / 64] |= 1 << (idx % 64);
                    pooled_events += 1;
                }
                rec.conv(t, a, pos);
            }
            // Only the pooling neurons holding a spike can fire, visited in
            // ascending order; one that still holds one stays in the set.
            for (wi, word) in owed.iter_mut().enumerate() {
                let mut bits = *word;
                while bits != 0 {
                    let b = bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    let idx = wi * 64 + b;
                    let c = &mut v[idx];
                    if PoolLayer::fire_one(c) {
                        st.pool_spikes += 1;
                        out.pooled[idx] += 1;
                        rec.pool(t, idx);
                    }
                    if *c < UNITS {
                        *word &= !(1 << b);
                    }
                }
            }
            rec.end_step(t, conv, u, v);
        }
        for (b, &c) in out.backlog.iter_mut().zip(v.iter()) {
            *b = PoolLayer::backlog(c) as u16;
        }
        st.synaptic_events = fan_out + pooled_events;
        st
    }

    /// Simulates a batch of frames whose input spikes are given: `rasters` holds
    /// `n` rasters of `steps` × input nodes spike counts, image-major. Results are
    /// the same for any number of threads.
    pub fn run_batch_rasters(&self, rasters: &[u16], steps: usize) -> BatchOut {
        self.run_batch_given(&GivenInput::Rasters {
            counts: rasters,
            steps,
        })
    }

    /// Simulates a batch of frames whose input spikes are given (rasters or
    /// events, see [`GivenInput`]). Results are the same for any number of threads.
    pub fn run_batch_given(&self, input: &GivenInput<'_>) -> BatchOut {
        let nodes = self.n_pixels();
        let steps = input.steps();
        let per_frame = steps * nodes;
        let n = input.frames(nodes);
        let (per, nk) = (self.pool.len(), self.conv.n_kernels);
        let mut out = BatchOut::zeroed(n, per, nk);
        out.pooled
            .par_chunks_mut(per.max(1))
            .zip(out.backlog.par_chunks_mut(per.max(1)))
            .zip(out.conv_counts.par_chunks_mut(nk))
            .zip(out.stats.par_iter_mut())
            .enumerate()
            .for_each_init(
                || (self.scratch(), Vec::<u16>::new(), Vec::<u64>::new()),
                |(scratch, dense, marks), (i, (((pooled, backlog), conv_counts), stats))| {
                    let frame = FrameOut {
                        pooled,
                        backlog,
                        conv_counts,
                    };
                    match *input {
                        GivenInput::Rasters { counts, .. } => {
                            let raster = CountRaster {
                                counts: &counts[i * per_frame..(i + 1) * per_frame],
                                nodes,
                            };
                            *stats = self.run_frame_raster(raster, scratch, frame, &mut NoRecord);
                        }
                        GivenInput::Events { index, offsets, .. } => {
                            // The frame's raster and its bitmap of non-zero entries
                            // are built in reused buffers; only the entries its
                            // events touched are cleared after.
                            dense.resize(per_frame, 0);
                            marks.resize(per_frame.div_ceil(64), 0);
                            let events = &index[offsets[i]..offsets[i + 1]];
                            for &e in events {
                                let e = e as usize;
                                let c = &mut dense[e];
                                *c = c.saturating_add(1);
                                marks[e / 64] |= 1 << (e % 64);
                            }
                            let raster = MarkedRaster {
                                counts: dense,
                                marks,
                                nodes,
                            };
                            *stats = self.run_frame_marked(raster, scratch, frame);
                            for &e in events {
                                dense[e as usize] = 0;
                            }
                            marks.fill(0);
                        }
                    }
                },
            );
        out
    }

    /// Mean conv spikes per neuron per frame for each kernel over a batch of given
    /// input rasters (see [`ConvSnn::run_batch_rasters`]).
    pub fn kernel_rates_rasters(&self, rasters: &[u16], steps: usize) -> Vec<f64> {
        let out = self.run_batch_rasters(rasters, steps);
        self.rates_of(&out)
    }

    /// The same over any given input (see [`ConvSnn::run_batch_given`]).
    pub fn kernel_rates_given(&self, input: &GivenInput<'_>) -> Vec<f64> {
        let out = self.run_batch_given(input);
        self.rates_of(&out)
    }

    /// Simulates a batch of images `(n, h, w)` in parallel (rayon, current pool).
    /// `carry` is the encoder state before the first image and is advanced past
    /// the last; image i uses Bernoulli stream `first_index + i`. Results are the
    /// same for any number of threads.
    pub fn run_batch(&self, images: &[f64], carry: &mut [u64], first_index: u64) -> BatchOut {
        let hw = self.n_pixels();
        let n = images.len().checked_div(hw).unwrap_or(0);
        let (per, nk) = (self.pool.len(), self.conv.n_kernels);
        let mut out = BatchOut::zeroed(n, per, nk);
        // Starting carry of every image, in closed form, sequentially (cheap).
        let starts: Vec<u64> = if self.params.encoding.carries() {
            let mut s = Vec::with_capacity(n * hw);
            for img in images.chunks_exact(hw) {
                s.extend_from_slice(carry);
                advance_carry(carry, img, self.params.active_steps, self.params.max_rate);
            }
            s
        } else {
            Vec::new()
        };
        let starts = &starts;
        out.pooled
            .par_chunks_mut(per.max(1))
            .zip(out.backlog.par_chunks_mut(per.max(1)))
            .zip(out.conv_counts.par_chunks_mut(nk))
            .zip(out.stats.par_iter_mut())
            .enumerate()
            .for_each_init(
                || (self.scratch(), vec![0u64; hw]),
                |(scratch, c), (i, (((pooled, backlog), conv_counts), stats))| {
                    if starts.is_empty() {
                        c.fill(0);
                    } else {
                        c.copy_from_slice(&starts[i * hw..(i + 1) * hw]);
                    }
                    let frame = FrameOut {
                        pooled,
                        backlog,
                        conv_counts,
                    };
                    *stats = self.run_frame(
                        &images[i * hw..(i + 1) * hw],
                        c,
                        first_index + i as u64,
                        scratch,
                        frame,
                        &mut NoRecord,
                    );
                },
            );
        out
    }

    /// Mean conv spikes per neuron per frame for each kernel over a batch (the
    /// quantity calibration steers), with the encoder starting from `carry`
    /// (left unchanged).
    pub fn kernel_rates(&self, images: &[f64], carry: &[u64]) -> Vec<f64> {
        let mut c = carry.to_vec();
        let out = self.run_batch(images, &mut c, 0);
        self.rates_of(&out)
    }

    /// Mean conv spikes per neuron per frame for each kernel of a batch's output.
    fn rates_of(&self, out: &BatchOut) -> Vec<f64> {
        let nk = self.conv.n_kernels;
        let n = out.stats.len();
        let mut totals = vec![0u64; nk];
        for row in out.conv_counts.chunks_exact(nk) {
            for (t, &x) in totals.iter_mut().zip(row) {
                *t += u64::from(x);
            }
        }
        let neurons = (n * self.conv.p_len * self.conv.q_len).max(1) as f64;
        totals.iter().map(|&t| t as f64 / neurons).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    /// Passes through to the system allocator, counting allocations made by the
    /// current thread, so a test can assert that a frame allocates nothing.
    struct Counting;

    thread_local! {
        static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
    }

    // SAFETY: forwards each call unchanged to the system allocator; counting never allocates.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            ALLOCATIONS.with(|c| c.set(c.get() + 1));
            System.alloc(layout)
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            System.dealloc(ptr, layout)
        }
    }

    #[global_allocator]
    static GLOBAL: Counting = Counting;

    #[test]
    fn a_frame_allocates_nothing() {
        let (h, w) = (16, 16);
        let kernels: Vec<f64> = (0..5 * 25).map(|i| (i % 7) as f64 / 7.0 - 0.2).collect();
        let images: Vec<f64> = (0..h * w).map(|i| (i % 11) as f64 / 10.0).collect();
        for encoding in [
            Encoding::Accumulator { reset_carry: false },
            Encoding::Bernoulli { seed: 1 },
        ] {
            let mut p = params(Some(10.0));
            p.stride = 2;
            p.pool = 2;
            p.encoding = encoding;
            let net = ConvSnn::new(p, &kernels, 5, &[0.5; 5], (h, w)).unwrap();
            let mut s = net.scratch();
            let per = net.pool.len();
            let (mut pooled, mut backlog, mut cc) = (vec![0; per], vec![0; per], vec![0; 5]);
            let mut carry = vec![0u64; h * w];
            let before = ALLOCATIONS.with(|c| c.get());
            let st = net.run_frame(
                &images,
                &mut carry,
                0,
                &mut s,
                FrameOut {
                    pooled: &mut pooled,
                    backlog: &mut backlog,
                    conv_counts: &mut cc,
                },
                &mut NoRecord,
            );
            assert_eq!(ALLOCATIONS.with(|c| c.get()), before);
            assert!(st.conv_spikes > 0 && st.pool_spikes > 0);
        }
    }

    fn params(tau: Option<f64>) -> ConvSnnParams {
        ConvSnnParams {
            stride: 1,
            pool: 1,
            tau,
            threshold: 1.0,
            frame_steps: 15,
            active_steps: 10,
            encoding: Encoding::Accumulator { reset_carry: true },
            max_rate: 1.0,
            reset: Reset::Subtract,
        }
    }

    fn one_neuron(weight: f64, tau: Option<f64>, reset: Reset) -> (u16, u16, FrameStats) {
        let mut p = params(tau);
        p.reset = reset;
        let net = ConvSnn::new(p, &[weight], 1, &[1.0], (1, 1)).unwrap();
        let mut s = net.scratch();
        let (mut pooled, mut backlog, mut cc) = ([0u16], [0u16], [0u32]);
        let st = net.run_frame(
            &[1.0],
            &mut [0],
            0,
            &mut s,
            FrameOut {
                pooled: &mut pooled,
                backlog: &mut backlog,
                conv_counts: &mut cc,
            },
            &mut NoRecord,
        );
        assert_eq!(u64::from(cc[0]), st.conv_spikes);
        (pooled[0], backlog[0], st)
    }

    #[test]
    fn non_leaky_neuron_fires_floor_of_total_input() {
        // Ten input spikes of weight w: floor(10 w) spikes when the frame is long
        // enough to drain (at most one per step, 15 steps).
        for (w, expect) in [(0.375, 3), (0.25, 2), (0.5, 5), (1.25, 12), (0.0625, 0)] {
            let (pooled, backlog, st) = one_neuron(w, None, Reset::Subtract);
            assert_eq!(st.conv_spikes, expect, "w = {w}");
            assert_eq!((pooled, backlog), (expect as u16, 0));
            assert_eq!(st.input_spikes, 10);
            assert_eq!(st.synaptic_events, 10 + expect);
        }
    }

    #[test]
    fn subtractive_reset_keeps_the_surplus() {
        // w = 0.75: subtract → u = .75, 1.5→.5, 1.25→.25, 1.0→0, ... 7 spikes in 10
        // steps; reset to zero loses the surplus: a spike every 2nd step → 5.
        let (_, _, sub) = one_neuron(0.75, None, Reset::Subtract);
        let (_, _, zero) = one_neuron(0.75, None, Reset::Zero);
        assert_eq!(sub.conv_spikes, 7);
        assert_eq!(zero.conv_spikes, 5);
    }

    #[test]
    fn leak_reduces_firing() {
        let (_, _, no_leak) = one_neuron(0.375, None, Reset::Subtract);
        let (_, _, leak) = one_neuron(0.375, Some(2.0), Reset::Subtract);
        // tau = 2 halves u each step: u converges to 0.75 < 1, never fires.
        assert_eq!(no_leak.conv_spikes, 3);
        assert_eq!(leak.conv_spikes, 0);
    }

    /// Conv spike counts per (kernel, position) of a frame, simulated densely: every
    /// neuron tested every step, weights added per pixel in raster order.
    fn dense_conv_counts(net: &ConvSnn, g: &[f64]) -> Vec<u32> {
        let c = &net.conv;
        let (k, s, nk) = (c.k, c.stride, c.n_kernels);
        let mut u = vec![0f32; nk * c.p_len * c.q_len];
        let mut counts = vec![0u32; u.len()];
        let mut enc = InputEncoder::new(net.params.encoding, net.params.max_rate, g.len());
        let mut spikes = enc.spike_buffer();
        enc.begin_frame(g, &vec![0; g.len()], 0);
        for t in 0..net.params.frame_steps {
            if let Some(d) = c.decay() {
                u.iter_mut().for_each(|v| *v *= d);
            }
            if t < net.params.active_steps {
                enc.step(&mut spikes);
                for &px in &spikes {
                    let (hw, px) = (c.height * c.width, px as usize);
                    let (ch, y, x) = (px / hw, px % hw / c.width, px % c.width);
                    for p in 0..c.p_len {
                        for q in 0..c.q_len {
                            if (p * s..p * s + k).contains(&y) && (q * s..q * s + k).contains(&x) {
                                for a in 0..nk {
                                    let cell = ch * k * k + (y - p * s) * k + x - q * s;
                                    let w = c.weight(a, cell);
                                    u[(a * c.p_len + p) * c.q_len + q] += w;
                                }
                            }
                        }
                    }
                }
            }
            for (v, n) in u.iter_mut().zip(counts.iter_mut()) {
                if *v >= c.threshold() {
                    *v -= c.threshold();
                    *n += 1;
                }
            }
        }
        counts
    }

    #[test]
    fn sparse_threshold_tests_match_a_dense_simulation() {
        // Wide images (conv rows over several 64-bit words), strides 1 and 3, strong
        // weights (potentials that stay above threshold after a reset).
        struct Counts(Vec<u32>, usize, usize);
        impl Recorder for Counts {
            fn conv(&mut self, _t: usize, a: usize, pos: usize) {
                self.0[a * self.1 * self.2 + pos] += 1;
            }
        }
        let mut state = 3u64;
        let mut rnd = || {
            state = crate::rng::mix64(state);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        for (k, stride, (h, w), tau, ch) in [
            (3, 1, (7, 150), Some(4.0), 1),
            (4, 3, (10, 200), None, 1),
            (3, 2, (9, 70), Some(6.0), 2),
            (4, 1, (8, 9), None, 3),
        ] {
            let nk = 3;
            let kernels: Vec<f64> = (0..nk * ch * k * k).map(|_| rnd() - 0.25).collect();
            let g: Vec<f64> = (0..ch * h * w).map(|_| rnd()).collect();
            let mut p = params(tau);
            p.stride = stride;
            p.pool = 2;
            let net =
                ConvSnn::with_channels(p, &kernels, (ch, k), &[0.9, 0.6, 2.5], (h, w)).unwrap();
            let mut s = net.scratch();
            let per = net.pool.len();
            let (mut pooled, mut backlog, mut cc) = (vec![0; per], vec![0; per], vec![0; nk]);
            let mut rec = Counts(
                vec![0; nk * net.conv.p_len * net.conv.q_len],
                net.conv.p_len,
                net.conv.q_len,
            );
            net.run_frame(
                &g,
                &mut vec![0; ch * h * w],
                0,
                &mut s,
                FrameOut {
                    pooled: &mut pooled,
                    backlog: &mut backlog,
                    conv_counts: &mut cc,
                },
                &mut rec,
            );
            let want = dense_conv_counts(&net, &g);
            assert!(want.iter().any(|&n| n > 1));
            assert_eq!(rec.0, want, "k={k} stride={stride}");
        }
    }

    #[test]
    fn batch_is_thread_count_independent_and_chains_the_carry() {
        let (h, w) = (12, 11);
        let mut state = 9u64;
        let mut rnd = || {
            state = crate::rng::mix64(state);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let kernels: Vec<f64> = (0..3 * 16).map(|_| rnd() - 0.3).collect();
        let images: Vec<f64> = (0..20 * h * w).map(|_| rnd()).collect();
        let mut p = params(Some(10.0));
        p.stride = 2;
        p.pool = 2;
        p.encoding = Encoding::Accumulator { reset_carry: false };
        let net = ConvSnn::new(p, &kernels, 4, &[1.0, 0.8, 1.5], (h, w)).unwrap();
        let run = |threads| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let mut c = vec![0u64; h * w];
                let out = net.run_batch(&images, &mut c, 0);
                (out.pooled, out.backlog, out.conv_counts, out.stats, c)
            })
        };
        let one = run(1);
        assert_eq!(one, run(3));
        // Sequential frames through run_frame give the same, carry included.
        let mut s = net.scratch();
        let mut c = vec![0u64; h * w];
        let per = net.pool.len();
        for i in 0..20 {
            let (mut pooled, mut backlog, mut cc) = (vec![0; per], vec![0; per], vec![0; 3]);
            let st = net.run_frame(
                &images[i * h * w..(i + 1) * h * w],
                &mut c,
                i as u64,
                &mut s,
                FrameOut {
                    pooled: &mut pooled,
                    backlog: &mut backlog,
                    conv_counts: &mut cc,
                },
                &mut NoRecord,
            );
            assert_eq!(pooled, one.0[i * per..(i + 1) * per]);
            assert_eq!(st, one.3[i]);
        }
        assert_eq!(c, one.4);
    }

    #[test]
    fn a_given_raster_runs_exactly_as_its_encoded_image() {
        // The input spikes the encoder produced, handed back as a count raster, give
        // the same frame; a raster with several spikes per node and step delivers
        // each of them.
        let (h, w, ch, k, nk) = (9, 10, 2, 3, 4);
        let mut state = 7u64;
        let mut rnd = || {
            state = crate::rng::mix64(state);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let kernels: Vec<f64> = (0..nk * ch * k * k).map(|_| rnd() - 0.3).collect();
        let images: Vec<f64> = (0..3 * ch * h * w).map(|_| rnd()).collect();
        let mut p = params(Some(8.0));
        p.pool = 2;
        p.encoding = Encoding::Bernoulli { seed: 4 };
        let net = ConvSnn::with_channels(p, &kernels, (ch, k), &[0.6; 4], (h, w)).unwrap();
        let nodes = net.n_pixels();
        let per = net.pool.len();
        let mut s = net.scratch();
        let mut rasters = Vec::new();
        let mut want = Vec::new();
        for (i, g) in images.chunks_exact(nodes).enumerate() {
            let mut rec = crate::snn::Raster::new(p.frame_steps, nodes, &net.conv, &net.pool);
            let (mut pooled, mut backlog, mut cc) = (vec![0; per], vec![0; per], vec![0; nk]);
            let st = net.run_frame(
                g,
                &mut vec![0; nodes],
                i as u64,
                &mut s,
                FrameOut {
                    pooled: &mut pooled,
                    backlog: &mut backlog,
                    conv_counts: &mut cc,
                },
                &mut rec,
            );
            rasters.extend(
                rec.input[..p.active_steps * nodes]
                    .iter()
                    .map(|&b| u16::from(b)),
            );
            want.push((pooled, backlog, cc, st));
        }
        let out = net.run_batch_rasters(&rasters, p.active_steps);
        for (i, (pooled, backlog, cc, st)) in want.iter().enumerate() {
            assert!(st.conv_spikes > 0);
            assert_eq!(&out.pooled[i * per..(i + 1) * per], &pooled[..]);
            assert_eq!(&out.backlog[i * per..(i + 1) * per], &backlog[..]);
            assert_eq!(&out.conv_counts[i * nk..(i + 1) * nk], &cc[..]);
            assert_eq!(out.stats[i], *st);
        }
        // Doubling every count doubles the input; spikes in a step follow node order.
        let doubled: Vec<u16> = rasters[..p.active_steps * nodes]
            .iter()
            .map(|&c| 2 * c)
            .collect();
        let two = net.run_batch_rasters(&doubled, p.active_steps);
        assert_eq!(two.stats[0].input_spikes, 2 * want[0].3.input_spikes);
        let mut spikes = Vec::new();
        CountRaster {
            counts: &[0, 2, 1, 0, 3, 0],
            nodes: 3,
        }
        .step(1, &mut spikes);
        assert_eq!(spikes, vec![1, 1, 1]);
    }

    #[test]
    fn events_run_exactly_as_the_rasters_they_fill() {
        // Events given as raster entries (repeats, any order within a frame, an empty
        // frame) give the frames of the dense rasters they count into; n spikes of a
        // node in one step add n·w at once.
        let (h, w, ch, k, nk, steps) = (11, 9, 2, 3, 3, 6);
        let mut state = 3u64;
        let mut rnd = || {
            state = crate::rng::mix64(state);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let kernels: Vec<f64> = (0..nk * ch * k * k).map(|_| rnd() - 0.2).collect();
        let mut p = params(Some(6.0));
        p.pool = 2;
        let net = ConvSnn::with_channels(p, &kernels, (ch, k), &[0.5; 3], (h, w)).unwrap();
        let per_frame = steps * net.n_pixels();
        let (mut index, mut offsets, mut dense) = (Vec::new(), vec![0usize], Vec::new());
        for frame in 0..4 {
            let mut counts = vec![0u16; per_frame];
            let n_events = if frame == 2 { 0 } else { 150 + 40 * frame };
            for _ in 0..n_events {
                let e = ((rnd() * per_frame as f64) as usize).min(per_frame - 1);
                let repeat = if rnd() < 0.3 { 3 } else { 1 };
                for _ in 0..repeat {
                    index.push(e as u32);
                    counts[e] += 1;
                }
            }
            offsets.push(index.len());
            dense.extend(counts);
        }
        let given = net.run_batch_given(&GivenInput::Events {
            index: &index,
            offsets: &offsets,
            steps,
        });
        let rasters = net.run_batch_rasters(&dense, steps);
        assert_eq!(given.pooled, rasters.pooled);
        assert_eq!(given.backlog, rasters.backlog);
        assert_eq!(given.conv_counts, rasters.conv_counts);
        assert_eq!(given.stats, rasters.stats);
        assert_eq!(given.stats[2], FrameStats::default());
        assert!(given.stats.iter().map(|s| s.conv_spikes).sum::<u64>() > 0);
        assert_eq!(given.stats[0].input_spikes, offsets[1] as u64);
        // one node, three spikes in step 0: every covered potential gets 3·w
        let mut u = vec![0.0f32; net.conv.state_len()];
        let (c, y, x) = net.conv.pixel(net.n_pixels() - 1);
        net.conv.deliver_times(&mut u, c, y, x, 3.0);
        let mut once = vec![0.0f32; net.conv.state_len()];
        net.conv.deliver(&mut once, c, y, x);
        for (a, b) in u.iter().zip(&once) {
            assert_eq!(*a, 3.0 * *b);
        }
        assert!(once.iter().any(|&v| v != 0.0));
    }
}
