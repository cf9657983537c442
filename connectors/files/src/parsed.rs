//! What a reader makes of one file: a header, data rows, and the rows it
//! could not read, each with its row number in the file.

/// One data row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// 1-based row (line) number in the file or sheet.
    pub number: u64,
    /// One value per header column; an empty cell is `None`.
    pub values: Vec<Option<String>>,
    /// The row as text, for the unqualified port if the file is rejected.
    pub text: String,
}

/// A row that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based row number (0 when the whole file is unreadable).
    pub number: u64,
    /// The row as text (lossy when the encoding is wrong).
    pub text: String,
    /// Why, in words.
    pub reason: String,
}

/// A file as read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    /// Header cells as written.
    pub header: Vec<String>,
    /// Rows that fit the header.
    pub rows: Vec<Row>,
    /// Rows that did not; any problem rejects the whole file.
    pub problems: Vec<Problem>,
}

impl Parsed {
    /// A file that cannot be read at all: one problem row.
    pub fn unreadable(reason: String) -> Self {
        Self {
            problems: vec![Problem {
                number: 0,
                text: String::new(),
                reason,
            }],
            ..Self::default()
        }
    }
}
