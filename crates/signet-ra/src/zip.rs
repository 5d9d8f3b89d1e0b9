//! A minimal ZIP writer (APPNOTE 6.3.10): stored (uncompressed) entries,
//! for the result bundles of batches. Sizes and offsets stay 32-bit (4 GiB);
//! more than 65,535 entries get the ZIP64 end records (§4.3.14, §4.3.15),
//! which a 100,000-row batch needs. PEM and CSV compress well,
//! but stored entries need no compression library and every unzip tool
//! reads them.

use crc::{CRC_32_ISO_HDLC, Crc, Table};

use crate::error::RaError;

/// Slice-by-16 tables: several times faster than one table on the tens of
/// megabytes of a large batch's result.
const CRC32: Crc<u32, Table<16>> = Crc::<u32, Table<16>>::new(&CRC_32_ISO_HDLC);

/// Builds a ZIP file in memory.
#[derive(Debug, Default)]
pub(crate) struct ZipWriter {
    out: Vec<u8>,
    central: Vec<u8>,
    entries: u64,
}

fn u16_of(n: usize) -> Result<u16, RaError> {
    u16::try_from(n).map_err(|_| RaError::internal("ZIP entry too large"))
}

fn u32_of(n: usize) -> Result<u32, RaError> {
    u32::try_from(n).map_err(|_| RaError::internal("ZIP too large (no ZIP64)"))
}

impl ZipWriter {
    /// Adds file `name` (`/`-separated) with `data`.
    pub fn add(&mut self, name: &str, data: &[u8]) -> Result<(), RaError> {
        let crc = CRC32.checksum(data);
        let size = u32_of(data.len())?;
        let offset = u32_of(self.out.len())?;
        let name_len = u16_of(name.len())?;
        // §4.3.7 local file header: version 1.0, UTF-8 names (bit 11),
        // method 0 (stored), DOS time/date 1980-01-01 00:00.
        let mut local = Vec::with_capacity(30 + name.len());
        local.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        local.extend_from_slice(&10u16.to_le_bytes());
        local.extend_from_slice(&0x0800u16.to_le_bytes());
        local.extend_from_slice(&0u16.to_le_bytes());
        local.extend_from_slice(&0u16.to_le_bytes());
        local.extend_from_slice(&0x0021u16.to_le_bytes());
        local.extend_from_slice(&crc.to_le_bytes());
        local.extend_from_slice(&size.to_le_bytes());
        local.extend_from_slice(&size.to_le_bytes());
        local.extend_from_slice(&name_len.to_le_bytes());
        local.extend_from_slice(&0u16.to_le_bytes());
        local.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(&local);
        self.out.extend_from_slice(data);
        // §4.3.12 central directory header.
        let c = &mut self.central;
        c.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        c.extend_from_slice(&0x031eu16.to_le_bytes());
        c.extend_from_slice(&10u16.to_le_bytes());
        c.extend_from_slice(&0x0800u16.to_le_bytes());
        c.extend_from_slice(&0u16.to_le_bytes());
        c.extend_from_slice(&0u16.to_le_bytes());
        c.extend_from_slice(&0x0021u16.to_le_bytes());
        c.extend_from_slice(&crc.to_le_bytes());
        c.extend_from_slice(&size.to_le_bytes());
        c.extend_from_slice(&size.to_le_bytes());
        c.extend_from_slice(&name_len.to_le_bytes());
        c.extend_from_slice(&[0; 8]);
        // External attributes: a regular file, mode 0644.
        c.extend_from_slice(&(0o100_644u32 << 16).to_le_bytes());
        c.extend_from_slice(&offset.to_le_bytes());
        c.extend_from_slice(name.as_bytes());
        self.entries = self.entries.saturating_add(1);
        Ok(())
    }

    /// The finished file.
    pub fn finish(mut self) -> Result<Vec<u8>, RaError> {
        let start = u32_of(self.out.len())?;
        let size = u32_of(self.central.len())?;
        self.out.extend_from_slice(&self.central);
        // More entries than 16 bits count: the ZIP64 record holds the
        // count, the classic record says 0xFFFF ("see ZIP64").
        let entries = match u16::try_from(self.entries) {
            Ok(n) if n < u16::MAX => n,
            _ => {
                let record = u64::try_from(self.out.len())
                    .map_err(|_| RaError::internal("ZIP too large"))?;
                // §4.3.14 zip64 end of central directory record: size of
                // the rest (44), made by / needed version 4.5, disks 0.
                self.out.extend_from_slice(&0x0606_4b50u32.to_le_bytes());
                self.out.extend_from_slice(&44u64.to_le_bytes());
                self.out.extend_from_slice(&45u16.to_le_bytes());
                self.out.extend_from_slice(&45u16.to_le_bytes());
                self.out.extend_from_slice(&[0; 8]);
                self.out.extend_from_slice(&self.entries.to_le_bytes());
                self.out.extend_from_slice(&self.entries.to_le_bytes());
                self.out.extend_from_slice(&u64::from(size).to_le_bytes());
                self.out.extend_from_slice(&u64::from(start).to_le_bytes());
                // §4.3.15 zip64 end of central directory locator.
                self.out.extend_from_slice(&0x0706_4b50u32.to_le_bytes());
                self.out.extend_from_slice(&0u32.to_le_bytes());
                self.out.extend_from_slice(&record.to_le_bytes());
                self.out.extend_from_slice(&1u32.to_le_bytes());
                u16::MAX
            }
        };
        // §4.3.16 end of central directory record.
        self.out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        self.out.extend_from_slice(&[0; 4]);
        self.out.extend_from_slice(&entries.to_le_bytes());
        self.out.extend_from_slice(&entries.to_le_bytes());
        self.out.extend_from_slice(&size.to_le_bytes());
        self.out.extend_from_slice(&start.to_le_bytes());
        self.out.extend_from_slice(&0u16.to_le_bytes());
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unzip_reads_what_it_writes() {
        let mut z = ZipWriter::default();
        z.add("a/one.txt", b"hello").unwrap();
        z.add("two.csv", b"x,y\n1,2\n").unwrap();
        let bytes = z.finish().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.zip");
        std::fs::write(&path, &bytes).unwrap();
        let out = std::process::Command::new("unzip")
            .arg("-t")
            .arg(&path)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{text}");
        assert!(text.contains("No errors detected"), "{text}");
        // The CRC-32 of "hello" (a known vector).
        assert_eq!(CRC32.checksum(b"hello"), 0x3610_a686);
    }

    #[test]
    fn more_than_65535_entries_use_zip64() {
        let mut z = ZipWriter::default();
        for i in 0..70_000 {
            z.add(&format!("f/{i}.txt"), b"x").unwrap();
        }
        let bytes = z.finish().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.zip");
        std::fs::write(&path, &bytes).unwrap();
        let out = std::process::Command::new("unzip")
            .arg("-l")
            .arg(&path)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{text}");
        assert!(text.trim_end().ends_with("70000 files"), "{text}");
    }
}
