//! One error type for the whole core. The binding layer maps every variant to a
//! Python exception; nothing in the core panics on user input.

use std::fmt;

/// What went wrong, with the name of the offending parameter where there is one,
/// so the Python message can say exactly what to change.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// A hyperparameter or argument is outside its accepted range.
    InvalidParameter { name: &'static str, message: String },
    /// An input array has the wrong shape or contents.
    InvalidInput { name: &'static str, message: String },
}

impl Error {
    pub fn param(name: &'static str, message: impl Into<String>) -> Self {
        Error::InvalidParameter {
            name,
            message: message.into(),
        }
    }

    pub fn input(name: &'static str, message: impl Into<String>) -> Self {
        Error::InvalidInput {
            name,
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidParameter { name, message } | Error::InvalidInput { name, message } => {
                write!(f, "{name}: {message}")
            }
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;
