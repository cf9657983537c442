//! Tick generation: a pure function of (options, state), and the state's
//! checkpoint encoding.
//!
//! Checkpoint format (little-endian): version byte `1`; `seq` u64; rng state
//! 4×u64; origin time i64 (epoch ns); virtual clock f64 (seconds since the
//! origin); number of products u32; each product's price in ticks, i64.

use crate::config::SimOptions;
use crate::products::Product;
use crate::rng::Rng;
use qdp_sdk::arrow::array::{
    ArrayRef, Float64Array, Int64Array, RecordBatch, StringBuilder, UInt64Array,
};
use qdp_sdk::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use qdp_sdk::{PluginError, Result};
use std::sync::Arc;

/// Where the generator is.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    /// Sequence number of the next tick.
    pub seq: u64,
    /// Random generator.
    pub rng: Rng,
    /// Epoch nanoseconds of virtual time zero.
    pub origin_ns: i64,
    /// Virtual seconds since the origin of the last tick.
    pub clock_s: f64,
    /// Current price of each product, in ticks.
    pub prices: Vec<i64>,
}

const VERSION: u8 = 1;
/// Smallest gap between two ticks, in seconds.
const MIN_GAP_S: f64 = 2e-9;

impl State {
    /// The initial state.
    pub fn new(seed: u64, origin_ns: i64, products: &[&Product]) -> Self {
        let prices = products
            .iter()
            .map(|p| (p.start_price / p.tick_size).round() as i64)
            .collect();
        Self {
            seq: 0,
            rng: Rng::seeded(seed),
            origin_ns,
            clock_s: 0.0,
            prices,
        }
    }

    /// Encodes the state as checkpoint bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(64 + 8 * self.prices.len());
        b.push(VERSION);
        b.extend(self.seq.to_le_bytes());
        for w in self.rng.s {
            b.extend(w.to_le_bytes());
        }
        b.extend(self.origin_ns.to_le_bytes());
        b.extend(self.clock_s.to_le_bytes());
        b.extend((self.prices.len() as u32).to_le_bytes());
        for p in &self.prices {
            b.extend(p.to_le_bytes());
        }
        b
    }

    /// Decodes checkpoint bytes for `products` products.
    pub fn decode(bytes: &[u8], products: usize) -> Result<Self> {
        let bad =
            |why: &str| PluginError::config(format!("market_sim checkpoint is not valid: {why}"));
        let mut r = Reader { b: bytes };
        if r.take(1).ok_or_else(|| bad("empty"))?[0] != VERSION {
            return Err(bad("unknown version"));
        }
        let seq = r.u64().ok_or_else(|| bad("truncated"))?;
        let mut s = [0u64; 4];
        for w in &mut s {
            *w = r.u64().ok_or_else(|| bad("truncated"))?;
        }
        let origin_ns = r.u64().ok_or_else(|| bad("truncated"))? as i64;
        let clock_s = f64::from_bits(r.u64().ok_or_else(|| bad("truncated"))?);
        let n = r
            .take(4)
            .map(|x| u32::from_le_bytes([x[0], x[1], x[2], x[3]]))
            .ok_or_else(|| bad("truncated"))? as usize;
        if n != products {
            return Err(bad("it was made with another list of symbols"));
        }
        let prices = (0..n)
            .map(|_| r.u64().map(|v| v as i64))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| bad("truncated"))?;
        if !r.b.is_empty() || !clock_s.is_finite() {
            return Err(bad("trailing or corrupt bytes"));
        }
        Ok(Self {
            seq,
            rng: Rng { s },
            origin_ns,
            clock_s,
            prices,
        })
    }
}

struct Reader<'a> {
    b: &'a [u8],
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        if self.b.len() < n {
            return None;
        }
        let (h, t) = self.b.split_at(n);
        self.b = t;
        Some(h)
    }
    fn u64(&mut self) -> Option<u64> {
        self.take(8)
            .and_then(|x| x.try_into().ok())
            .map(u64::from_le_bytes)
    }
}

/// The raw tick schema the simulator emits.
pub fn raw_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("seq", DataType::UInt64, false),
        Field::new("symbol", DataType::Utf8, false),
        Field::new("root", DataType::Utf8, false),
        Field::new("exchange", DataType::Utf8, false),
        Field::new("instrument_type", DataType::Utf8, false),
        Field::new("price", DataType::Float64, false),
        Field::new("size", DataType::Int64, false),
        Field::new("price_unit", DataType::Utf8, false),
        Field::new("size_unit", DataType::Utf8, false),
        Field::new("ts_event_ns", DataType::Int64, false),
    ]))
}

