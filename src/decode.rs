//! Reading one image file into packed RGB8 pixels, upright, or saying exactly why not.
//!
//! JPEGs are decoded by libjpeg-turbo (islow IDCT, fancy upsampling), the decoder OpenCV
//! and Pillow use, so the pixels, and therefore the scores, are the ones a Python pipeline
//! gets; other formats by the `image` crate. The format comes from the content, not the
//! name, so a PNG saved as `.jpg` is read as the PNG it is. EXIF orientation is applied (the boxes are in the pixels a viewer
//! shows), and grayscale, alpha, 16-bit and paletted images become 8-bit RGB the way
//! OpenCV's `imread(IMREAD_COLOR)` makes them (alpha dropped, not blended). Sizes are
//! checked from the header before any pixel is decoded, so a decompression bomb costs
//! nothing. A JPEG that stops before its end-of-image marker is an error, not a grey
//! half-picture.

use std::io::Cursor;
use std::path::Path;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

/// Pillow's limit (`2 × Image.MAX_IMAGE_PIXELS`): above it an image is refused unread.
pub const DEFAULT_MAX_PIXELS: u64 = 178_956_970;

/// An upright 8-bit RGB image.
#[derive(Debug, Clone)]
pub struct RgbImage {
    pub width: u32,
    pub height: u32,
    /// `width × height × 3` bytes, row by row.
    pub pixels: Vec<u8>,
    /// 1, or 2, 4 or 8 when a large JPEG was decoded at that fraction of its size
    /// ([`DecodeOptions::reduce_for`]): one pixel here covers `reduction` pixels of the
    /// image in each direction.
    pub reduction: u32,
    /// The size of the image itself, upright: `width × height` unless reduced.
    pub full_width: u32,
    pub full_height: u32,
}

impl RgbImage {
    /// An image decoded at its full size.
    pub fn full(width: u32, height: u32, pixels: Vec<u8>) -> RgbImage {
        RgbImage {
            width,
            height,
            pixels,
            reduction: 1,
            full_width: width,
            full_height: height,
        }
    }
}

/// Why an image could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    pub kind: DecodeErrorKind,
    /// A reason for a person to read, such as `truncated JPEG: ...`.
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeErrorKind {
    /// The file could not be read (permissions, a dangling link, an I/O error).
    Unreadable,
    /// The image is larger than `--max-pixels`: a property of the run, not of the file.
    OverLimit,
    /// The content is not a decodable image: the same bytes always fail the same way.
    Content,
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

impl From<&str> for DecodeError {
    fn from(reason: &str) -> DecodeError {
        reason.to_string().into()
    }
}

impl From<String> for DecodeError {
    fn from(reason: String) -> DecodeError {
        DecodeError {
            kind: DecodeErrorKind::Content,
            reason,
        }
    }
}

/// Limits on what is decoded, and how large.
#[derive(Debug, Clone, Copy)]
pub struct DecodeOptions {
    /// Images with more pixels than this are refused before decoding.
    pub max_pixels: u64,
    /// The `[width, height]` the image will be letterboxed into, if it is: a JPEG at least
    /// three times the letterboxed size is then decoded at 1/2, 1/4 or 1/8 of its size by
    /// libjpeg-turbo's scaled IDCT, the smallest of those that still leaves it at least
    /// 1.5 times the letterboxed size ([`jpeg_reduction`]).
    /// `None`: always full size, the pixels OpenCV's `imdecode` gives.
    pub reduce_for: Option<[u32; 2]>,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            max_pixels: DEFAULT_MAX_PIXELS,
            reduce_for: None,
        }
    }
}

/// The reduction (1, 2, 4 or 8) at which a `width × height` JPEG (upright) is decoded when
/// it will be letterboxed into `target` (`[width, height]`): the largest that keeps the
/// decoded image at least 1.5 times the size the letterbox resizes it to, in both
/// directions (what Pillow's `draft()` does, with a margin).
///
/// The margin keeps the bilinear resize that follows a real reduction (1.5× to 3×), which
/// blends neighbouring pixels; the IDCT's reduction itself averages each block, like an
/// area filter, where a direct bilinear resize of a 4000-pixel photo to 640 samples only
/// every sixth pixel. Images less than three times the letterboxed size, such as all the
/// fixtures, are never reduced, so their pixels stay those of OpenCV's `imdecode` +
/// `resize`.
pub fn jpeg_reduction(width: u32, height: u32, target: [u32; 2]) -> u32 {
    let gain = f64::min(
        target[0] as f64 / width as f64,
        target[1] as f64 / height as f64,
    );
    let mut d = 1;
    while d < 8 && 1.5 * (2 * d) as f64 * gain <= 1.0 {
        d *= 2;
    }
    d
}

