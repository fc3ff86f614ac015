//! Ensembles of independent copies (docs/algorithms.md §3): each copy learns from every example
//! on its own random stream; at inference every copy turns its per-class answer
//! counts into relative votes (count / total, copies without any answer abstain) and
//! the votes are summed.
//!
//! Randomness: copy i draws from streams derived from `rng::stream(seed, NETWORK, i)`'s
//! seed — one stream per (copy, example number) in training and per (copy, example
//! content) at inference — so results do not depend on thread counts, chunking, or
//! which copies run on which thread, and a prediction is a pure function of the
//! model and the example (not of its position in a batch).

use rand_pcg::Pcg64;
use rayon::prelude::*;

use super::digital::{DigitalCopy, Scratch};
use super::encode::{check_counts, Schedule};
use super::network::{Dynamics, Network};
use super::params::Params;
use crate::error::{Error, Result};
use crate::rng::{derive_seed, mix64, purpose, stream};

/// What a copy must provide to be part of an ensemble.
pub trait Member: Send + Sync {
    type Scratch: Send;
    /// What every copy derives alike from an example (the spiking copies' spike
    /// schedule): prepared once per example and shared by the copies.
    type Example: Default + Clone + Send + Sync;
    fn params(&self) -> &Params;
    fn scratch(&self) -> Self::Scratch;
    fn prepare(&self, counts: &[u8], ex: &mut Self::Example);
    /// A hint that `ex` is needed next (it may be fetched into the cache meanwhile).
    fn warm(_ex: &Self::Example) {}
    /// Whether training and inference may prepare examples once for all copies and
    /// run blocks of examples per copy (false: each copy prepares every example
    /// itself, as first written).
    fn shares_examples(&self) -> bool;
    /// Learns one example; `ex`, if given, is its [`Member::prepare`]d form (else the
    /// copy prepares it itself).
    fn train_one(
        &mut self,
        counts: &[u8],
        ex: Option<&Self::Example>,
        label: usize,
        s: &mut Self::Scratch,
        rng: &mut Pcg64,
    );
    /// Answer counts per class for one example (plasticity frozen).
    fn answer(
        &self,
        counts: &[u8],
        ex: Option<&Self::Example>,
        s: &mut Self::Scratch,
        rng: &mut Pcg64,
        out: &mut [f64],
    );
    /// [`Member::answer`] for a block of prepared examples (rows of `x`), in order:
    /// `rng(e)` is example e's stream, `out(e, counts)` receives its answer counts.
    /// `buf` is working memory kept between blocks. Must equal answering them one at
    /// a time (the default does just that).
    fn answer_block(
        &self,
        x: &[u8],
        exs: &[Self::Example],
        s: &mut Self::Scratch,
        _buf: &mut Vec<Vec<f64>>,
        rng: &mut dyn FnMut(usize) -> Pcg64,
        out: &mut dyn FnMut(usize, &[f64]),
    ) {
        let f = x.len() / exs.len().max(1);
        let mut counts = vec![0.0; self.params().n_classes];
        for (e, ex) in exs.iter().enumerate() {
            self.answer(
                &x[e * f..(e + 1) * f],
                Some(ex),
                s,
                &mut rng(e),
                &mut counts,
            );
            out(e, &counts);
        }
    }
}

impl Member for Network {
    type Scratch = Dynamics;
    type Example = Schedule;
    fn params(&self) -> &Params {
        &self.params
    }
    fn scratch(&self) -> Dynamics {
        let mut d = Dynamics::new(&self.params);
        d.kernel = self.dynamics.kernel;
        d
    }
    fn shares_examples(&self) -> bool {
        !self.dynamics.kernel.is_reference()
    }
    fn prepare(&self, counts: &[u8], ex: &mut Schedule) {
        ex.fill(counts, self.params.presentation_steps);
    }
    fn warm(ex: &Schedule) {
        ex.prefetch();
    }
    fn train_one(
        &mut self,
        counts: &[u8],
        ex: Option<&Schedule>,
        label: usize,
        _: &mut Dynamics,
        rng: &mut Pcg64,
    ) {
        match ex {
            Some(sched) if !self.dynamics.kernel.is_reference() => {
                self.train_scheduled(sched, label, rng)
            }
            _ => self.train_frame(counts, label, rng),
        }
    }
    fn answer(
        &self,
        counts: &[u8],
        ex: Option<&Schedule>,
        d: &mut Dynamics,
        rng: &mut Pcg64,
        out: &mut [f64],
    ) {
        let votes = match ex {
            Some(sched) if !d.kernel.is_reference() => self.infer_scheduled(sched, d, rng),
            _ => self.infer_frame(counts, d, rng),
        };
        for (o, &v) in out.iter_mut().zip(votes) {
            *o = f64::from(v);
        }
    }
    fn answer_block(
        &self,
        _: &[u8],
        exs: &[Schedule],
        d: &mut Dynamics,
        buf: &mut Vec<Vec<f64>>,
        rng: &mut dyn FnMut(usize) -> Pcg64,
        out: &mut dyn FnMut(usize, &[f64]),
    ) {
        let mut counts = vec![0.0; self.params.n_classes];
        self.infer_block(exs, d, buf, rng, &mut |e, votes| {
            for (o, &v) in counts.iter_mut().zip(votes) {
                *o = f64::from(v);
            }
            out(e, &counts);
        });
    }
}

