//! A report read on a blocking thread and handed to the import a batch at a time over a bounded channel, so
//! parsing overlaps with writing and memory holds a few batches, not the report.

use std::io::{BufReader, Read, Seek, SeekFrom};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::domain::scan_type::ScanType;
use crate::error::{ServiceError, ServiceResult};
use crate::scans::{self, ParseError, ParsedFinding};

/// Findings per batch, and batches read ahead of the import.
const BATCH: usize = 1_000;
const BATCHES_AHEAD: usize = 2;
/// The read buffer of the report file.
const READ_BUFFER: usize = 256 * 1024;

/// A report being read: its batches, then whether the whole file was valid.
pub struct Reading {
    batches: mpsc::Receiver<Vec<ParsedFinding>>,
    parser: JoinHandle<Result<(), ParseError>>,
}

impl Reading {
    /// Starts reading `file` (from its start) as a `scan_type` report, counting the bytes read in
    /// `bytes_read` (a progress display's figure).
    pub fn start(scan_type: ScanType, mut file: std::fs::File, bytes_read: Arc<AtomicU64>) -> Self {
        let (sender, batches) = mpsc::channel(BATCHES_AHEAD);
        let parser = tokio::task::spawn_blocking(move || {
            file.seek(SeekFrom::Start(0)).map_err(|err| ParseError::unreadable(scan_type, &err))?;
            let mut batch = Vec::with_capacity(BATCH);
            let mut taken = true;
            let counted = Counted { inner: file, bytes_read };
            scans::parse_each(scan_type, BufReader::with_capacity(READ_BUFFER, counted), &mut |finding| {
                batch.push(finding);
                if batch.len() == BATCH {
                    taken = sender.blocking_send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH))).is_ok();
                }
                taken
            })?;
            if taken && !batch.is_empty() {
                let _ = sender.blocking_send(batch);
            }
            Ok(())
        });
        Self { batches, parser }
    }

    /// The next batch; `None` once the report is read (then `finish` says whether it was valid).
    pub async fn next(&mut self) -> Option<Vec<ParsedFinding>> {
        self.batches.recv().await
    }

    /// Whether the whole report was valid: a bad file is a `BAD_USER_INPUT` naming the problem (and where).
    pub async fn finish(self) -> ServiceResult<()> {
        drop(self.batches);
        match self.parser.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => Err(ServiceError::bad_input(err.to_string())),
            Err(err) => Err(ServiceError::internal(err)),
        }
    }
}

/// Reads `file` through once without keeping anything: whether it is a valid `scan_type` report.
pub async fn validate(scan_type: ScanType, file: &std::fs::File) -> ServiceResult<()> {
    let file = file.try_clone().map_err(ServiceError::internal)?;
    let mut reading = Reading::start(scan_type, file, Arc::default());
    while reading.next().await.is_some() {}
    reading.finish().await
}

/// A reader that counts what it reads.
struct Counted<R> {
    inner: R,
    bytes_read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buffer)?;
        self.bytes_read.fetch_add(read as u64, Ordering::Relaxed);
        Ok(read)
    }
}
