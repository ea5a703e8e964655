//! A CMP client for embedding: enrollment, key update, revocation and general messages
//! as sans-IO transactions, every check a response must pass, and transports.
//!
//! A transaction holds no socket. It hands out the bytes to send, takes the bytes that
//! came back, checks them (see [`checks`]) and either asks for the next exchange or
//! finishes with a result. Transports ([`transport`]) are thin loops around it.
#![forbid(unsafe_code)]

#[cfg(feature = "tokio")]
pub mod asynchronous;
pub mod checks;
mod client;
mod config;
mod error;
pub mod output;
pub mod transaction;
pub mod transport;

pub use client::Client;
pub use config::{ClientConfig, Polling};
pub use error::{Error, Result};
