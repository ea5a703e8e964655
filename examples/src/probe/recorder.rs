//! Recording the exchanges.

use cmp_client::transport::{Transport, TransportError};

/// One request as sent and what came back, as bytes or as the transport's failure.
pub(super) struct RawExchange {
    pub(super) request: Vec<u8>,
    pub(super) response: Result<Vec<u8>, String>,
}

/// A transport that keeps every exchange, so that the messages [`Client`] sends on its
/// own (certConf, pollReq, rr) are described like the probe's.
pub(super) struct Recorder<T> {
    pub(super) inner: T,
    pub(super) raw: Vec<RawExchange>,
}

impl<T: Transport> Transport for Recorder<T> {
    fn send(&mut self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
        let response = self.inner.send(request);
        self.raw.push(RawExchange {
            request: request.to_vec(),
            response: response
                .as_ref()
                .map(Clone::clone)
                .map_err(ToString::to_string),
        });
        response
    }
}
