use super::*;

fn encode(img: DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

fn gradient(w: u32, h: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x * 7) as u8, (y * 5) as u8, ((x + y) * 3) as u8])
    }))
}

#[test]
fn reduction_keeps_one_and_a_half_times_the_letterboxed_size() {
    let r = |w, h, t| jpeg_reduction(w, h, [t, t]);
    assert_eq!(r(4000, 3000, 640), 4); // 1000×750 for a 640×480 letterbox
    assert_eq!(r(3000, 4000, 640), 4);
    assert_eq!(r(1920, 1080, 640), 2); // exactly 1.5×
    assert_eq!(r(1919, 1080, 640), 1);
    assert_eq!(r(1005, 1300, 640), 1); // the largest fixtures: never reduced
    assert_eq!(r(8000, 6000, 640), 8);
    assert_eq!(r(40000, 30000, 640), 8);
    assert_eq!(r(4000, 3000, 1024), 2);
    assert_eq!(r(100, 100, 640), 1); // enlarged, not reduced
    // A wide input: the letterbox's scale comes from the tighter side.
    assert_eq!(jpeg_reduction(4000, 1000, [1280, 320]), 2);
}

/// The mean absolute difference between a reduced decode and `d × d` block means of the
/// full-size decode.
fn reduced_vs_block_means(full: &RgbImage, small: &RgbImage) -> f64 {
    let d = small.reduction as usize;
    let (fw, fh) = (full.width as usize, full.height as usize);
    let mut total = 0.0;
    for y in 0..small.height as usize {
        for x in 0..small.width as usize {
            for c in 0..3 {
                let (mut sum, mut n) = (0.0, 0.0);
                for yy in y * d..((y + 1) * d).min(fh) {
                    for xx in x * d..((x + 1) * d).min(fw) {
                        sum += full.pixels[(yy * fw + xx) * 3 + c] as f64;
                        n += 1.0;
                    }
                }
                let got = small.pixels[(y * small.width as usize + x) * 3 + c] as f64;
                total += (got - sum / n).abs();
            }
        }
    }
    total / (small.pixels.len() as f64)
}

#[test]
fn large_jpegs_decode_reduced_to_the_block_means() {
    let mut img = image::RgbImage::new(2001, 1203);
    for (x, y, p) in img.enumerate_pixels_mut() {
        let v = ((x as f32 / 40.0).sin() * 60.0 + (y as f32 / 25.0).cos() * 60.0 + 128.0) as u8;
        *p = image::Rgb([v, (x / 8) as u8, (y / 5) as u8]);
    }
    let jpeg = encode(DynamicImage::ImageRgb8(img), ImageFormat::Jpeg);
    let full = decode_bytes(&jpeg, &DecodeOptions::default()).unwrap();
    assert_eq!((full.reduction, full.width, full.height), (1, 2001, 1203));
    let opts = DecodeOptions {
        reduce_for: Some([320, 320]),
        ..DecodeOptions::default()
    };
    let small = decode_bytes(&jpeg, &opts).unwrap();
    // 320/2001: reduced by 4 to 501×301 (ceil), at least 1.5 × 320×192.
    assert_eq!((small.reduction, small.width, small.height), (4, 501, 301));
    assert_eq!((small.full_width, small.full_height), (2001, 1203));
    let diff = reduced_vs_block_means(&full, &small);
    assert!(diff < 2.0, "mean difference {diff:.2} grey levels");
    // PNGs are never reduced.
    let png = encode(gradient(2000, 1200), ImageFormat::Png);
    assert_eq!(decode_bytes(&png, &opts).unwrap().reduction, 1);
}