/// Reads and decodes the file at `path`. The error is a reason for a person to read.
pub fn decode_file(path: &Path, opts: &DecodeOptions) -> Result<RgbImage, DecodeError> {
    decode_bytes(&read_file(path)?, opts)
}

/// Reads a file, with the error a record carries when it cannot be read. Only an ordinary
/// file is read: a named pipe would block the run forever and a link to `/dev/zero` would
/// fill the memory, so those are errors (the open does not wait for a pipe's writer).
pub fn read_file(path: &Path) -> Result<Vec<u8>, DecodeError> {
    use std::io::Read as _;
    use std::os::unix::fs::{FileTypeExt as _, OpenOptionsExt as _};
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| unreadable(&e))?;
    let meta = f.metadata().map_err(|e| unreadable(&e))?;
    let t = meta.file_type();
    if !t.is_file() {
        let what = if t.is_fifo() {
            "a named pipe"
        } else if t.is_char_device() {
            "a character device"
        } else if t.is_block_device() {
            "a block device"
        } else if t.is_socket() {
            "a socket"
        } else if t.is_dir() {
            "a folder"
        } else {
            "not an ordinary file"
        };
        return Err(DecodeError {
            kind: DecodeErrorKind::Unreadable,
            reason: format!("cannot read the file: it is {what}, not a file"),
        });
    }
    // An ordinary file: reads block again (a file system that answers "try again" to a
    // non-blocking read, as some network and FUSE ones do, is then waited for).
    {
        use std::os::fd::AsRawFd as _;
        let fd = f.as_raw_fd();
        // SAFETY: F_GETFL/F_SETFL on a descriptor this function owns.
        unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFL);
            if flags >= 0 {
                libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
            }
        }
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    f.read_to_end(&mut bytes).map_err(|e| unreadable(&e))?;
    Ok(bytes)
}

/// The error of a file that cannot be read.
pub fn unreadable(e: &std::io::Error) -> DecodeError {
    DecodeError {
        kind: DecodeErrorKind::Unreadable,
        reason: format!("cannot read the file: {}", io_reason(e)),
    }
}

/// Decodes an image held in memory.
pub fn decode_bytes(bytes: &[u8], opts: &DecodeOptions) -> Result<RgbImage, DecodeError> {
    if bytes.is_empty() {
        return Err("empty file (0 bytes)".to_string().into());
    }
    let format = match image::guess_format(bytes) {
        Ok(f) => f,
        // TGA has no signature at its start; the image crate does not guess it.
        Err(_) if looks_like_tga(bytes) => ImageFormat::Tga,
        Err(_) => return Err(unknown_format_reason(bytes).into()),
    };
    let name = format_name(format);
    if !format.reading_enabled() {
        return Err(format!(
            "unsupported image format: {name} (convert it to JPEG or PNG to label it)"
        )
        .into());
    }
    if format == ImageFormat::Jpeg {
        if !jpeg_is_complete(bytes) {
            return Err(
                "truncated JPEG: the data ends before the end-of-image marker"
                    .to_string()
                    .into(),
            );
        }
        match decode_jpeg(bytes, opts) {
            Ok(Some(img)) => return Ok(img),
            Ok(None) => {} // CMYK or YCCK: the image crate converts those
            Err(e) => return Err(e),
        }
    }

    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    // Enough for the largest allowed image at 16 bits per channel with alpha.
    limits.max_alloc = Some(opts.max_pixels.saturating_mul(8).max(512 << 20));
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(|e| decode_reason(name, &e))?;
    let (w, h) = decoder.dimensions();
    check_size(w, h, name, opts)?;
    let orientation = decoder.orientation().ok();
    let image = DynamicImage::from_decoder(decoder).map_err(|e| decode_reason(name, &e))?;
    let mut rgb = DynamicImage::ImageRgb8(to_rgb8(image));
    if let Some(o) = orientation {
        rgb.apply_orientation(o);
    }
    let rgb = rgb.into_rgb8();
    Ok(RgbImage::full(rgb.width(), rgb.height(), rgb.into_raw()))
}

