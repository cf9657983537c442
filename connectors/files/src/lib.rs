//! a drop folder of internal CSV/XLSX files, loaded once each into bronze. (work in progress).