impl Member for DigitalCopy {
    type Scratch = Scratch;
    type Example = ();
    fn params(&self) -> &Params {
        &self.params
    }
    fn scratch(&self) -> Scratch {
        DigitalCopy::scratch(self)
    }
    fn prepare(&self, _: &[u8], _: &mut ()) {}
    fn shares_examples(&self) -> bool {
        true
    }
    fn train_one(
        &mut self,
        counts: &[u8],
        _: Option<&()>,
        label: usize,
        s: &mut Scratch,
        rng: &mut Pcg64,
    ) {
        DigitalCopy::train_one(self, counts, label, s, rng);
    }
    fn answer(
        &self,
        counts: &[u8],
        _: Option<&()>,
        s: &mut Scratch,
        rng: &mut Pcg64,
        out: &mut [f64],
    ) {
        out.fill(0.0);
        if let Some(c) = self.predict_one(counts, s, rng) {
            out[c] = 1.0;
        }
    }
}

/// Examples per block at inference (see [`Ensemble::votes`]).
pub const VOTE_BLOCK: usize = 128;
/// Examples per block in training (see [`Ensemble::train`]).
pub const TRAIN_BLOCK: usize = 512;

#[derive(Debug, Clone)]
pub struct Ensemble<T> {
    pub copies: Vec<T>,
    seed: u64,
    /// Training examples seen so far (numbers the per-example streams).
    pub seen: u64,
}

/// 64-bit digest of an example's counts (seeds its inference noise).
pub fn content_hash(counts: &[u8]) -> u64 {
    let mut h = mix64(counts.len() as u64);
    for chunk in counts.chunks(8) {
        let mut b = [0u8; 8];
        b[..chunk.len()].copy_from_slice(chunk);
        h = mix64(h ^ u64::from_le_bytes(b));
    }
    h
}

/// Stream of copy `copy` for unit `index` of family `family`.
fn copy_stream(seed: u64, copy: usize, family: u64, index: u64) -> Pcg64 {
    stream(
        derive_seed(seed, purpose::NETWORK, copy as u64),
        family,
        index,
    )
}

impl<T: Member> Ensemble<T> {
    pub fn new(copies: Vec<T>, seed: u64, seen: u64) -> Self {
        Self { copies, seed, seen }
    }

    pub fn params(&self) -> &Params {
        self.copies[0].params()
    }

    fn check(&self, x: &[u8], n: usize) -> Result<usize> {
        let p = self.params();
        let f = p.n_inputs;
        if x.len() != n * f {
            return Err(Error::input(
                "X",
                format!("expected {n} rows of {f} features, got {} values", x.len()),
            ));
        }
        check_counts(x, p.presentation_steps)?;
        Ok(f)
    }