/// Generates batches from a state.
pub struct Generator {
    /// Products simulated, in order.
    pub products: Vec<&'static Product>,
    cumulative: Vec<u32>,
    symbols: Vec<String>,
    opts: SimOptions,
    schema: SchemaRef,
}

impl Generator {
    /// A generator for `products`.
    pub fn new(opts: SimOptions, products: Vec<&'static Product>, suffix: String) -> Self {
        let mut acc = 0;
        let cumulative = products
            .iter()
            .map(|p| {
                acc += p.weight;
                acc
            })
            .collect();
        let symbols = products
            .iter()
            .map(|p| format!("{}{suffix}", p.root))
            .collect();
        Self {
            products,
            cumulative,
            symbols,
            opts,
            schema: raw_schema(),
        }
    }

    fn rate_at(&self, t: f64) -> f64 {
        let base = if self.opts.rate > 0.0 {
            self.opts.rate
        } else {
            1_000_000.0
        };
        let m: f64 = self
            .opts
            .bursts
            .iter()
            .filter(|b| t >= b.start_s && t < b.start_s + b.duration_s)
            .map(|b| b.multiplier)
            .product();
        base * m.max(1e-9)
    }

    /// Up to `batch_size` ticks (fewer when `max_ticks` ends first), advancing `st`.
    pub fn batch(&self, st: &mut State) -> Result<Option<RecordBatch>> {
        let left = self
            .opts
            .max_ticks
            .map_or(u64::MAX, |m| m.saturating_sub(st.seq));
        let n = (self.opts.batch_size as u64).min(left) as usize;
        if n == 0 {
            return Ok(None);
        }
        let total = *self.cumulative.last().unwrap_or(&1);
        let (mut seq, mut price, mut size, mut ts) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        let mut symbol = StringBuilder::with_capacity(n, n * 4);
        let mut root = StringBuilder::with_capacity(n, n * 2);
        let mut exch = StringBuilder::with_capacity(n, n * 5);
        let mut kind = StringBuilder::with_capacity(n, n * 6);
        for _ in 0..n {
            // At least 2 ns apart, so no two ticks share a timestamp after
            // truncation to whole nanoseconds: (source, symbol, tick_time)
            // is the category's unique key, and a store that deduplicates
            // on it must not fold two real ticks into one.
            st.clock_s += (st.rng.exp1() / self.rate_at(st.clock_s)).max(MIN_GAP_S);
            let pick = (st.rng.next_u64() % total as u64) as u32;
            let i = self.cumulative.iter().position(|&c| pick < c).unwrap_or(0);
            let p = self.products[i];
            let u = st.rng.unit();
            let step = if u < 0.05 {
                -2
            } else if u < 0.25 {
                -1
            } else if u < 0.75 {
                0
            } else if u < 0.95 {
                1
            } else {
                2
            };
            st.prices[i] = (st.prices[i] + step).max(1);
            let mut sz = 1 + (st.rng.exp1() * 2.0) as i64;
            let (mut sym_ok, mut kind_text) = (true, "future");
            if self.opts.invalid_ratio > 0.0 && st.rng.unit() < self.opts.invalid_ratio {
                match st.rng.next_u64() % 3 {
                    0 => sz = -1,
                    1 => kind_text = "swap",
                    _ => sym_ok = false,
                }
            }
            seq.push(st.seq);
            st.seq += 1;
            symbol.append_value(if sym_ok { self.symbols[i].as_str() } else { "" });
            root.append_value(p.root);
            exch.append_value(p.exchange);
            kind.append_value(kind_text);
            price.push((st.prices[i] as f64 * p.tick_size * 1e6).round() / 1e6);
            size.push(sz.min(250));
            ts.push(st.origin_ns.saturating_add((st.clock_s * 1e9) as i64));
        }
        let cols: Vec<ArrayRef> = vec![
            Arc::new(UInt64Array::from(seq)),
            Arc::new(symbol.finish()),
            Arc::new(root.finish()),
            Arc::new(exch.finish()),
            Arc::new(kind.finish()),
            Arc::new(Float64Array::from(price)),
            Arc::new(Int64Array::from(size)),
            Arc::new(qdp_sdk::arrow::array::StringArray::from(vec!["1_USD"; n])),
            Arc::new(qdp_sdk::arrow::array::StringArray::from(vec![
                "1_contract";
                n
            ])),
            Arc::new(Int64Array::from(ts)),
        ];
        Ok(Some(RecordBatch::try_new(self.schema.clone(), cols)?))
    }
}
