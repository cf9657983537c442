//! Turning frames into rows: the generic preset (columns by JSON pointer)
//! and the Interactive Brokers Client Portal preset.

use crate::config::{ColumnType, Generic, Ibkr, Instrument};
use crate::table::{Cell, Kind, Table, unqualified};
use serde_json::Value;
use std::collections::HashMap;

/// Where a frame's rows go: table index and cells.
pub type Out = Vec<(usize, Vec<Cell>)>;

/// Reads frames of one preset.
pub trait Decoder: Send {
    /// The tables rows go to; the last one holds unqualified frames.
    fn tables(&self) -> Vec<Table>;
    /// Rows from one frame, or why it cannot be read.
    fn decode(&mut self, frame: &str) -> Result<Out, String>;
}

/// The reject row of a frame.
pub fn reject(frame: &str, received_ns: i64, reason: String) -> Vec<Cell> {
    vec![
        Cell::Text(Some(frame.to_string())),
        Cell::I64(Some(received_ns)),
        Cell::Text(Some(reason)),
    ]
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().replace(',', "").parse().ok(),
        _ => None,
    }
}

/// The generic preset.
pub struct GenericDecoder {
    g: Generic,
}

impl GenericDecoder {
    /// From the `generic` options.
    pub fn new(g: Generic) -> Self {
        Self { g }
    }
}

impl Decoder for GenericDecoder {
    fn tables(&self) -> Vec<Table> {
        let cols: Vec<(&str, Kind, bool)> = self
            .g
            .columns
            .iter()
            .map(|(n, c)| {
                let k = match c.r#type {
                    ColumnType::Utf8 => Kind::Text,
                    ColumnType::Float64 => Kind::F64,
                    ColumnType::Int64 => Kind::I64,
                };
                (n.as_str(), k, c.optional)
            })
            .collect();
        vec![Table::new(&self.g.category, &cols), unqualified()]
    }

    fn decode(&mut self, frame: &str) -> Result<Out, String> {
        let v: Value = serde_json::from_str(frame).map_err(|e| format!("not JSON: {e}"))?;
        if let Some(f) = &self.g.only_if {
            let held = v.pointer(&f.pointer).map(|x| match x {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            });
            if held.as_deref() != Some(f.equals.as_str()) {
                return Ok(Vec::new());
            }
        }
        let mut row = Vec::with_capacity(self.g.columns.len());
        for (name, c) in &self.g.columns {
            let x = v.pointer(&c.pointer).filter(|x| !x.is_null());
            let Some(x) = x else {
                if c.optional {
                    row.push(match c.r#type {
                        ColumnType::Utf8 => Cell::Text(None),
                        ColumnType::Float64 => Cell::F64(None),
                        ColumnType::Int64 => Cell::I64(None),
                    });
                    continue;
                }
                return Err(format!("`{name}`: nothing at {}", c.pointer));
            };
            let bad = || format!("`{name}`: {x} at {} is not a {:?}", c.pointer, c.r#type);
            row.push(match c.r#type {
                ColumnType::Utf8 => Cell::Text(Some(match x {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })),
                ColumnType::Float64 => Cell::F64(Some(number(x).ok_or_else(bad)?)),
                ColumnType::Int64 => {
                    let n = match x {
                        Value::Number(n) => n.as_i64(),
                        Value::String(s) => s.trim().replace(',', "").parse().ok(),
                        _ => None,
                    };
                    Cell::I64(Some(n.ok_or_else(bad)?))
                }
            });
        }
        Ok(vec![(0, row)])
    }
}

/// What is known of one IBKR instrument from earlier (partial) updates.
#[derive(Default)]
struct Book {
    bid: Option<f64>,
    bid_size: Option<f64>,
    ask: Option<f64>,
    ask_size: Option<f64>,
}

/// The Interactive Brokers Client Portal preset.
///
/// `smd+<conid>` frames carry only the fields that changed, keyed by
/// numeric codes, with values as strings: 31 last price (a "C" prefix marks
/// the previous close, "H" a halted market: neither is a trade), 7059 last
/// size, 84/86 bid/ask, 88/85 bid/ask size, 6509 availability, `_updated`
/// epoch milliseconds. Sizes may read "1,236" or "12.2M"; a `<code>_raw`
/// field, when sent, is the exact number. A frame with 31 gives a trade row;
/// a frame with any bid/ask field gives the top of the book (level 1) as
/// two rows, completed from earlier frames. Other topics (`system`, `sts`,
/// heartbeats) are not market data and are skipped.
pub struct IbkrDecoder {
    instruments: HashMap<String, Instrument>,
    books: HashMap<String, Book>,
}

/// Category of IBKR trade rows.
pub const IBKR_TICKS: &str = "raw_ibkr_cpapi_ticks";
/// Category of IBKR top-of-book rows.
pub const IBKR_QUOTES: &str = "raw_ibkr_cpapi_quotes";

impl IbkrDecoder {
    /// From the `ibkr` options.
    pub fn new(o: &Ibkr) -> Self {
        Self {
            instruments: o.instruments.clone().into_iter().collect(),
            books: HashMap::new(),
        }
    }

    /// Subscription messages for every instrument.
    pub fn subscriptions(o: &Ibkr) -> Vec<String> {
        let fields = serde_json::to_string(&o.fields).unwrap_or_else(|_| "[]".into());
        o.instruments
            .keys()
            .map(|conid| format!("smd+{conid}+{{\"fields\":{fields}}}"))
            .collect()
    }
}