#[test]
fn reduced_jpegs_keep_their_exif_orientation() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/images/formats/astronaut_exif_orientation_6.jpg"
    );
    let bytes = std::fs::read(path).unwrap();
    let full = decode_bytes(&bytes, &DecodeOptions::default()).unwrap();
    let small = decode_bytes(
        &bytes,
        &DecodeOptions {
            reduce_for: Some([full.width / 4, full.height / 4]),
            ..DecodeOptions::default()
        },
    )
    .unwrap();
    assert_eq!(small.reduction, 2);
    assert_eq!(
        (small.full_width, small.full_height),
        (full.width, full.height)
    );
    assert_eq!(small.width, full.width.div_ceil(2));
    assert_eq!(small.height, full.height.div_ceil(2));
    let diff = reduced_vs_block_means(&full, &small);
    assert!(
        diff < 4.0,
        "mean difference {diff:.2} grey levels: turned the wrong way?"
    );
}

#[test]
fn reads_by_content_not_by_name() {
    let png = encode(gradient(20, 10), ImageFormat::Png);
    let img = decode_bytes(&png, &DecodeOptions::default()).unwrap();
    assert_eq!((img.width, img.height, img.pixels.len()), (20, 10, 600));
    assert_eq!(&img.pixels[3..6], &[7, 0, 3]);
}

#[test]
fn converts_gray_alpha_and_16_bit() {
    let gray = DynamicImage::ImageLuma8(image::GrayImage::from_pixel(4, 4, image::Luma([200])));
    let img = decode_bytes(&encode(gray, ImageFormat::Png), &DecodeOptions::default()).unwrap();
    assert_eq!(&img.pixels[..3], &[200, 200, 200]);
    let rgba = DynamicImage::ImageRgba8(image::RgbaImage::from_pixel(
        4,
        4,
        image::Rgba([10, 20, 30, 0]),
    ));
    let img = decode_bytes(&encode(rgba, ImageFormat::Png), &DecodeOptions::default()).unwrap();
    assert_eq!(&img.pixels[..3], &[10, 20, 30]); // alpha dropped, as imread does
    let rgb16 = DynamicImage::ImageRgb16(image::ImageBuffer::from_pixel(
        2,
        2,
        image::Rgb([65535u16, 32768, 257]),
    ));
    let img = decode_bytes(&encode(rgb16, ImageFormat::Png), &DecodeOptions::default()).unwrap();
    assert_eq!(&img.pixels[..3], &[255, 128, 1]);
}

#[test]
fn refuses_empty_unknown_and_oversized_input() {
    let opts = DecodeOptions::default();
    assert_eq!(
        decode_bytes(b"", &opts).unwrap_err().reason,
        "empty file (0 bytes)"
    );
    assert!(
        decode_bytes(b"hello, world", &opts)
            .unwrap_err()
            .reason
            .starts_with("not an image")
    );
    let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic";
    let err = decode_bytes(heic, &opts).unwrap_err();
    assert!(err.reason.contains("HEIC") && err.kind == DecodeErrorKind::Content);
    let png = encode(gradient(100, 100), ImageFormat::Png);
    let err = decode_bytes(
        &png,
        &DecodeOptions {
            max_pixels: 9_999,
            ..DecodeOptions::default()
        },
    )
    .unwrap_err();
    assert!(
        err.reason.contains("100×100") && err.reason.contains("--max-pixels"),
        "{err}"
    );
    assert_eq!(err.kind, DecodeErrorKind::OverLimit);
    let err = decode_file(Path::new("/no/such/file.png"), &opts).unwrap_err();
    assert_eq!(
        (err.kind, err.reason.as_str()),
        (
            DecodeErrorKind::Unreadable,
            "cannot read the file: No such file or directory"
        )
    );
}

