use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Instant;

use super::*;

/// Serves `body` at `/mnist/<file>` (and 404 elsewhere) on a loopback port for `requests`
/// requests; returns the mirror URL.
fn serve(file: &'static str, body: &'static [u8], requests: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(requests) {
            let mut stream = stream.unwrap();
            let mut request = Vec::new();
            let mut buffer = [0; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buffer) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend(&buffer[..n]),
                }
            }
            let wanted = format!("GET /mnist/{file} ");
            let (status, body) = if request.starts_with(wanted.as_bytes()) {
                ("200 OK", body)
            } else {
                ("404 Not Found", &b""[..])
            };
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream
                .write_all(head.as_bytes())
                .and_then(|()| stream.write_all(body));
        }
    });
    format!("http://{address}/mnist/")
}

fn md5_hex(bytes: &[u8]) -> String {
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn downloads_check_the_md5_and_cache_the_file() {
    const BODY: &[u8] = b"not really gzip, but the checksum is what counts here";
    let dir = tempfile::tempdir().unwrap();
    let md5 = md5_hex(BODY);
    let missing = format!("http://{}/elsewhere/", host(&serve("x.gz", BODY, 1)));
    let mirror = serve("x.gz", BODY, 1);
    fetch(dir.path(), &[&("x", md5.as_str())], &[&missing, &mirror]).unwrap();
    assert_eq!(std::fs::read(dir.path().join("x.gz")).unwrap(), BODY);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no partial file left"
    );
}

#[test]
fn a_checksum_mismatch_is_refused_and_nothing_is_cached() {
    let dir = tempfile::tempdir().unwrap();
    let mirror = serve("x.gz", b"tampered", 1);
    let error = fetch(
        dir.path(),
        &[&("x", "f68b3c2dcbeaaa9fbdd348bbdeb94873")],
        &[&mirror],
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("checksum mismatch"), "{error}");
    assert!(
        error.contains("expected f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        "{error}"
    );
    assert!(!dir.path().join("x.gz").exists());
}

#[test]
fn every_mirror_gets_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let mirror = serve("x.gz", b"", 1);
    let start = Instant::now();
    let error = fetch(
        dir.path(),
        &[&("y", "0")],
        &[&mirror, "http://127.0.0.1:1/"],
    )
    .unwrap_err()
    .to_string();
    let first = format!("{}: HTTP 404 Not Found; 127.0.0.1:1: ", host(&mirror));
    assert!(error.starts_with(&first), "{error}");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "an unreachable mirror fails fast"
    );
}

#[test]
fn hosts_are_shown_without_credentials() {
    assert_eq!(host(MIRRORS[0]), "ossci-datasets.s3.amazonaws.com");
    assert_eq!(
        host("https://user:secret@mirror.lan:8080/mnist"),
        "mirror.lan:8080"
    );
    assert_eq!(url("http://a/b", "c.gz"), "http://a/b/c.gz");
    assert_eq!(url("http://a/b/", "c.gz"), "http://a/b/c.gz");
}
