//! One error type for the whole core, by kind. The binding layer maps each kind to
//! its class in `snnconv.exceptions`; nothing in the core panics on user input.

/// What went wrong, with the name of the offending parameter or array where there is
/// one, so the message can say exactly what to change. Displayed as
/// `"{name}: {message}"` (via `thiserror`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// A hyperparameter or argument is outside its accepted range
    /// (Python: `ParameterError`).
    #[error("{name}: {message}")]
    InvalidParameter { name: &'static str, message: String },
    /// An input array has the wrong shape or contents (Python: `DataError`).
    #[error("{name}: {message}")]
    InvalidInput { name: &'static str, message: String },
    /// A restored (saved) state is inconsistent with itself or with its parameters
    /// (Python: `ModelFileError`).
    #[error("{name}: {message}")]
    CorruptModel { name: &'static str, message: String },
    /// The machine refused a resource the core needs, e.g. threads
    /// (Python: `RuntimeError`).
    #[error("{name}: {message}")]
    Resource { name: &'static str, message: String },
    /// A size would make the core allocate above its budget, or overflows
    /// (`crate::limits`; Python: `ResourceLimitError`, a `MemoryError`).
    #[error("{name}: {message}")]
    TooLarge { name: &'static str, message: String },
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

    pub fn corrupt(name: &'static str, message: impl Into<String>) -> Self {
        Error::CorruptModel {
            name,
            message: message.into(),
        }
    }

    pub fn resource(name: &'static str, message: impl Into<String>) -> Self {
        Error::Resource {
            name,
            message: message.into(),
        }
    }

    pub fn too_large(name: &'static str, message: impl Into<String>) -> Self {
        Error::TooLarge {
            name,
            message: message.into(),
        }
    }

    /// On a restore path the "input" is a saved state: a bad array there means a
    /// corrupt model, not bad data. Other kinds are kept.
    pub fn in_saved_state(self) -> Self {
        match self {
            Error::InvalidInput { name, message } => Error::CorruptModel { name, message },
            other => other,
        }
    }

    /// The parameter or array the error is about.
    pub fn name(&self) -> &'static str {
        match self {
            Error::InvalidParameter { name, .. }
            | Error::InvalidInput { name, .. }
            | Error::CorruptModel { name, .. }
            | Error::Resource { name, .. }
            | Error::TooLarge { name, .. } => name,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_name_colon_message() {
        assert_eq!(
            Error::param("tau", "must be > 0").to_string(),
            "tau: must be > 0"
        );
        assert_eq!(Error::corrupt("state", "bad").to_string(), "state: bad");
    }

    #[test]
    fn saved_state_turns_input_errors_into_corrupt_model() {
        let e = Error::input("weights", "must be finite").in_saved_state();
        assert_eq!(e, Error::corrupt("weights", "must be finite"));
        let p = Error::param("n_kernels", "must be >= 1").in_saved_state();
        assert_eq!(p, Error::param("n_kernels", "must be >= 1"));
        assert_eq!(p.name(), "n_kernels");
    }
}
