//! Recording exchanges to files and replaying responses from files, like OpenSSL's
//! `openssl cmp -reqout/-rspout` and `-rspin`.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use super::{Transport, TransportError};

/// Where the messages of one direction go (or come from): the n-th message to the n-th
/// file.
///
/// Every file holds one DER PKIMessage, exactly the bytes that went over (or would have
/// gone over) the wire as the body of an RFC 6712 §3.3 `POST` or of its response, so the
/// files are interchangeable with OpenSSL's: `openssl cmp -rspin` can replay what
/// [`RecordingTransport`] wrote, and [`ReplayTransport`] can replay what
/// `openssl cmp -rspout` wrote.
///
/// - [`MessageFiles::none`]: no files.
/// - [`MessageFiles::list`] / [`MessageFiles::parse_list`]: an explicit list, as in
///   OpenSSL's `-reqout req1.der,req2.der`. When the list is shorter than the number of
///   messages, the messages past its end go to no file (OpenSSL behaves the same: it
///   stops writing once its list is used up).
/// - [`MessageFiles::numbered`]: `<dir>/<prefix>001.der`, `<prefix>002.der`, ...
///   without end; the directory is created when the first file is written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MessageFiles(Files);

#[derive(Clone, Debug, Default, PartialEq, Eq)]
enum Files {
    #[default]
    None,
    List(Vec<PathBuf>),
    Numbered {
        dir: PathBuf,
        prefix: String,
    },
}

impl MessageFiles {
    /// No files: nothing is written, and a [`ReplayTransport`] has nothing to answer.
    pub fn none() -> Self {
        Self(Files::None)
    }

    /// The n-th message goes to the n-th path; messages beyond the list go nowhere.
    pub fn list<I>(paths: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<PathBuf>,
    {
        Self(Files::List(paths.into_iter().map(Into::into).collect()))
    }

    /// An OpenSSL-style list of file names separated by commas and/or whitespace
    /// (`"ir.der, certConf.der"`), as given to `-reqout`, `-rspout` or `-rspin`.
    /// Empty items are skipped.
    pub fn parse_list(list: &str) -> Self {
        Self::list(
            list.split(|c: char| c == ',' || c.is_whitespace())
                .filter(|item| !item.is_empty()),
        )
    }

    /// Numbered files in `dir`: the first message is `<dir>/<prefix>001.der`, the
    /// second `<prefix>002.der`, and so on (more digits past 999).
    pub fn numbered(dir: impl Into<PathBuf>, prefix: impl Into<String>) -> Self {
        Self(Files::Numbered {
            dir: dir.into(),
            prefix: prefix.into(),
        })
    }

    /// The file of message `index` (counting from 0), or `None` if it has no file.
    pub fn path(&self, index: usize) -> Option<PathBuf> {
        match &self.0 {
            Files::None => None,
            Files::List(paths) => paths.get(index).cloned(),
            Files::Numbered { dir, prefix } => {
                Some(dir.join(format!("{prefix}{:03}.der", index.saturating_add(1))))
            }
        }
    }

    /// Writes message `index` to its file, if it has one.
    fn write(&self, index: usize, what: &str, bytes: &[u8]) -> Result<(), TransportError> {
        let Some(path) = self.path(index) else {
            return Ok(());
        };
        if let Files::Numbered { dir, .. } = &self.0 {
            fs::create_dir_all(dir).map_err(|e| file_error(dir, "cannot create directory", &e))?;
        }
        fs::write(&path, bytes).map_err(|e| file_error(&path, &format!("cannot write {what}"), &e))
    }
}

fn file_error(path: &Path, doing: &str, e: &std::io::Error) -> TransportError {
    TransportError::Io {
        target: path.display().to_string(),
        reason: format!("{doing}: {e}"),
    }
}

/// Wraps a transport and writes every request and response to files, like
/// `openssl cmp -reqout ... -rspout ...`.
///
/// Each request is written before it is sent (so a request that gets no answer is still
/// on disk), each response after it arrives. Requests and responses are counted apart:
/// the n-th request goes to the n-th `reqout` file and the n-th response received to the
/// n-th `rspout` file. A file that cannot be written fails the exchange with
/// [`TransportError::Io`] naming the file, as OpenSSL does.
///
/// ```no_run
/// use cmp_client::transport::{HttpTransport, MessageFiles, RecordingTransport};
///
/// # fn main() -> Result<(), cmp_client::transport::TransportError> {
/// let http = HttpTransport::builder("http://127.0.0.1:8080/pkix/").build()?;
/// let transport = RecordingTransport::new(
///     http,
///     MessageFiles::numbered("trace", "req-"),
///     MessageFiles::numbered("trace", "rsp-"),
/// );
/// # let _ = transport;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct RecordingTransport<T> {
    inner: T,
    reqout: MessageFiles,
    rspout: MessageFiles,
    requests: usize,
    responses: usize,
}

