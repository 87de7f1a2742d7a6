//! The `.wandb` file's framing (wandb's `core/pkg/leveldb`): a 7-byte header (`:W&B`,
//! `0xBEE1` little-endian, version 0), then a LevelDB-style log in 32 KiB blocks counted
//! from offset 0. Each chunk is `u32 LE checksum, u16 LE length, u8 type` plus payload;
//! the checksum is plain CRC-32 (IEEE, as `zlib.crc32`) over the type byte and the payload,
//! not masked and not Castagnoli. A record too long for the rest of a block is split into
//! FIRST, MIDDLE…, LAST chunks; fewer than 7 bytes left in a block are zero-filled.

use std::io::{self, Write};

const BLOCK: usize = 32 * 1024;
const CHUNK_HEADER: usize = 7;
const FULL: u8 = 1;
const FIRST: u8 = 2;
const MIDDLE: u8 = 3;
const LAST: u8 = 4;

/// The first bytes of every `.wandb` file.
pub const FILE_HEADER: [u8; 7] = [b':', b'W', b'&', b'B', 0xE1, 0xBE, 0];

/// Appends framed records to `out`, which starts empty.
#[derive(Debug)]
pub struct Log<W: Write> {
    out: W,
    offset: usize,
}

impl<W: Write> Log<W> {
    pub fn new(mut out: W) -> io::Result<Log<W>> {
        out.write_all(&FILE_HEADER)?;
        Ok(Log {
            out,
            offset: FILE_HEADER.len(),
        })
    }

    /// Writes one record, split over blocks as needed.
    pub fn append(&mut self, payload: &[u8]) -> io::Result<()> {
        let mut rest = payload;
        let mut first = true;
        loop {
            let left = BLOCK - self.offset % BLOCK;
            if left < CHUNK_HEADER {
                self.out.write_all(&[0; CHUNK_HEADER][..left])?;
                self.offset += left;
                continue;
            }
            let (piece, after) = rest.split_at(rest.len().min(left - CHUNK_HEADER));
            let kind = match (first, after.is_empty()) {
                (true, true) => FULL,
                (true, false) => FIRST,
                (false, true) => LAST,
                (false, false) => MIDDLE,
            };
            self.chunk(kind, piece)?;
            if after.is_empty() {
                return Ok(());
            }
            first = false;
            rest = after;
        }
    }

    fn chunk(&mut self, kind: u8, piece: &[u8]) -> io::Result<()> {
        let mut crc = crc32fast::Hasher::new();
        crc.update(&[kind]);
        crc.update(piece);
        let mut header = [0u8; CHUNK_HEADER];
        header[..4].copy_from_slice(&crc.finalize().to_le_bytes());
        header[4..6].copy_from_slice(&(piece.len() as u16).to_le_bytes());
        header[6] = kind;
        self.out.write_all(&header)?;
        self.out.write_all(piece)?;
        self.offset += CHUNK_HEADER + piece.len();
        Ok(())
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    pub fn get_ref(&self) -> &W {
        &self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn unhex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn header_and_chunk_match_the_test_vector_of_formats_md() {
        let mut log = Log::new(Vec::new()).unwrap();
        log.append(&unhex("0801aa010d0a0b0a01781206302e34302e30"))
            .unwrap();
        assert_eq!(
            hex(log.get_ref()),
            "3a572642e1be00731d8f70120001\
             0801aa010d0a0b0a01781206302e34302e30"
        );
    }

    /// Splits the file back into records, checking what the framing promises.
    fn records(file: &[u8]) -> Vec<Vec<u8>> {
        let (mut records, mut open, mut at) = (Vec::new(), None::<Vec<u8>>, 7);
        while at < file.len() {
            let left = BLOCK - at % BLOCK;
            if left < CHUNK_HEADER {
                assert!(file[at..at + left].iter().all(|b| *b == 0));
                at += left;
                continue;
            }
            let crc = u32::from_le_bytes(file[at..at + 4].try_into().unwrap());
            let len = u16::from_le_bytes([file[at + 4], file[at + 5]]) as usize;
            let kind = file[at + 6];
            let body = &file[at + 7..at + 7 + len];
            assert!(at % BLOCK + 7 + len <= BLOCK, "chunk crosses a block");
            let mut check = crc32fast::Hasher::new();
            check.update(&[kind]);
            check.update(body);
            assert_eq!(crc, check.finalize());
            match (kind, open.as_mut()) {
                (FULL, None) => records.push(body.to_vec()),
                (FIRST, None) => open = Some(body.to_vec()),
                (MIDDLE, Some(buf)) => buf.extend_from_slice(body),
                (LAST, Some(buf)) => {
                    buf.extend_from_slice(body);
                    records.push(open.take().unwrap());
                }
                other => panic!("chunk type {} out of order", other.0),
            }
            at += 7 + len;
        }
        assert!(open.is_none());
        records
    }

    #[test]
    fn long_records_span_blocks_and_short_trailers_are_zero_filled() {
        let sizes = [10, 32_740, 0, 100_000, 5, 32_761, 1, 7];
        let payloads: Vec<Vec<u8>> = sizes
            .iter()
            .enumerate()
            .map(|(i, n)| (0..*n).map(|j| (i * 31 + j) as u8).collect())
            .collect();
        let mut log = Log::new(Vec::new()).unwrap();
        for payload in &payloads {
            log.append(payload).unwrap();
        }
        assert_eq!(records(log.get_ref()), payloads);
    }

    #[test]
    fn exactly_seven_bytes_left_get_an_empty_first_chunk() {
        let mut log = Log::new(Vec::new()).unwrap();
        // 7 (file header) + 7 + 32747 leaves exactly 7 bytes in block 0.
        log.append(&[1; 32_747]).unwrap();
        log.append(&[2; 3]).unwrap();
        let file = log.get_ref();
        assert_eq!(&file[BLOCK - 7 + 4..BLOCK], &[0, 0, FIRST]);
        assert_eq!(records(file), [vec![1; 32_747], vec![2; 3]]);
    }
}