/// A JPEG's EXIF orientation, where its APP1 marker has one.
fn exif_orientation<R>(d: &mozjpeg::Decompress<R>) -> Option<image::metadata::Orientation> {
    d.markers()
        .filter(|m| m.marker == mozjpeg::Marker::APP(1))
        .find_map(|m| {
            m.data
                .strip_prefix(b"Exif\0\0")
                .and_then(image::metadata::Orientation::from_exif_chunk)
        })
}

/// Whether a JPEG's orientation turns it a quarter (5 to 8): its upright size is h × w.
fn turns(o: Option<image::metadata::Orientation>) -> bool {
    use image::metadata::Orientation as O;
    o.is_some_and(|o| {
        matches!(
            o,
            O::Rotate90 | O::Rotate270 | O::Rotate90FlipH | O::Rotate270FlipH
        )
    })
}

/// libjpeg-turbo's reader of a JPEG, its header read (APP1 markers kept, for EXIF), and its
/// size, within `--max-pixels`.
fn read_header<'a>(
    bytes: &'a [u8],
    opts: &DecodeOptions,
) -> Result<(mozjpeg::Decompress<&'a [u8]>, u32, u32), DecodeError> {
    let d = mozjpeg::Decompress::with_markers(&[mozjpeg::Marker::APP(1)])
        .from_mem(bytes)
        .map_err(|e| format!("corrupt JPEG: {e}"))?;
    let (w, h) = (d.width() as u32, d.height() as u32);
    check_size(w, h, "JPEG", opts)?;
    Ok((d, w, h))
}

/// Runs `f` on libjpeg-turbo's reading of `bytes`, with its fatal errors (which unwind)
/// turned into `corrupt JPEG: …` reasons.
fn with_libjpeg<T>(f: impl FnOnce() -> Result<T, DecodeError>) -> Result<T, DecodeError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(result) => result,
        // libjpeg reports fatal errors by unwinding with its message.
        Err(panic) => {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "the decoder failed".to_string());
            Err(format!("corrupt JPEG: {}", msg.trim()).into())
        }
    }
}

/// `Some((width, height))` where `bytes` is a JPEG that nvJPEG can decode to exactly
/// what the image is ([`crate::gpu::jpeg`]): complete, three-component YCbCr (not RGB,
/// grayscale, CMYK or YCCK), upright (no EXIF orientation but the normal one), within
/// `--max-pixels`, and not one that `opts` has decoded reduced. `None` for everything
/// else, which is decoded on the CPU (and gets its error there, if it has one).
pub fn jpeg_for_gpu(bytes: &[u8], opts: &DecodeOptions) -> Option<(u32, u32)> {
    use mozjpeg::ColorSpace;
    if image::guess_format(bytes).ok() != Some(ImageFormat::Jpeg) || !jpeg_is_complete(bytes) {
        return None;
    }
    with_libjpeg(|| {
        let (d, w, h) = read_header(bytes, opts)?;
        let orientation = exif_orientation(&d);
        let upright = orientation.is_none_or(|o| o == image::metadata::Orientation::NoTransforms);
        // YCbCr only: nvJPEG converts colour as YCbCr, and an RGB JPEG (Adobe transform
        // 0) is not.
        let colour = d.color_space() == ColorSpace::JCS_YCbCr;
        let reduced = opts.reduce_for.is_some_and(|t| jpeg_reduction(w, h, t) > 1);
        Ok((upright && colour && !reduced).then_some((w, h)))
    })
    .ok()
    .flatten()
}

