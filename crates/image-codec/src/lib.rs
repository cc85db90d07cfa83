//! The image codec behind `profile_core::ports::ImageCodec`: an upload is recognised by its
//! content (never by a name or a media type a client sends), refused if it declares more
//! pixels than allowed before anything is decoded, decoded with bounded allocations, turned
//! upright by its EXIF orientation, cut for its purpose and encoded again: JPEG when it is
//! opaque, PNG when it has transparency. Nothing of the original file but its pixels is kept,
//! so metadata (EXIF, GPS, comments, colour profiles) never reaches a reader.

use std::io::Cursor;
use std::sync::{Condvar, Mutex};

use fast_image_resize::{ResizeAlg, ResizeOptions, Resizer};
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::{DynamicImage, ImageDecoder, ImageEncoder, ImageReader};
use profile_core::model::image::{
    ImageError, ImageFormat, ImageLimits, ImagePurpose, ImageSize, PreparedImage,
};
use profile_core::ports::ImageCodec;

/// JPEG quality of every stored copy: no visible loss at these sizes, a third of the bytes of
/// quality 95.
const JPEG_QUALITY: u8 = 85;

/// The codec. Decoding a large photo takes a core and up to `4 × max_pixels` bytes for a moment,
/// so at most [`Codec::slots`] uploads are decoded at once; the rest wait their turn.
#[derive(Debug)]
pub struct Codec {
    limits: ImageLimits,
    slots: usize,
    busy: Mutex<usize>,
    freed: Condvar,
}

impl Codec {
    /// A codec with `limits`, decoding as many uploads at once as the machine has cores.
    pub fn new(limits: ImageLimits) -> Codec {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        Codec { limits, slots: cores, busy: Mutex::new(0), freed: Condvar::new() }
    }

    /// How many uploads are decoded at once.
    pub fn slots(&self) -> usize {
        self.slots
    }

    fn acquire(&self) -> Slot<'_> {
        let mut busy = self.busy.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        while *busy >= self.slots {
            busy = self.freed.wait(busy).unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        *busy += 1;
        Slot(self)
    }
}

impl Default for Codec {
    fn default() -> Self {
        Codec::new(ImageLimits::DEFAULT)
    }
}

/// A decoding slot, given back when dropped (also when decoding panics).
struct Slot<'a>(&'a Codec);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut busy = self.0.busy.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *busy -= 1;
        self.0.freed.notify_one();
    }
}

impl ImageCodec for Codec {
    fn limits(&self) -> ImageLimits {
        self.limits
    }

    fn prepare(&self, bytes: &[u8], purpose: ImagePurpose) -> Result<PreparedImage, ImageError> {
        if bytes.len() > self.limits.max_bytes {
            return Err(ImageError::TooLarge { max: self.limits.max_bytes });
        }
        let _slot = self.acquire();
        let (picture, orientation) = decode(bytes, self.limits)?;
        // Eight bits per channel is what is stored; converting first bounds the memory of what
        // follows (a 40 MP 16-bit picture is 320 MB; its 8-bit copy half of it or less).
        let picture = if picture.color().has_alpha() {
            let rgba = DynamicImage::ImageRgba8(picture.into_rgba8());
            if is_opaque(&rgba) {
                DynamicImage::ImageRgb8(rgba.into_rgb8())
            } else {
                rgba
            }
        } else {
            DynamicImage::ImageRgb8(picture.into_rgb8())
        };
        let opaque = !picture.color().has_alpha();
        let mut picture = picture;
        picture.apply_orientation(orientation);
        let format = if opaque { ImageFormat::Jpeg } else { ImageFormat::Png };
        let copies = match purpose {
            ImagePurpose::Photo => photo_copies(&picture),
            ImagePurpose::Background => vec![(ImageSize::Cover, fit(&picture, ImageSize::Cover))],
        };
        let copies = copies
            .into_iter()
            .map(|(size, img)| encode(&img, opaque).map(|bytes| (size, bytes)))
            .collect::<Result<_, _>>()?;
        Ok(PreparedImage { format, copies })
    }
}

/// The picture of an accepted file, and how to turn it upright.
fn decode(
    bytes: &[u8],
    limits: ImageLimits,
) -> Result<(DynamicImage, image::metadata::Orientation), ImageError> {
    let format = match image::guess_format(bytes) {
        Ok(
            f @ (image::ImageFormat::Png
            | image::ImageFormat::Jpeg
            | image::ImageFormat::WebP
            | image::ImageFormat::Gif),
        ) => f,
        _ => return Err(ImageError::UnsupportedFormat),
    };
    if format == image::ImageFormat::Jpeg && !jpeg_is_whole(bytes) {
        // The JPEG decoder fills a cut-off picture with grey rather than failing.
        return Err(ImageError::Damaged);
    }
    let reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut decoder = reader.into_decoder().map_err(|_| ImageError::Damaged)?;
    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 {
        return Err(ImageError::Damaged);
    }
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(ImageError::TooManyPixels { max: limits.max_pixels });
    }
    let mut bounds = image::Limits::default();
    bounds.max_image_width = Some(width);
    bounds.max_image_height = Some(height);
    // The decoded picture at 16 bits per channel with alpha, and room for the decoder's own.
    bounds.max_alloc = Some(limits.max_pixels.saturating_mul(8).saturating_add(64 << 20));
    decoder.set_limits(bounds).map_err(|_| ImageError::TooManyPixels { max: limits.max_pixels })?;
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let picture = DynamicImage::from_decoder(decoder).map_err(|_| ImageError::Damaged)?;
    Ok((picture, orientation))
}

