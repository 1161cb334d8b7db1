//! The origin's raw TCP server, for answers axum would not send: `/declared-huge` (declares
//! 40 MB, sends 16 bytes), `/eof-stream/{n}` (no Content-Length, closes at the end),
//! `/lying-small/{n}` (declares 1000 bytes, sends `n`).

use std::io;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::routes::png_chunk;

/// Binds a loopback port, serves it in the background; returns `http://127.0.0.1:PORT`.
pub(super) async fn start() -> io::Result<String> {
    let raw = TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", raw.local_addr()?);
    tokio::spawn(async move {
        while let Ok((stream, _)) = raw.accept().await {
            tokio::spawn(serve(stream));
        }
    });
    Ok(base)
}

async fn serve(mut stream: TcpStream) {
    let mut buf = vec![0u8; 4096];
    let mut read = 0;
    while !buf[..read].windows(4).any(|w| w == b"\r\n\r\n") && read < buf.len() {
        match stream.read(&mut buf[read..]).await {
            Ok(0) | Err(_) => return,
            Ok(n) => read += n,
        }
    }
    let request = String::from_utf8_lossy(&buf[..read]).to_string();
    let path = request.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let number = |prefix: &str| {
        path.strip_prefix(prefix)
            .and_then(|n| n.parse::<usize>().ok())
    };
    let (head, body_len) = if path == "/declared-huge" {
        (
            "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 40000000\r\n\r\n"
                .to_owned(),
            16,
        )
    } else if let Some(n) = number("/eof-stream/") {
        (
            "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nConnection: close\r\n\r\n".to_owned(),
            n,
        )
    } else if let Some(n) = number("/lying-small/") {
        ("HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n".to_owned(), n)
    } else {
        (
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_owned(),
            0,
        )
    };
    if stream.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    let mut sent = 0;
    while sent < body_len {
        let len = (body_len - sent).min(64 * 1024);
        if stream.write_all(&png_chunk(sent, len)).await.is_err() {
            return;
        }
        sent += len;
    }
    let _ = stream.shutdown().await;
}