/// Decodes a JPEG with libjpeg-turbo and applies its EXIF orientation. `Ok(None)` for
/// colour spaces libjpeg does not convert to RGB (CMYK, YCCK).
fn decode_jpeg(bytes: &[u8], opts: &DecodeOptions) -> Result<Option<RgbImage>, DecodeError> {
    use mozjpeg::ColorSpace;
    with_libjpeg(|| {
        let (d, w, h) = read_header(bytes, opts)?;
        if matches!(d.color_space(), ColorSpace::JCS_CMYK | ColorSpace::JCS_YCCK) {
            return Ok(None);
        }
        let orientation = exif_orientation(&d);
        let (full_w, full_h) = if turns(orientation) { (h, w) } else { (w, h) };
        let reduction = opts
            .reduce_for
            .map_or(1, |t| jpeg_reduction(full_w, full_h, t));
        let mut d = d;
        if reduction > 1 {
            d.scale((8 / reduction) as u8);
        }
        let mut started = d.rgb().map_err(|e| format!("corrupt JPEG: {e}"))?;
        let (dw, dh) = (started.width() as u32, started.height() as u32);
        let pixels: Vec<u8> = started
            .read_scanlines()
            .map_err(|e| format!("corrupt JPEG: {e}"))?;
        started.finish().map_err(|e| format!("corrupt JPEG: {e}"))?;
        let rgb = image::RgbImage::from_raw(dw, dh, pixels)
            .ok_or("corrupt JPEG: fewer rows than its header says")?;
        let mut img = DynamicImage::ImageRgb8(rgb);
        if let Some(o) = orientation {
            img.apply_orientation(o);
        }
        let rgb = img.into_rgb8();
        Ok(Some(RgbImage {
            width: rgb.width(),
            height: rgb.height(),
            pixels: rgb.into_raw(),
            reduction,
            full_width: full_w,
            full_height: full_h,
        }))
    })
}

/// Refuses an image of `w × h` over `--max-pixels` (and one the header of `name` says is
/// empty). Also asked of images the cache knows, whose file is not decoded again.
pub(crate) fn check_size(
    w: u32,
    h: u32,
    name: &str,
    opts: &DecodeOptions,
) -> Result<(), DecodeError> {
    let pixels = w as u64 * h as u64;
    if pixels > opts.max_pixels {
        // Megapixels to one decimal, or pixels under a limit that would show as 0.0.
        let amount = |n: u64| {
            if opts.max_pixels >= 1_000_000 {
                format!("{:.1} megapixels", n as f64 / 1e6)
            } else {
                format!("{n} pixels")
            }
        };
        return Err(DecodeError {
            kind: DecodeErrorKind::OverLimit,
            reason: format!(
                "image is {w}×{h} ({}), over the limit of {}; raise --max-pixels to read it",
                amount(pixels),
                amount(opts.max_pixels)
            ),
        });
    }
    if pixels == 0 {
        return Err(format!("corrupt {name}: the header says the image is {w}×{h}").into());
    }
    Ok(())
}

/// 8-bit RGB without copying when the image already is.
fn to_rgb8(image: DynamicImage) -> image::RgbImage {
    match image {
        DynamicImage::ImageRgb8(rgb) => rgb,
        // 16-bit to 8-bit as OpenCV's imread does it (libpng's strip_16): the high byte.
        DynamicImage::ImageRgb16(_)
        | DynamicImage::ImageRgba16(_)
        | DynamicImage::ImageLuma16(_)
        | DynamicImage::ImageLumaA16(_) => {
            let rgb16 = image.into_rgb16();
            let (w, h) = rgb16.dimensions();
            let raw: Vec<u8> = rgb16
                .into_raw()
                .into_iter()
                .map(|v| (v >> 8) as u8)
                .collect();
            image::RgbImage::from_raw(w, h, raw).expect("size is unchanged")
        }
        other => other.into_rgb8(),
    }
}

fn format_name(f: ImageFormat) -> &'static str {
    match f {
        ImageFormat::Jpeg => "JPEG",
        ImageFormat::Png => "PNG",
        ImageFormat::Gif => "GIF",
        ImageFormat::WebP => "WebP",
        ImageFormat::Tiff => "TIFF",
        ImageFormat::Bmp => "BMP",
        ImageFormat::Pnm => "PNM",
        ImageFormat::Tga => "TGA",
        ImageFormat::Ico => "ICO",
        ImageFormat::Avif => "AVIF",
        ImageFormat::OpenExr => "OpenEXR",
        ImageFormat::Hdr => "Radiance HDR",
        ImageFormat::Dds => "DDS",
        ImageFormat::Farbfeld => "Farbfeld",
        ImageFormat::Qoi => "QOI",
        _ => "image",
    }
}

