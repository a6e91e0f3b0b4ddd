//! The ledger's files (and the security audit trail's), written from the rows `store::export` reads: CSV records and the Excel
//! workbook. Formats only: how they are sent (streamed, as a download) is `http::export`'s business.

pub mod assessment;
pub mod audit;
pub mod csv;
pub mod targets;
pub mod xlsx;
