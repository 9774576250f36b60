//! Checks that span the whole repository rather than one crate: the SAM template against the
//! workspace. The end-to-end tests that drive the function binaries live here too as the
//! functions arrive.
