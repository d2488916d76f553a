//! Reports of a run, one module per format. Each formatter returns the report as text and does no I/O.

pub mod text;
