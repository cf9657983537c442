//! The simulated products: real contract specs of the firm's futures.

/// One product.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Product {
    /// Root symbol.
    pub root: &'static str,
    /// Exchange.
    pub exchange: &'static str,
    /// Minimum price increment.
    pub tick_size: f64,
    /// A realistic starting price.
    pub start_price: f64,
    /// Relative trade activity.
    pub weight: u32,
}

/// CL and NG on NYMEX (WTI crude 0.01 USD/bbl, Henry Hub 0.001 USD/MMBtu),
/// HO and RB (0.0001 USD/gal), BZ (Brent last-day financial, 0.01), ES on CME
/// (0.25 index points).
pub const PRODUCTS: &[Product] = &[
    Product {
        root: "CL",
        exchange: "NYMEX",
        tick_size: 0.01,
        start_price: 70.0,
        weight: 30,
    },
    Product {
        root: "NG",
        exchange: "NYMEX",
        tick_size: 0.001,
        start_price: 3.0,
        weight: 15,
    },
    Product {
        root: "HO",
        exchange: "NYMEX",
        tick_size: 0.0001,
        start_price: 2.4,
        weight: 8,
    },
    Product {
        root: "RB",
        exchange: "NYMEX",
        tick_size: 0.0001,
        start_price: 2.1,
        weight: 7,
    },
    Product {
        root: "BZ",
        exchange: "NYMEX",
        tick_size: 0.01,
        start_price: 74.0,
        weight: 10,
    },
    Product {
        root: "ES",
        exchange: "CME",
        tick_size: 0.25,
        start_price: 5800.0,
        weight: 30,
    },
];

/// A product by root.
pub fn product(root: &str) -> Option<&'static Product> {
    PRODUCTS.iter().find(|p| p.root == root)
}

/// The futures month code of a month (1..=12).
pub fn month_code(month: u32) -> char {
    ['F', 'G', 'H', 'J', 'K', 'M', 'N', 'Q', 'U', 'V', 'X', 'Z']
        [((month.clamp(1, 12)) - 1) as usize]
}
