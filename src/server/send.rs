//! Writing an answer whose body is a window of a mapped file (`blob::mapped`) without copying
//! it through the process: the window goes to the socket with `sendfile`, from the open file,
//! and the bytes queued before it (the answer's head) with `sendmsg` and `MSG_MORE`, so that
//! they leave in one segment with the file's first bytes. Writes with no such window are left
//! to the socket's own `writev`.

use std::io::{self, IoSlice};
use std::task::{Context, Poll, ready};

use rustix::net::{SendAncillaryBuffer, SendFlags};
use tokio::io::Interest;
use tokio::net::TcpStream;

use crate::blob::mapped::region_of;

/// Writes the first of `bufs` that lies in a mapped file, or the buffers before it; `None`
/// when none lies in one. Like any write, it may take fewer bytes than offered.
pub(super) fn poll_write_mapped(
    stream: &TcpStream,
    cx: &mut Context<'_>,
    bufs: &[IoSlice<'_>],
) -> Option<Poll<io::Result<usize>>> {
    let (first, (file, offset)) = bufs
        .iter()
        .enumerate()
        .find_map(|(i, buf)| region_of(buf).map(|region| (i, region)))?;
    if first > 0 {
        let head = &bufs[..first];
        return Some(poll_io(stream, cx, || {
            let flags = SendFlags::MORE | SendFlags::NOSIGNAL;
            Ok(rustix::net::sendmsg(
                stream,
                head,
                &mut SendAncillaryBuffer::default(),
                flags,
            )?)
        }));
    }
    let len = bufs[0].len();
    Some(poll_io(stream, cx, || {
        let mut at = offset;
        match rustix::fs::sendfile(stream, file.fd(), Some(&mut at), len)? {
            // The file is shorter than its mapping: it was cut behind the server's back.
            0 => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "a stored file ended before its length",
            )),
            sent => Ok(sent),
        }
    }))
}

/// Runs `op` once the socket is writable, until it does not find it full.
fn poll_io(
    stream: &TcpStream,
    cx: &mut Context<'_>,
    mut op: impl FnMut() -> io::Result<usize>,
) -> Poll<io::Result<usize>> {
    loop {
        ready!(stream.poll_write_ready(cx))?;
        match stream.try_io(Interest::WRITABLE, &mut op) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            result => return Poll::Ready(result),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::poll_fn;
    use tokio::io::AsyncReadExt;

    use crate::blob::ObjectBlobStore;
    use crate::blob::{BlobStore, object_key};

    /// A connected pair: the server's end and the client's.
    async fn pair() -> (TcpStream, TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let client = TcpStream::connect(listener.local_addr().expect("addr"));
        let (client, accepted) = tokio::join!(client, listener.accept());
        (accepted.expect("accept").0, client.expect("connect"))
    }

    /// A local store holding `content`, and the windows of its content answer.
    async fn stored(content: &[u8]) -> (tempfile::TempDir, Vec<bytes::Bytes>, std::path::PathBuf) {
        use futures_util::TryStreamExt;
        let dir = tempfile::tempdir().expect("dir");
        let sha = format!("{:064x}", 1);
        let store = ObjectBlobStore::open_with(
            &format!("file://{}", dir.path().display()),
            &crate::blob::StoreOptions::default(),
        )
        .expect("store");
        let path = dir.path().join(object_key(&sha));
        std::fs::create_dir_all(path.parent().expect("parent")).expect("dirs");
        std::fs::write(&path, content).expect("write");
        let windows = store
            .content_stream(&sha, None)
            .await
            .expect("open")
            .try_collect()
            .await
            .expect("windows");
        (dir, windows, path)
    }

    /// Writes `bufs` through `poll_write_mapped` (or the socket's own write where it declines)
    /// until all are written, as hyper's flush does.
    async fn write_all(stream: &TcpStream, bufs: &[&[u8]]) -> io::Result<usize> {
        let mut slices: Vec<&[u8]> = bufs.to_vec();
        let mut mapped_writes = 0;
        while !slices.is_empty() {
            let iov: Vec<IoSlice<'_>> = slices.iter().map(|s| IoSlice::new(s)).collect();
            let n = poll_fn(|cx| match poll_write_mapped(stream, cx, &iov) {
                Some(polled) => {
                    if polled.is_ready() {
                        mapped_writes += 1;
                    }
                    polled
                }
                None => loop {
                    ready!(stream.poll_write_ready(cx))?;
                    match stream.try_write_vectored(&iov) {
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        result => return Poll::Ready(result),
                    }
                },
            })
            .await?;
            assert!(n > 0, "a write took nothing");
            let mut left = n;
            while let Some(first) = slices.first_mut() {
                if left < first.len() {
                    *first = &first[left..];
                    break;
                }
                left -= first.len();
                slices.remove(0);
            }
        }
        Ok(mapped_writes)
    }

    #[tokio::test]
    async fn a_head_and_a_mapped_body_arrive_whole_and_in_order() {
        // Larger than the socket's buffers, so that sendfile finds them full and waits.
        let content: Vec<u8> = (0..9_000_000u32).map(|i| (i % 253) as u8).collect();
        let (_dir, windows, _) = stored(&content).await;
        assert!(windows.len() > 1);
        let (server, mut client) = pair().await;
        let head = b"HTTP/1.1 200 OK\r\ncontent-length: 9000000\r\n\r\n".to_vec();
        let expected = [head.clone(), content.clone()].concat();
        let reader = tokio::spawn(async move {
            let mut got = vec![0u8; expected.len()];
            client.read_exact(&mut got).await.expect("read");
            got == expected
        });
        let mut bufs: Vec<&[u8]> = vec![&head];
        bufs.extend(windows.iter().map(|w| &w[..]));
        let mapped_writes = write_all(&server, &bufs).await.expect("write");
        assert!(
            mapped_writes >= windows.len(),
            "every window went by sendfile"
        );
        assert!(
            reader.await.expect("reader"),
            "the bytes arrived as written"
        );
    }

    #[tokio::test]
    async fn plain_memory_is_left_to_the_socket() {
        let (server, _client) = pair().await;
        let plain = vec![1u8; 100];
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        assert!(poll_write_mapped(&server, &mut cx, &[IoSlice::new(&plain)]).is_none());
    }

    #[tokio::test]
    async fn a_file_cut_behind_the_server_is_an_error_not_a_short_answer() {
        let content = vec![5u8; 64 * 1024];
        let (_dir, windows, path) = stored(&content).await;
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_len(0))
            .expect("cut");
        let (server, _client) = pair().await;
        let bufs: Vec<&[u8]> = windows.iter().map(|w| &w[..]).collect();
        let written = write_all(&server, &bufs).await;
        assert!(
            matches!(&written, Err(e) if e.kind() == io::ErrorKind::UnexpectedEof),
            "{written:?}"
        );
    }
}
