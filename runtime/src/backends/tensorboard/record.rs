//! TFRecord framing, as TensorBoard reads it: `u64` length, masked CRC-32C of the length,
//! the payload, masked CRC-32C of the payload (all little-endian).

use std::io::{self, Write};

/// TensorFlow's CRC mask: rotate right by 15 bits, add a constant.
pub fn masked_crc(data: &[u8]) -> u32 {
    let crc = crc32c::crc32c(data);
    crc.rotate_right(15).wrapping_add(0xA282_EAD8)
}

/// Writes one record holding `payload`.
pub fn write(out: &mut impl Write, payload: &[u8]) -> io::Result<()> {
    let length = (payload.len() as u64).to_le_bytes();
    let mut header = [0; 12];
    header[..8].copy_from_slice(&length);
    header[8..].copy_from_slice(&masked_crc(&length).to_le_bytes());
    out.write_all(&header)?;
    out.write_all(payload)?;
    out.write_all(&masked_crc(payload).to_le_bytes())
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::super::proto::{Event, Kind, Summary, SummaryValue, What};
    use super::*;

    fn framed(event: &Event) -> String {
        let mut out = Vec::new();
        write(&mut out, &event.encode_to_vec()).unwrap();
        out.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn crc_is_castagnoli_and_masked() {
        assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(masked_crc(b""), 0xA282_EAD8);
    }

    /// The records FORMATS.md gives, byte for byte as TensorBoard's own protobuf classes
    /// serialise them.
    #[test]
    fn records_match_the_reference_bytes() {
        let version = Event {
            wall_time: 1_700_000_000.0,
            step: 0,
            what: Some(What::FileVersion("brain.Event:2".into())),
        };
        assert_eq!(
            framed(&version),
            "1800000000000000a37f4b220900000040fc54d9411a0d627261696e2e4576656e743a32eced8f9d"
        );
        let loss = Event {
            wall_time: 1_700_000_000.0,
            step: 1,
            what: Some(What::Summary(Summary {
                value: vec![SummaryValue {
                    tag: "loss".into(),
                    kind: Some(Kind::SimpleValue(0.5)),
                    metadata: None,
                }],
            })),
        };
        assert_eq!(
            framed(&loss),
            "1a00000000000000129bd82d0900000040fc54d94110012a0d0a0b0a046c6f7373150000003f8db02e39"
        );
    }
}
