//! What the fuzz targets share with the seed generator
//! (`examples/seeds.rs`): the inputs each target understands, sample
//! inputs, and the checks one run makes.

pub mod message;
pub mod serde_msg;
pub mod token;