/// Whether `b` is a TGA file: the TGA 2.0 footer (`TRUEVISION-XFILE.\0`, which Pillow and
/// GIMP write), or else a header that holds together: a colour map type of 0 or 1, an image
/// type the format has (colour-mapped, true-colour or grey, raw or run-length), a pixel
/// depth it has, a size that is not empty, and the descriptor's two reserved bits clear.
fn looks_like_tga(b: &[u8]) -> bool {
    if b.ends_with(b"TRUEVISION-XFILE.\0") {
        return true;
    }
    let Some(h) = b.get(..18) else {
        return false;
    };
    let width = u16::from_le_bytes([h[12], h[13]]);
    let height = u16::from_le_bytes([h[14], h[15]]);
    matches!(h[1], 0 | 1)
        && matches!(h[2], 1 | 2 | 3 | 9 | 10 | 11)
        && matches!(h[16], 8 | 15 | 16 | 24 | 32)
        && width > 0
        && height > 0
        && h[17] & 0xC0 == 0
        && (h[1] == 1 || h[3..8].iter().all(|&x| x == 0))
}

/// Names formats that `image` does not sniff, so the reason says what the file is.
fn unknown_format_reason(b: &[u8]) -> String {
    let brand =
        |brands: &[&[u8]]| b.len() >= 12 && &b[4..8] == b"ftyp" && brands.contains(&&b[8..12]);
    let what = if brand(&[
        b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1",
    ]) {
        Some("HEIC/HEIF")
    } else if brand(&[b"avif", b"avis"]) {
        Some("AVIF")
    } else if b.starts_with(&[0xFF, 0x0A]) || b.starts_with(b"\0\0\0\x0CJXL \r\n\x87\n") {
        Some("JPEG XL")
    } else if b.starts_with(b"8BPS") {
        Some("Photoshop PSD")
    } else if b.starts_with(b"%PDF") {
        Some("PDF")
    } else {
        None
    };
    match what {
        Some(name) => {
            format!("unsupported image format: {name} (convert it to JPEG or PNG to label it)")
        }
        None => "not an image: the content is not JPEG, PNG, WebP, GIF, BMP, TIFF, PNM, TGA or ICO"
            .to_string(),
    }
}

fn decode_reason(name: &str, e: &image::ImageError) -> String {
    use image::ImageError as E;
    match e {
        E::Limits(l) => format!("{name} is too large to decode: {l}"),
        E::Unsupported(u) => format!("unsupported {name} variant: {u}"),
        E::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            format!("truncated {name}: the data ends too early")
        }
        E::Decoding(d) => {
            let text = d.to_string();
            if text.contains("EOF") || text.contains("eof") || text.contains("end of file") {
                format!("truncated {name}: {text}")
            } else {
                format!("corrupt {name}: {text}")
            }
        }
        other => format!("corrupt {name}: {other}"),
    }
}

fn io_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    // "Permission denied (os error 13)" reads better without the number.
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// Whether a JPEG's marker structure reaches its end-of-image marker. Walks the segments
/// and skips entropy-coded data (stuffed `FF 00` and restart markers), so data appended
/// after the image (motion photos, vendor trailers) does not matter.
pub fn jpeg_is_complete(b: &[u8]) -> bool {
    let n = b.len();
    if n < 2 || b[0] != 0xFF || b[1] != 0xD8 {
        return true; // not a JPEG stream we can reason about: leave it to the decoder
    }
    let be16 = |i: usize| -> Option<usize> {
        (i + 1 < n).then(|| ((b[i] as usize) << 8) | b[i + 1] as usize)
    };
    let mut i = 2;
    loop {
        while i < n && b[i] != 0xFF {
            i += 1;
        }
        while i < n && b[i] == 0xFF {
            i += 1;
        }
        if i >= n {
            return false;
        }
        let marker = b[i];
        i += 1;
        match marker {
            0xD9 => return true,
            0xD0..=0xD7 | 0x01 => {}
            _ => {
                let Some(len) = be16(i) else { return false };
                if len < 2 {
                    return false;
                }
                i += len;
                if i > n {
                    return false;
                }
                if marker == 0xDA {
                    // Entropy-coded data runs to the next marker that is not a stuffed zero
                    // or a restart marker.
                    loop {
                        // memchr's SIMD search: this scan reads every byte of the file.
                        match memchr::memchr(0xFF, &b[i..]) {
                            None => return false,
                            Some(p) => {
                                let j = i + p;
                                if j + 1 >= n {
                                    return false;
                                }
                                match b[j + 1] {
                                    0x00 | 0xD0..=0xD7 | 0xFF => i = j + 1,
                                    _ => {
                                        i = j;
                                        break;
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
