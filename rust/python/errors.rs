//! Core errors as Python exceptions: each kind of `crate::error::Error` becomes its
//! class in `snnconv.exceptions` (`ValueError`s, and `ResourceLimitError` a `MemoryError`), so bindings use `?`.

use pyo3::exceptions::PyRuntimeError;
use pyo3::PyErr;

use crate::error::Error;

pyo3::import_exception!(snnconv.exceptions, ParameterError);
pyo3::import_exception!(snnconv.exceptions, DataError);
pyo3::import_exception!(snnconv.exceptions, ModelFileError);
pyo3::import_exception!(snnconv.exceptions, ResourceLimitError);

impl From<Error> for PyErr {
    fn from(err: Error) -> PyErr {
        let msg = err.to_string();
        match err {
            Error::InvalidParameter { .. } => ParameterError::new_err(msg),
            Error::InvalidInput { .. } => DataError::new_err(msg),
            Error::CorruptModel { .. } => ModelFileError::new_err(msg),
            Error::Resource { .. } => PyRuntimeError::new_err(msg),
            Error::TooLarge { .. } => ResourceLimitError::new_err(msg),
        }
    }
}
