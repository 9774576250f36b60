//! Adapters: each talks to one outside system. The process's clock (`clock`); the
//! bookings-export reader and the audit run over an export file (`bookings_csv`, behind the
//! `audit` feature); email as MIME bytes; the embedded store and outbox (`local`, behind the
//! `sqlite` feature); the AWS services (`aws`, behind the `aws` feature).

#[cfg(feature = "aws")]
pub mod aws;
#[cfg(feature = "audit")]
pub mod bookings_csv;
pub mod clock;
#[cfg(feature = "sqlite")]
pub mod local;
pub mod mime;