#[test]
fn finds_truncated_jpegs() {
    let jpeg = encode(gradient(64, 48), ImageFormat::Jpeg);
    assert!(jpeg_is_complete(&jpeg));
    let mut trailing = jpeg.clone();
    trailing.extend_from_slice(b"appended trailer \xFF\xD8 junk");
    assert!(jpeg_is_complete(&trailing));
    for cut in [jpeg.len() - 1, jpeg.len() / 2, 30, 3] {
        assert!(!jpeg_is_complete(&jpeg[..cut]), "cut at {cut}");
        let err = decode_bytes(&jpeg[..cut], &DecodeOptions::default()).unwrap_err();
        assert!(err.reason.starts_with("truncated JPEG"), "{err}");
    }
    assert!(decode_bytes(&trailing, &DecodeOptions::default()).is_ok());
}

/// TGA has no signature: it is known by its footer or by a header that holds together,
/// raw or run-length, with or without alpha; text is still not an image.
#[test]
fn tga_files_are_recognised() {
    use image::ImageEncoder as _;
    let (w, h) = (5u32, 3u32);
    let rgba: Vec<u8> = (0..w * h * 4).map(|i| (i * 7 % 251) as u8).collect();
    let rgb: Vec<u8> = rgba.chunks(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
    for (pixels, colour) in [
        (&rgb, image::ExtendedColorType::Rgb8),
        (&rgba, image::ExtendedColorType::Rgba8),
    ] {
        for rle in [false, true] {
            let mut file = Vec::new();
            let enc = image::codecs::tga::TgaEncoder::new(&mut file);
            let enc = if rle { enc } else { enc.disable_rle() };
            enc.write_image(pixels, w, h, colour).unwrap();
            let mut with_footer = file.clone();
            with_footer.extend_from_slice(&[0; 8]);
            with_footer.extend_from_slice(b"TRUEVISION-XFILE.\0");
            for bytes in [&file, &with_footer] {
                let img = decode_bytes(bytes, &DecodeOptions::default()).unwrap();
                assert_eq!((img.width, img.height), (w, h));
                assert_eq!(img.pixels, rgb, "rle {rle}, {colour:?}");
            }
        }
    }
    let e = decode_bytes(
        b"hello, this is not an image at all",
        &DecodeOptions::default(),
    );
    assert!(e.unwrap_err().reason.starts_with("not an image"));
}

#[test]
fn the_gpu_gets_only_jpegs_it_decodes_as_they_are() {
    let fixture = |name: &str| {
        std::fs::read(format!(
            "{}/fixtures/images/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    };
    let opts = DecodeOptions::default();
    let reduced = DecodeOptions {
        reduce_for: Some([64, 64]),
        ..DecodeOptions::default()
    };
    let at_640 = DecodeOptions {
        reduce_for: Some([640, 640]),
        ..DecodeOptions::default()
    };
    let upright = fixture("people/grace_hopper.jpg");
    let (w, h) = jpeg_for_gpu(&upright, &opts).unwrap();
    let cpu = decode_bytes(&upright, &opts).unwrap();
    assert_eq!((w, h), (cpu.width, cpu.height));
    assert!(jpeg_for_gpu(&upright, &at_640).is_some());
    assert!(jpeg_for_gpu(&fixture("formats/astronaut_progressive.jpg"), &opts).is_some());
    // Turned or flipped by EXIF, grayscale, reduced, truncated, too large, not a JPEG:
    // the CPU's.
    for name in [
        "formats/astronaut_exif_orientation_6.jpg",
        "formats/grace_hopper_exif_orientation_3.jpg",
        "formats/astronaut_gray.jpg",
    ] {
        assert_eq!(jpeg_for_gpu(&fixture(name), &opts), None, "{name}");
    }
    assert_eq!(jpeg_for_gpu(&upright, &reduced), None);
    assert_eq!(jpeg_for_gpu(&upright[..upright.len() / 2], &opts), None);
    let small = DecodeOptions {
        max_pixels: 100,
        ..DecodeOptions::default()
    };
    assert_eq!(jpeg_for_gpu(&upright, &small), None);
    assert_eq!(
        jpeg_for_gpu(&encode(gradient(8, 8), ImageFormat::Png), &opts),
        None
    );
}
