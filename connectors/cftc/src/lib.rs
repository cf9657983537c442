//! CFTC Commitments of Traders reports from the yearly files and the Socrata API. (work in progress).