impl<T: Transport> RecordingTransport<T> {
    /// Records what passes through `inner`: requests to `reqout`, responses to `rspout`
    /// (either may be [`MessageFiles::none`]).
    pub fn new(inner: T, reqout: MessageFiles, rspout: MessageFiles) -> Self {
        Self {
            inner,
            reqout,
            rspout,
            requests: 0,
            responses: 0,
        }
    }

    /// The wrapped transport.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The wrapped transport, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Unwraps the transport.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: Transport> Transport for RecordingTransport<T> {
    fn send(&mut self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
        let index = self.requests;
        self.requests += 1;
        self.reqout.write(index, "request", request)?;
        let response = self.inner.send(request)?;
        let index = self.responses;
        self.responses += 1;
        self.rspout.write(index, "response", &response)?;
        Ok(response)
    }
}

/// Answers from recorded response files, in order, without any network: like
/// `openssl cmp -rspin ...`.
///
/// The n-th [`Transport::send`] returns the bytes of the n-th response file, whatever the
/// request was; the request can be written to `reqout` files to see what the client
/// produced. Files are read when needed, not up front. When the files are used up, `send`
/// fails with [`TransportError::Config`] saying so (OpenSSL 3.2+ would instead fall back
/// to a server; wrap a transport of your own around this one to do that).
///
/// Note that the client's checks still apply: replayed responses must match the
/// transaction's transactionID and nonces, so replaying only works with requests that
/// reproduce them (or with checks relaxed for testing).
///
/// ```
/// use cmp_client::transport::{MessageFiles, ReplayTransport, Transport};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/../cmp-proto/tests/fixtures/mac/ir/ip.der");
/// // As `openssl cmp -rspin ip.der`: the first request is answered with this file.
/// let mut replay = ReplayTransport::new(MessageFiles::list([fixture]));
/// let answer = replay.send(b"any request")?;
/// assert_eq!(answer, std::fs::read(fixture)?);
/// assert!(replay.send(b"a second request").is_err(), "no more files");
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ReplayTransport {
    rspin: MessageFiles,
    reqout: MessageFiles,
    requests: usize,
}

impl ReplayTransport {
    /// Answers the n-th request with the n-th file of `rspin`.
    pub fn new(rspin: MessageFiles) -> Self {
        Self {
            rspin,
            reqout: MessageFiles::none(),
            requests: 0,
        }
    }

    /// Also writes each request to `reqout` (the n-th request to the n-th file).
    pub fn with_reqout(mut self, reqout: MessageFiles) -> Self {
        self.reqout = reqout;
        self
    }

    /// How many requests have been answered or attempted so far.
    pub fn requests(&self) -> usize {
        self.requests
    }
}

impl Transport for ReplayTransport {
    fn send(&mut self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
        let index = self.requests;
        self.requests += 1;
        self.reqout.write(index, "request", request)?;
        let number = index + 1;
        let Some(path) = self.rspin.path(index) else {
            let reason = match &self.rspin.0 {
                Files::List(paths) => format!(
                    "replay ran out of responses: {} response file(s) given, none for request {number}",
                    paths.len()
                ),
                _ => "replay has no response files".to_owned(),
            };
            return Err(TransportError::Config { reason });
        };
        fs::read(&path).map_err(|e| match (&self.rspin.0, e.kind()) {
            (Files::Numbered { .. }, ErrorKind::NotFound) => TransportError::Config {
                reason: format!(
                    "replay ran out of responses: {} does not exist (request {number})",
                    path.display()
                ),
            },
            _ => file_error(&path, "cannot read recorded response", &e),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openssl_list_syntax() {
        let files = MessageFiles::parse_list("a.der, b.der c.der,,\td.der ");
        assert_eq!(
            files,
            MessageFiles::list(["a.der", "b.der", "c.der", "d.der"])
        );
        assert_eq!(files.path(3), Some(PathBuf::from("d.der")));
        assert_eq!(files.path(4), None);
        assert_eq!(
            MessageFiles::parse_list(" , "),
            MessageFiles::list(Vec::<PathBuf>::new())
        );
    }

    #[test]
    fn numbered_paths_start_at_one() {
        let files = MessageFiles::numbered("dir", "rsp-");
        assert_eq!(files.path(0), Some(Path::new("dir").join("rsp-001.der")));
        assert_eq!(
            files.path(1233),
            Some(Path::new("dir").join("rsp-1234.der"))
        );
        assert_eq!(MessageFiles::none().path(0), None);
    }
}