/// An IBKR numeric field: the value and its one-letter prefix, if any.
fn ib_value(
    obj: &serde_json::Map<String, Value>,
    code: &str,
) -> Result<Option<(f64, Option<char>)>, String> {
    if let Some(raw) = obj.get(&format!("{code}_raw")).and_then(Value::as_f64) {
        return Ok(Some((raw, None)));
    }
    let Some(v) = obj.get(code) else {
        return Ok(None);
    };
    let text = match v {
        Value::Number(n) => return Ok(n.as_f64().map(|f| (f, None))),
        Value::String(s) => s.trim(),
        other => return Err(format!("field {code} is {other}, not a number")),
    };
    let (prefix, rest) = match text.chars().next() {
        Some(c @ ('C' | 'H')) => (Some(c), &text[1..]),
        _ => (None, text),
    };
    let rest = rest.replace(',', "");
    let (num, mult) = match rest.chars().last() {
        Some('K') => (&rest[..rest.len() - 1], 1e3),
        Some('M') => (&rest[..rest.len() - 1], 1e6),
        Some('B') => (&rest[..rest.len() - 1], 1e9),
        _ => (rest.as_str(), 1.0),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("field {code} holds `{text}`, not a number"))?;
    Ok(Some((n * mult, prefix)))
}

impl Decoder for IbkrDecoder {
    fn tables(&self) -> Vec<Table> {
        let common = [
            ("conid", Kind::Text, false),
            ("symbol_code", Kind::Text, false),
            ("exchange_code", Kind::Text, false),
            ("symbol_type", Kind::Text, false),
        ];
        let mut ticks = common.to_vec();
        ticks.extend([
            ("price", Kind::F64, false),
            ("size", Kind::F64, true),
            ("price_unit", Kind::Text, false),
            ("size_unit", Kind::Text, false),
            ("updated_ms", Kind::I64, false),
            ("availability", Kind::Text, true),
        ]);
        let mut quotes = common.to_vec();
        quotes.extend([
            ("side", Kind::Text, false),
            ("level", Kind::I64, false),
            ("price", Kind::F64, false),
            ("size", Kind::F64, true),
            ("price_unit", Kind::Text, false),
            ("size_unit", Kind::Text, false),
            ("updated_ms", Kind::I64, false),
        ]);
        vec![
            Table::new(IBKR_TICKS, &ticks),
            Table::new(IBKR_QUOTES, &quotes),
            unqualified(),
        ]
    }

    fn decode(&mut self, frame: &str) -> Result<Out, String> {
        let v: Value = serde_json::from_str(frame).map_err(|e| format!("not JSON: {e}"))?;
        let Some(obj) = v.as_object() else {
            return Err("not a JSON object".into());
        };
        let topic = obj.get("topic").and_then(Value::as_str).unwrap_or("");
        let Some(from_topic) = topic.strip_prefix("smd+") else {
            return Ok(Vec::new());
        };
        let conid = match obj.get("conid") {
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::String(s)) => s.clone(),
            _ => from_topic.to_string(),
        };
        let Some(inst) = self.instruments.get(&conid) else {
            return Err(format!("conid {conid} is not in ibkr.instruments"));
        };
        let updated = obj
            .get("_updated")
            .and_then(Value::as_i64)
            .ok_or("no `_updated` epoch milliseconds")?;
        let last = ib_value(obj, "31")?;
        let last_size = ib_value(obj, "7059")?;
        let quote_fields = [
            ib_value(obj, "84")?,
            ib_value(obj, "88")?,
            ib_value(obj, "86")?,
            ib_value(obj, "85")?,
        ];
        let text = |s: &str| Cell::Text(Some(s.to_string()));
        let head = || {
            vec![
                text(&conid),
                text(&inst.symbol),
                text(&inst.exchange),
                text(&inst.symbol_type),
            ]
        };
        let mut out = Vec::new();
        if let Some((price, None)) = last {
            let mut row = head();
            row.extend([
                Cell::F64(Some(price)),
                Cell::F64(last_size.map(|(s, _)| s)),
                text(&inst.price_unit),
                text(&inst.size_unit),
                Cell::I64(Some(updated)),
                Cell::Text(obj.get("6509").and_then(Value::as_str).map(String::from)),
            ]);
            out.push((0, row));
        }
        if quote_fields.iter().any(Option::is_some) {
            let book = self.books.entry(conid.clone()).or_default();
            let [bid, bid_size, ask, ask_size] = quote_fields;
            book.bid = bid.map(|v| v.0).or(book.bid);
            book.bid_size = bid_size.map(|v| v.0).or(book.bid_size);
            book.ask = ask.map(|v| v.0).or(book.ask);
            book.ask_size = ask_size.map(|v| v.0).or(book.ask_size);
            for (side, price, size) in [
                ("bid", book.bid, book.bid_size),
                ("ask", book.ask, book.ask_size),
            ] {
                let Some(price) = price else { continue };
                let mut row = head();
                row.extend([
                    text(side),
                    Cell::I64(Some(1)),
                    Cell::F64(Some(price)),
                    Cell::F64(size),
                    text(&inst.price_unit),
                    text(&inst.size_unit),
                    Cell::I64(Some(updated)),
                ]);
                out.push((1, row));
            }
        }
        Ok(out)
    }
}