/// Whether a JPEG's compressed picture is followed by its end marker: the header segments are
/// walked (an EXIF thumbnail inside them has an end marker of its own) to the first scan, and
/// an end-of-image marker must follow it.
fn jpeg_is_whole(bytes: &[u8]) -> bool {
    let mut at = 2;
    loop {
        match bytes.get(at..at + 2) {
            Some([0xff, 0xda]) => break,
            // Fill bytes before a marker.
            Some([0xff, 0xff]) => at += 1,
            Some([0xff, 0x01 | 0xd0..=0xd7]) => at += 2,
            Some([0xff, _]) => {
                let Some(&[hi, lo]) = bytes.get(at + 2..at + 4) else { return false };
                at += 2 + usize::from(u16::from_be_bytes([hi, lo]));
            }
            _ => return false,
        }
    }
    bytes[at..].windows(2).any(|w| w == [0xff, 0xd9])
}

/// Whether every pixel is fully opaque (then JPEG loses nothing that matters).
fn is_opaque(picture: &DynamicImage) -> bool {
    if !picture.color().has_alpha() {
        return true;
    }
    match picture {
        DynamicImage::ImageRgba8(p) => p.pixels().all(|px| px.0[3] == u8::MAX),
        DynamicImage::ImageLumaA8(p) => p.pixels().all(|px| px.0[1] == u8::MAX),
        other => other.to_rgba8().pixels().all(|px| px.0[3] == u8::MAX),
    }
}

/// A photo's copies: the centred square, at each size (the small ones from the 1000 px copy).
fn photo_copies(picture: &DynamicImage) -> Vec<(ImageSize, DynamicImage)> {
    let (w, h) = (picture.width(), picture.height());
    let side = w.min(h);
    let square = ((w - side) / 2, (h - side) / 2, side, side);
    let large = scaled(picture, square, side.min(1000), side.min(1000));
    let whole = (0, 0, large.width(), large.height());
    let mut copies = Vec::with_capacity(3);
    for size in [ImageSize::Small, ImageSize::Medium] {
        let target = size.bounds().0.min(large.width());
        copies.push((size, scaled(&large, whole, target, target)));
    }
    copies.push((ImageSize::Large, large));
    copies
}

/// The picture scaled down to fit within the size's box, its proportions kept.
fn fit(picture: &DynamicImage, size: ImageSize) -> DynamicImage {
    let (bw, bh) = size.bounds();
    let (w, h) = (picture.width(), picture.height());
    if w <= bw && h <= bh {
        return picture.clone();
    }
    let ratio = (f64::from(bw) / f64::from(w)).min(f64::from(bh) / f64::from(h));
    // Both are at most the box's sides, which fit in u32.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let (tw, th) =
        ((f64::from(w) * ratio).round().max(1.0) as u32, (f64::from(h) * ratio).round().max(1.0) as u32);
    scaled(picture, (0, 0, w, h), tw, th)
}

/// The `crop` (left, top, width, height) of `picture` scaled to `w × h` by Catmull-Rom
/// convolution (alpha premultiplied while filtering). Same size: a copy.
fn scaled(picture: &DynamicImage, crop: (u32, u32, u32, u32), w: u32, h: u32) -> DynamicImage {
    let (left, top, cw, ch) = crop;
    if (cw, ch) == (w, h) {
        return picture.crop_imm(left, top, cw, ch);
    }
    let mut out = DynamicImage::new(w, h, picture.color());
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(fast_image_resize::FilterType::CatmullRom))
        .crop(f64::from(left), f64::from(top), f64::from(cw), f64::from(ch));
    if Resizer::new().resize(picture, &mut out, &options).is_err() {
        // Only a pixel type the resizer lacks fails; the slow path has them all.
        return picture.crop_imm(left, top, cw, ch).resize_exact(
            w,
            h,
            image::imageops::FilterType::CatmullRom,
        );
    }
    out
}

fn encode(picture: &DynamicImage, opaque: bool) -> Result<Vec<u8>, ImageError> {
    let mut out = Vec::new();
    let written = if opaque {
        let rgb = picture.to_rgb8();
        JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY).write_image(
            rgb.as_raw(),
            rgb.width(),
            rgb.height(),
            image::ExtendedColorType::Rgb8,
        )
    } else {
        let rgba = picture.to_rgba8();
        PngEncoder::new(&mut out).write_image(
            rgba.as_raw(),
            rgba.width(),
            rgba.height(),
            image::ExtendedColorType::Rgba8,
        )
    };
    // Encoding pixels we made ourselves into memory does not fail; if it did, the upload is
    // refused rather than stored half-made.
    written.map_err(|_| ImageError::Damaged)?;
    Ok(out)
}

#[cfg(test)]
mod tests;
