//! Adapters: each file or folder talks to one outside system. For now, the one outside system
//! is a booking tool's export file.

pub mod bookings_csv;
