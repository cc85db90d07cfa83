use image::{ImageBuffer, Rgb, Rgba};

use super::*;

fn rgb(w: u32, h: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(ImageBuffer::from_fn(w, h, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, 90])))
}

fn file(picture: &DynamicImage, format: image::ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    picture.write_to(&mut out, format).unwrap();
    out.into_inner()
}

fn dimensions(bytes: &[u8]) -> (u32, u32) {
    let img = image::load_from_memory(bytes).unwrap();
    (img.width(), img.height())
}

fn sizes(prepared: &PreparedImage) -> Vec<(ImageSize, (u32, u32))> {
    prepared.copies.iter().map(|(s, b)| (*s, dimensions(b))).collect()
}

#[test]
fn a_photo_is_cropped_square_at_each_size_and_never_scaled_up() {
    let codec = Codec::default();
    let big = codec.prepare(&file(&rgb(1600, 2400), image::ImageFormat::Jpeg), ImagePurpose::Photo).unwrap();
    assert_eq!(big.format, ImageFormat::Jpeg);
    assert_eq!(
        sizes(&big),
        [(ImageSize::Small, (150, 150)), (ImageSize::Medium, (300, 300)), (ImageSize::Large, (1000, 1000))]
    );
    let small = codec.prepare(&file(&rgb(400, 200), image::ImageFormat::Png), ImagePurpose::Photo).unwrap();
    assert_eq!(
        sizes(&small),
        [(ImageSize::Small, (150, 150)), (ImageSize::Medium, (200, 200)), (ImageSize::Large, (200, 200))]
    );
}

#[test]
fn every_accepted_format_decodes_and_transparency_stays_png() {
    let codec = Codec::default();
    for format in
        [image::ImageFormat::Png, image::ImageFormat::Jpeg, image::ImageFormat::WebP, image::ImageFormat::Gif]
    {
        let prepared = codec.prepare(&file(&rgb(320, 240), format), ImagePurpose::Photo).unwrap();
        assert_eq!(prepared.format, ImageFormat::Jpeg, "{format:?}");
        assert_eq!(dimensions(&prepared.copies[2].1), (240, 240), "{format:?}");
    }
    let clear =
        DynamicImage::ImageRgba8(ImageBuffer::from_fn(64, 64, |x, _| Rgba([200, 10, 10, (x * 4) as u8])));
    let prepared = codec.prepare(&file(&clear, image::ImageFormat::Png), ImagePurpose::Photo).unwrap();
    assert_eq!(prepared.format, ImageFormat::Png);
    assert_eq!(image::guess_format(&prepared.copies[0].1).unwrap(), image::ImageFormat::Png);
}

#[test]
fn a_background_keeps_its_proportions_within_the_cover_box() {
    let codec = Codec::default();
    let wide =
        codec.prepare(&file(&rgb(3840, 1200), image::ImageFormat::Png), ImagePurpose::Background).unwrap();
    assert_eq!(sizes(&wide), [(ImageSize::Cover, (1920, 600))]);
    let small =
        codec.prepare(&file(&rgb(640, 480), image::ImageFormat::Png), ImagePurpose::Background).unwrap();
    assert_eq!(sizes(&small), [(ImageSize::Cover, (640, 480))]);
}

#[test]
fn anything_but_a_whole_image_of_an_accepted_format_is_refused() {
    let codec = Codec::default();
    let jpeg = file(&rgb(300, 300), image::ImageFormat::Jpeg);
    let png = file(&rgb(300, 300), image::ImageFormat::Png);
    let gif = file(&rgb(300, 300), image::ImageFormat::Gif);
    let webp = file(&rgb(300, 300), image::ImageFormat::WebP);
    let cases: [(&[u8], ImageError); 9] = [
        (b"", ImageError::UnsupportedFormat),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", ImageError::UnsupportedFormat),
        (b"BM\x3a\0\0\0\0\0\0\0\x36\0\0\0\x28\0\0\0\x01\0\0\0\x01\0\0\0", ImageError::UnsupportedFormat),
        (&jpeg[..jpeg.len() / 2], ImageError::Damaged),
        (&jpeg[..40], ImageError::Damaged),
        (&jpeg[..jpeg.len() - 2], ImageError::Damaged),
        (&png[..png.len() / 2], ImageError::Damaged),
        (&gif[..gif.len() / 2], ImageError::Damaged),
        (&webp[..webp.len() / 2], ImageError::Damaged),
    ];
    for (i, (bytes, want)) in cases.into_iter().enumerate() {
        let got = codec.prepare(bytes, ImagePurpose::Photo).map(|p| p.format);
        assert_eq!(got, Err(want), "case {i}: {} bytes", bytes.len());
    }
}

