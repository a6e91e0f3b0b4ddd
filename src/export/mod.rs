//! The ledger's files, written from the rows `store::export` reads: CSV records and the Excel
//! workbook. Formats only: how they are sent (streamed, as a download) is `http::export`'s business.

pub mod csv;
pub mod xlsx;
