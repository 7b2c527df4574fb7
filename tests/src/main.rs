//! Integration tests: one binary, one module per area.

mod composite;
mod differential;
mod fixtures;
mod golden;
mod guests;
mod json;
mod merge;
mod sysfs;
mod validation;
