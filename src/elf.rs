//! The libraries a shared library links against (`DT_NEEDED`), read from its ELF file.
//!
//! ONNX Runtime's CUDA and TensorRT providers are separate libraries that link against
//! cuBLAS, cuDNN, the CUDA runtime or TensorRT, each at one major version (`libcudnn.so.9`,
//! `libcublasLt.so.13`, `libnvinfer.so.10`). Reading their dynamic section tells exactly
//! which files a provider needs, whatever CUDA version the build was made for, so
//! `anylabel doctor` and the backend checks name the missing one before ONNX Runtime
//! fails to load it. Only 64-bit little-endian ELF (Linux x86-64 and aarch64) is read.

use std::path::Path;

use anyhow::{Result, anyhow, bail};

const SHT_DYNAMIC: u32 = 6;
const DT_NULL: u64 = 0;
const DT_NEEDED: u64 = 1;

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}
fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// The `DT_NEEDED` names of an ELF file held in `bytes`, in the file's order.
pub fn needed_from_bytes(bytes: &[u8]) -> Result<Vec<String>> {
    if bytes.get(..4) != Some(b"\x7fELF") {
        bail!("not an ELF file");
    }
    if bytes.get(4) != Some(&2) || bytes.get(5) != Some(&1) {
        bail!("not a 64-bit little-endian ELF file");
    }
    let bad = || anyhow!("a damaged ELF file");
    let shoff = u64_at(bytes, 0x28).ok_or_else(bad)? as usize;
    let shentsize = u16_at(bytes, 0x3A).ok_or_else(bad)? as usize;
    let shnum = u16_at(bytes, 0x3C).ok_or_else(bad)? as usize;
    let section = |i: usize| -> Option<(u32, u32, usize, usize)> {
        let s = shoff.checked_add(i.checked_mul(shentsize)?)?;
        // sh_type, sh_link, sh_offset, sh_size
        Some((
            u32_at(bytes, s + 4)?,
            u32_at(bytes, s + 40)?,
            u64_at(bytes, s + 24)? as usize,
            u64_at(bytes, s + 32)? as usize,
        ))
    };
    let mut names = Vec::new();
    for i in 0..shnum {
        let (kind, link, offset, size) = section(i).ok_or_else(bad)?;
        if kind != SHT_DYNAMIC {
            continue;
        }
        let (_, _, str_off, str_size) = section(link as usize).ok_or_else(bad)?;
        let strtab = bytes
            .get(str_off..str_off.saturating_add(str_size))
            .ok_or_else(bad)?;
        let mut at = offset;
        while at + 16 <= offset + size {
            let tag = u64_at(bytes, at).ok_or_else(bad)?;
            let val = u64_at(bytes, at + 8).ok_or_else(bad)? as usize;
            at += 16;
            if tag == DT_NULL {
                break;
            }
            if tag == DT_NEEDED {
                let rest = strtab.get(val..).ok_or_else(bad)?;
                let end = rest.iter().position(|&b| b == 0).ok_or_else(bad)?;
                names.push(String::from_utf8_lossy(&rest[..end]).into_owned());
            }
        }
    }
    Ok(names)
}

/// The `DT_NEEDED` names of the shared library at `path`.
pub fn needed(path: &Path) -> Result<Vec<String>> {
    let bytes = std::fs::read(path).map_err(|e| anyhow!("cannot read {}: {e}", path.display()))?;
    needed_from_bytes(&bytes).map_err(|e| anyhow!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_a_system_library_links_against() {
        if !cfg!(all(target_os = "linux", target_pointer_width = "64")) {
            return;
        }
        // libm links against libc on every glibc system.
        let candidates = [
            "/lib/x86_64-linux-gnu/libm.so.6",
            "/usr/lib/x86_64-linux-gnu/libm.so.6",
            "/lib/aarch64-linux-gnu/libm.so.6",
            "/usr/lib64/libm.so.6",
        ];
        let Some(lib) = candidates.iter().map(Path::new).find(|p| p.is_file()) else {
            eprintln!("skipped: no libm.so.6 in the usual places");
            return;
        };
        let names = needed(lib).unwrap();
        assert!(names.iter().any(|n| n.starts_with("libc.so")), "{names:?}");
    }

    #[test]
    fn refuses_what_is_not_elf() {
        assert!(needed_from_bytes(b"not elf").is_err());
        assert!(needed_from_bytes(b"\x7fELF\x01\x01").is_err());
        // Truncated: a header that points past the end.
        let mut b = b"\x7fELF\x02\x01\x01".to_vec();
        b.resize(0x40, 0);
        b[0x28] = 0xff;
        b[0x3C] = 1;
        b[0x3A] = 64;
        assert!(needed_from_bytes(&b).is_err());
    }
}
