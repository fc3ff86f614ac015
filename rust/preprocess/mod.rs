//! Video preprocessing for the NEOVISION2 object pipeline (docs/algorithms.md §6): the
//! difference heat map and connected-component boxes. These are the two per-pixel
//! loops over full frames (1920×1080) that would be slow as numpy temporaries.

pub mod components;
pub mod heat;
