//! The integration tests, as one test binary (one link instead of seven): connectors, rules
//! and the CLI against the real PostgreSQL and MariaDB servers, files, golden reports and the
//! architecture's invariants.
#![allow(dead_code)]

mod architecture;
mod checksum;
mod cli;
mod common;
mod engines;
mod exports;
mod false_go;
mod files;
mod golden;
mod mappings;
mod normalize;
mod rules;
mod safety;
mod schema;
mod tls;