    /// Learns the examples in order (rows of `x`, spike counts per frame).
    pub fn train(&mut self, x: &[u8], labels: &[usize]) -> Result<()> {
        let n = labels.len();
        let f = self.check(x, n)?;
        let c = self.params().n_classes;
        if let Some(&bad) = labels.iter().find(|&&l| l >= c) {
            return Err(Error::input(
                "y",
                format!("class index {bad} out of range for {c} classes"),
            ));
        }
        let (seed, seen) = (self.seed, self.seen);
        if !self.copies[0].shares_examples() {
            self.copies.par_iter_mut().enumerate().for_each(|(ci, m)| {
                let mut s = m.scratch();
                for (e, &y) in labels.iter().enumerate() {
                    let mut rng = copy_stream(seed, ci, purpose::NETWORK, seen + e as u64);
                    m.train_one(&x[e * f..(e + 1) * f], None, y, &mut s, &mut rng);
                }
            });
            self.seen += n as u64;
            return Ok(());
        }
        // Blocks of examples, each prepared once for all copies (the spike schedule
        // does not depend on the copy); every copy then learns the block's examples in
        // order, so each copy sees the same examples in the same order with the same
        // streams as one example at a time.
        let mut scratch: Vec<T::Scratch> = self.copies.iter().map(|m| m.scratch()).collect();
        let mut prepared: Vec<T::Example> = Vec::new();
        for (b, ys) in labels.chunks(TRAIN_BLOCK).enumerate() {
            let first = b * TRAIN_BLOCK;
            let example = |e: usize| &x[(first + e) * f..(first + e + 1) * f];
            if prepared.len() < ys.len() {
                // Later schedules start as copies of the first (its tables are built once).
                let mut ex = T::Example::default();
                self.copies[0].prepare(example(0), &mut ex);
                prepared.resize(ys.len(), ex);
            }
            for (e, ex) in prepared[..ys.len()].iter_mut().enumerate() {
                self.copies[0].prepare(example(e), ex);
            }
            let prepared = &prepared;
            self.copies
                .par_iter_mut()
                .zip(scratch.par_iter_mut())
                .enumerate()
                .for_each(|(ci, (m, s))| {
                    for (e, &y) in ys.iter().enumerate() {
                        if let Some(next) = prepared[..ys.len()].get(e + 1) {
                            T::warm(next);
                        }
                        let number = seen + (first + e) as u64;
                        let mut rng = copy_stream(seed, ci, purpose::NETWORK, number);
                        m.train_one(example(e), Some(&prepared[e]), y, s, &mut rng);
                    }
                });
        }
        self.seen += n as u64;
        Ok(())
    }

    /// Summed relative votes, (n, C) row-major; a row of zeros means no copy answered.
    ///
    /// Examples are taken in blocks of [`VOTE_BLOCK`], each [`Member::prepare`]d once
    /// for all copies; each copy answers the whole block ([`Member::answer_block`])
    /// before the next copy starts, so its weights are read from cache rather than
    /// memory for all but the first example. Every row still sums the copies' votes in
    /// copy order, so the result
    /// does not depend on the blocking. (With the reference kernel, example by
    /// example as first written.)
    pub fn votes(&self, x: &[u8], n: usize) -> Result<Vec<f64>> {
        let f = self.check(x, n)?;
        let c = self.params().n_classes;
        let mut out = vec![0.0; n * c];
        let seed = self.seed;
        let shared = self.copies[0].shares_examples();
        let block = if shared { VOTE_BLOCK } else { 1 };
        out.par_chunks_mut(c * block).enumerate().for_each_init(
            || {
                (
                    self.copies.iter().map(|m| m.scratch()).collect::<Vec<_>>(),
                    vec![0.0; c],
                    Vec::with_capacity(block),
                    (0..block)
                        .map(|_| T::Example::default())
                        .collect::<Vec<_>>(),
                    Vec::new(),
                )
            },
            |(scratch, counts, hashes, prepared, sums), (b, rows)| {
                let first = b * block;
                let examples = |e: usize| &x[(first + e) * f..(first + e + 1) * f];
                let len = rows.len() / c;
                hashes.clear();
                hashes.extend((0..len).map(|e| content_hash(examples(e))));
                if shared {
                    for (e, ex) in prepared[..len].iter_mut().enumerate() {
                        self.copies[0].prepare(examples(e), ex);
                    }
                }
                let add = |row: &mut [f64], counts: &[f64]| {
                    let total: f64 = counts.iter().sum();
                    if total > 0.0 {
                        for (r, v) in row.iter_mut().zip(counts.iter()) {
                            *r += v / total;
                        }
                    }
                };
                for (ci, (m, s)) in self.copies.iter().zip(scratch.iter_mut()).enumerate() {
                    if shared {
                        m.answer_block(
                            &x[first * f..(first + len) * f],
                            &prepared[..len],
                            s,
                            sums,
                            &mut |e| copy_stream(seed, ci, purpose::INFERENCE, hashes[e]),
                            &mut |e, counts| add(&mut rows[e * c..(e + 1) * c], counts),
                        );
                        continue;
                    }
                    for (e, (row, &h)) in rows.chunks_mut(c).zip(hashes.iter()).enumerate() {
                        let mut rng = copy_stream(seed, ci, purpose::INFERENCE, h);
                        m.answer(examples(e), None, s, &mut rng, counts);
                        add(row, counts);
                    }
                }
            },
        );
        Ok(out)
    }
}

/// Arg-max of each vote row (lowest class on ties); None where nobody answered.
pub fn decide(votes: &[f64], c: usize) -> Vec<Option<usize>> {
    votes
        .chunks(c)
        .map(|row| {
            let mut best: Option<(usize, f64)> = None;
            for (k, &v) in row.iter().enumerate() {
                if v > 0.0 && best.is_none_or(|(_, b)| v > b) {
                    best = Some((k, v));
                }
            }
            best.map(|(k, _)| k)
        })
        .collect()
}
