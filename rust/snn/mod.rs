//! The convolutional spiking front-end of docs/algorithms.md §2: input encoder → LIF convolution
//! (weights α·w, calibrated α) → exact sum pooling, in fixed frames of P steps.
//!
//! One concept per file: [`encoder`] (input codes), [`conv_layer`] (LIF conv
//! neurons, event-driven delivery), [`pool`] (sum pooling), [`network`] ([`ConvSnn`], the step
//! loop and parallel batches), [`calibrate`] (bisection on α), [`sample`] (the counts-only
//! simulation calibration runs), [`raster`] (full
//! recordings of one frame), [`events`] (event records binned into input spikes).

pub mod calibrate;
pub mod conv_layer;
pub mod encoder;
pub mod events;
pub mod network;
pub mod pool;
pub mod raster;
pub mod sample;

pub use calibrate::{calibrate, calibrate_with, Calibration, CalibrationOptions, Request};
pub use conv_layer::{ConvLayer, Reset};
pub use encoder::{Encoding, InputEncoder};
pub use network::{
    BatchOut, ConvSnn, ConvSnnParams, CountRaster, FrameOut, FrameStats, GivenInput, InputSpikes,
    NoRecord, Recorder,
};
pub use pool::{pool_raster, PoolLayer};
pub use raster::Raster;
pub use sample::CalibrationSample;
