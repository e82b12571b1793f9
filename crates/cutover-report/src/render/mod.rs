//! The renderers: one module per format, each made of one function per section, all reading
//! the same [`crate::Report`] model.

pub(crate) mod html;
pub(crate) mod junit;
pub(crate) mod markdown;
pub(crate) mod terminal;
