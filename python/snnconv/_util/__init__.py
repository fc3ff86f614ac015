"""Internal helpers shared by the estimators: parameters, validation, persistence,
progress bars, optional extras and image stacks. Not part of the public API."""
