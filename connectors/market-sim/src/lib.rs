//! `market_sim`: a qdp source plugin producing realistic futures ticks for
//! the trading firm's products (CL, NG, HO, RB, BZ, ES), with Poisson
//! arrivals, bursts, and a per-tick sequence number, deterministic from a
//! seed and resumable from any checkpoint.

#![forbid(unsafe_code)]

mod config;
mod generator;
mod products;
mod rng;
mod source;

pub use config::{Burst, SimOptions};
pub use source::MarketSim;

qdp_sdk::export_source!(MarketSim);