#[test]
fn limits_are_checked_before_decoding() {
    let strict = Codec::new(ImageLimits { max_bytes: 2_000, max_pixels: 10_000 });
    let noise = ImageBuffer::from_fn(200, 100, |x, y| {
        Rgb([(x * 7919 + y * 104_729) as u8, (x ^ y) as u8, (x * y) as u8])
    });
    let png = file(&DynamicImage::ImageRgb8(noise), image::ImageFormat::Png);
    assert!(png.len() > 2_000);
    assert_eq!(strict.prepare(&png, ImagePurpose::Photo), Err(ImageError::TooLarge { max: 2_000 }));
    let tiny = file(&DynamicImage::ImageRgb8(ImageBuffer::new(200, 100)), image::ImageFormat::Png);
    assert!(tiny.len() <= 2_000, "{}", tiny.len());
    assert_eq!(strict.prepare(&tiny, ImagePurpose::Photo), Err(ImageError::TooManyPixels { max: 10_000 }));

    // A bomb: a GIF of a few hundred bytes whose header declares 65535 × 65535 pixels (4.3
    // gigapixels) is refused from its header, under the default limits.
    let mut gif = file(&rgb(16, 16), image::ImageFormat::Gif);
    gif[6..10].copy_from_slice(&[0xff, 0xff, 0xff, 0xff]);
    let refused = Codec::default().prepare(&gif, ImagePurpose::Photo);
    assert!(matches!(refused, Err(ImageError::TooManyPixels { .. } | ImageError::Damaged)), "{refused:?}");
}

/// A JPEG with an EXIF block saying "rotate 90° clockwise" and a comment.
fn rotated_jpeg_with_metadata(w: u32, h: u32) -> Vec<u8> {
    let plain = file(&rgb(w, h), image::ImageFormat::Jpeg);
    let tiff: [u8; 26] = [
        b'M', b'M', 0, 0x2a, 0, 0, 0, 8, // big-endian TIFF header, first IFD at 8
        0, 1, // one entry
        0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, // Orientation, SHORT, 1 value: 6
        0, 0, 0, 0, // no next IFD
    ];
    let mut app1 = vec![0xff, 0xe1];
    app1.extend_from_slice(&u16::try_from(2 + 6 + tiff.len()).unwrap().to_be_bytes());
    app1.extend_from_slice(b"Exif\0\0");
    app1.extend_from_slice(&tiff);
    let comment = b"GPS 52.52N 13.40E";
    let mut com = vec![0xff, 0xfe];
    com.extend_from_slice(&u16::try_from(2 + comment.len()).unwrap().to_be_bytes());
    com.extend_from_slice(comment);
    [&plain[..2], &app1, &com, &plain[2..]].concat()
}

#[test]
fn the_exif_orientation_is_applied_and_no_metadata_is_kept() {
    let upload = rotated_jpeg_with_metadata(300, 200);
    assert!(upload.windows(4).any(|w| w == b"Exif"));
    let codec = Codec::default();
    let prepared = codec.prepare(&upload, ImagePurpose::Background).unwrap();
    assert_eq!(sizes(&prepared), [(ImageSize::Cover, (200, 300))]);
    for (_, bytes) in &prepared.copies {
        assert!(!bytes.windows(4).any(|w| w == b"Exif"));
        assert!(!bytes.windows(3).any(|w| w == b"GPS"));
    }
}

#[test]
fn decoding_slots_are_given_back() {
    let codec = Codec::new(ImageLimits::DEFAULT);
    let jpeg = file(&rgb(64, 64), image::ImageFormat::Jpeg);
    // More uploads than slots, one after another and from threads at once: none waits forever.
    std::thread::scope(|s| {
        for _ in 0..codec.slots() * 3 {
            s.spawn(|| codec.prepare(&jpeg, ImagePurpose::Photo).unwrap());
        }
    });
    assert_eq!(*codec.busy.lock().unwrap(), 0);
}

#[test]
fn fill_bytes_and_sixteen_bit_pictures_are_taken() {
    let codec = Codec::default();
    let plain = file(&rgb(120, 80), image::ImageFormat::Jpeg);
    let filled = [&plain[..2], &[0xff], &plain[2..]].concat();
    assert_eq!(codec.prepare(&filled, ImagePurpose::Photo).map(|p| p.format), Ok(ImageFormat::Jpeg));
    let deep = DynamicImage::ImageRgba16(ImageBuffer::from_fn(90, 60, |x, _| {
        image::Rgba([9000, 30000, 500, if x < 45 { 65535 } else { 1000 }])
    }));
    let prepared = codec.prepare(&file(&deep, image::ImageFormat::Png), ImagePurpose::Photo).unwrap();
    assert_eq!((prepared.format, dimensions(&prepared.copies[2].1)), (ImageFormat::Png, (60, 60)));
    let opaque16 =
        DynamicImage::ImageRgba16(ImageBuffer::from_pixel(90, 60, image::Rgba([9000, 30000, 500, 65535])));
    let prepared = codec.prepare(&file(&opaque16, image::ImageFormat::Png), ImagePurpose::Photo).unwrap();
    assert_eq!(prepared.format, ImageFormat::Jpeg, "an alpha channel that is all opaque is no transparency");
}
