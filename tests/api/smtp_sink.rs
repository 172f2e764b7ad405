//! A small SMTP server for tests: speaks EHLO/MAIL/RCPT/DATA/RSET/NOOP/QUIT and keeps what it receives.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One received message.
#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

impl Mail {
    /// The `Subject` header, unfolded, its RFC 2047 words (`=?utf-8?b?…?=`) decoded.
    pub fn subject(&self) -> String {
        use base64::Engine;
        let mut lines = self.data.lines().skip_while(|line| !line.starts_with("Subject: "));
        let mut folded = lines.next().unwrap_or_default().trim_start_matches("Subject: ").to_owned();
        for continuation in lines.take_while(|line| line.starts_with(' ') || line.starts_with('\t')) {
            folded.push_str(continuation);
        }
        // Words are joined by a space, except two encoded words, whose whitespace RFC 2047 drops.
        let mut subject = String::new();
        let mut previous_encoded = false;
        for word in folded.split_whitespace() {
            let encoded = word.strip_prefix("=?utf-8?b?").and_then(|w| w.strip_suffix("?="));
            let decoded = encoded.and_then(|w| base64::engine::general_purpose::STANDARD.decode(w).ok());
            let joined_to_previous = previous_encoded && decoded.is_some();
            if !subject.is_empty() && !joined_to_previous {
                subject.push(' ');
            }
            previous_encoded = decoded.is_some();
            match decoded {
                Some(bytes) => subject.push_str(&String::from_utf8_lossy(&bytes)),
                None => subject.push_str(word),
            }
        }
        subject
    }
}

pub struct SmtpSink {
    pub port: u16,
    received: Arc<Mutex<Vec<Mail>>>,
}

impl SmtpSink {
    pub async fn start() -> Self {
        Self::start_on(0).await
    }

    pub async fn start_on(port: u16) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("bind SMTP sink");
        let port = listener.local_addr().expect("address").port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = received.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let store = store.clone();
                tokio::spawn(async move {
                    let _ = converse(socket, store).await;
                });
            }
        });
        Self { port, received }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}/?from=defectdojo@golemtrust.am", self.port)
    }

    /// Waits up to five seconds for `count` messages and returns what arrived.
    pub async fn wait_for(&self, count: usize) -> Vec<Mail> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let received = self.received.lock().expect("lock").clone();
            if received.len() >= count || Instant::now() > deadline {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

async fn converse(socket: tokio::net::TcpStream, store: Arc<Mutex<Vec<Mail>>>) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"220 sink.test ESMTP\r\n").await?;
    let mut mail = Mail { from: String::new(), to: Vec::new(), data: String::new() };
    while let Some(line) = lines.next_line().await? {
        let upper = line.to_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            b"250-sink.test\r\n250 8BITMIME\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            mail = Mail { from: address(&line), to: Vec::new(), data: String::new() };
            b"250 OK\r\n"
        } else if upper.starts_with("RCPT TO:") {
            mail.to.push(address(&line));
            b"250 OK\r\n"
        } else if upper == "DATA" {
            write.write_all(b"354 go ahead\r\n").await?;
            while let Some(data_line) = lines.next_line().await? {
                if data_line == "." {
                    break;
                }
                mail.data.push_str(&data_line);
                mail.data.push('\n');
            }
            store.lock().expect("lock").push(mail.clone());
            b"250 queued\r\n"
        } else if upper == "QUIT" {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            b"250 OK\r\n"
        };
        write.write_all(reply).await?;
    }
    Ok(())
}

fn address(line: &str) -> String {
    line.split_once('<').and_then(|(_, rest)| rest.split_once('>')).map(|(a, _)| a.to_owned()).unwrap_or_default()
}
