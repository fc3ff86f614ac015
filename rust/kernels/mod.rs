//! The unsupervised, local kernel learner (docs/algorithms.md §1) and what it needs:
//! the brightness normalisation of its input images ([`brightness`]), image stacks
//! held for learning ([`prepared`]), the exact sparse responses ([`responses`]) on
//! four-lane vectors ([`crate::lanes`]), and the fast dense convolution used by
//! `transform` ([`conv`]).

pub mod brightness;
pub mod conv;
mod learner;
pub mod prepared;
pub mod responses;

pub use learner::*;
