//! Images on a card: a user's photo and a profile background, and the photo of a network
//! profile. An upload is decoded and re-encoded by a [`crate::ports::ImageCodec`] (metadata
//! is not carried over), kept in the store in a few fixed sizes, and served at a capability
//! URL (`/photo/{id}/{size}.{ext}`, decisions.md) that is new on every upload.

use std::fmt;
use std::str::FromStr;

use crate::ids::{AccountId, UserId};
use crate::model::identity::IdentityId;

/// How big an upload may be, before and after decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageLimits {
    /// The largest file accepted, in bytes.
    pub max_bytes: usize,
    /// The most pixels (width × height) a file may declare; a larger one is refused before it
    /// is decoded, so a small file that would decode to gigabytes is never expanded.
    pub max_pixels: u64,
}

impl ImageLimits {
    /// 10 MB and 40 megapixels (the defaults; `serve --photo-max-bytes` changes the
    /// first).
    pub const DEFAULT: ImageLimits = ImageLimits { max_bytes: 10 * 1024 * 1024, max_pixels: 40_000_000 };
}

impl Default for ImageLimits {
    fn default() -> Self {
        ImageLimits::DEFAULT
    }
}

/// A copy of an image kept in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ImageSize {
    /// A photo's square crop at 150 px.
    Small,
    /// A photo's square crop at 300 px.
    Medium,
    /// A photo's square crop at 1000 px: what `PERSONAL_PHOTO` links to by default.
    Large,
    /// A background, scaled to fit within 1920 × 1080 px, not cropped.
    Cover,
}

impl ImageSize {
    /// Every size.
    pub const ALL: [ImageSize; 4] = [ImageSize::Small, ImageSize::Medium, ImageSize::Large, ImageSize::Cover];

    /// The name in the URL (`/photo/{id}/{name}.{ext}`) and in the store.
    pub fn name(self) -> &'static str {
        match self {
            ImageSize::Small => "small",
            ImageSize::Medium => "medium",
            ImageSize::Large => "large",
            ImageSize::Cover => "cover",
        }
    }

    /// Parses [`ImageSize::name`].
    pub fn from_name(name: &str) -> Option<ImageSize> {
        ImageSize::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The box the copy fits in, width × height in pixels: a square for a photo. A smaller
    /// original is never scaled up.
    pub fn bounds(self) -> (u32, u32) {
        match self {
            ImageSize::Small => (150, 150),
            ImageSize::Medium => (300, 300),
            ImageSize::Large => (1000, 1000),
            ImageSize::Cover => (1920, 1080),
        }
    }

    /// `IMAGE_RESIZE` of `user.get` (spec §2.5): `small`, `medium` or `large`, any case.
    pub fn from_resize(value: &str) -> Option<ImageSize> {
        ImageSize::from_name(&value.to_ascii_lowercase()).filter(|s| *s != ImageSize::Cover)
    }
}

/// What an image is for, which decides how it is cut and which sizes are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImagePurpose {
    /// A user's or a network profile's photo: a centred square crop.
    Photo,
    /// A profile background: the whole picture.
    Background,
}

impl ImagePurpose {
    /// The sizes kept, smallest first.
    pub fn sizes(self) -> &'static [ImageSize] {
        match self {
            ImagePurpose::Photo => &[ImageSize::Small, ImageSize::Medium, ImageSize::Large],
            ImagePurpose::Background => &[ImageSize::Cover],
        }
    }

    /// A stable code for storage.
    pub fn code(self) -> &'static str {
        match self {
            ImagePurpose::Photo => "photo",
            ImagePurpose::Background => "background",
        }
    }

    /// Parses [`ImagePurpose::code`].
    pub fn from_code(code: &str) -> Option<ImagePurpose> {
        [ImagePurpose::Photo, ImagePurpose::Background].into_iter().find(|p| p.code() == code)
    }

    /// The size a link points to when the reader names none.
    pub fn default_size(self) -> ImageSize {
        match self {
            ImagePurpose::Photo => ImageSize::Large,
            ImagePurpose::Background => ImageSize::Cover,
        }
    }
}

/// The encoding of a stored image: JPEG for opaque pictures, PNG for those with transparency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageFormat {
    /// `image/jpeg`, `.jpg`.
    Jpeg,
    /// `image/png`, `.png`.
    Png,
}

impl ImageFormat {
    /// The file extension in the URL and the store.
    pub fn ext(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "jpg",
            ImageFormat::Png => "png",
        }
    }

    /// Parses [`ImageFormat::ext`].
    pub fn from_ext(ext: &str) -> Option<ImageFormat> {
        [ImageFormat::Jpeg, ImageFormat::Png].into_iter().find(|f| f.ext() == ext)
    }

    /// The media type it is served with.
    pub fn media_type(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "image/jpeg",
            ImageFormat::Png => "image/png",
        }
    }
}

/// An image's capability: 128 random bits, which alone make its URL readable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageId(pub u128);

impl ImageId {
    /// From 16 bytes of a CSPRNG.
    pub fn from_bytes(bytes: [u8; 16]) -> ImageId {
        ImageId(u128::from_be_bytes(bytes))
    }
}

impl fmt::Display for ImageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

impl FromStr for ImageId {
    type Err = ();

    /// Exactly 32 lower-case hex digits, as [`fmt::Display`] writes them.
    fn from_str(s: &str) -> Result<ImageId, ()> {
        if s.len() != 32 || !s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(());
        }
        u128::from_str_radix(s, 16).map(ImageId).map_err(|_| ())
    }
}

/// What a user record (`PERSONAL_PHOTO`) or an identity holds of its photo: the image and its
/// encoding, written `{id}.{ext}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ImageRef {
    /// The image.
    pub id: ImageId,
    /// Its encoding.
    pub format: ImageFormat,
}

impl ImageRef {
    /// The absolute URL of one of its copies, under `base_url` (no trailing `/`).
    pub fn url(&self, base_url: &str, size: ImageSize) -> String {
        format!("{base_url}/photo/{}/{}.{}", self.id, size.name(), self.format.ext())
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.id, self.format.ext())
    }
}

impl FromStr for ImageRef {
    type Err = ();

    fn from_str(s: &str) -> Result<ImageRef, ()> {
        let (id, ext) = s.split_once('.').ok_or(())?;
        Ok(ImageRef { id: id.parse()?, format: ImageFormat::from_ext(ext).ok_or(())? })
    }
}

/// What the codec made of an upload: one encoded copy per size of its purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedImage {
    /// The encoding of every copy.
    pub format: ImageFormat,
    /// The copies, in the order of [`ImagePurpose::sizes`].
    pub copies: Vec<(ImageSize, Vec<u8>)>,
}

/// Whose an image is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageOwner {
    /// A user of an account (a photo or a background).
    User(AccountId, UserId),
    /// A network profile (its photo, which "update on all accounts" copies to each account).
    Identity(IdentityId),
}

/// An image as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredImage {
    /// The capability.
    pub id: ImageId,
    /// Whose it is.
    pub owner: ImageOwner,
    /// What it is for.
    pub purpose: ImagePurpose,
    /// The encoding of its copies.
    pub format: ImageFormat,
    /// The copies.
    pub copies: Vec<(ImageSize, Vec<u8>)>,
}

impl StoredImage {
    /// Its reference.
    pub fn reference(&self) -> ImageRef {
        ImageRef { id: self.id, format: self.format }
    }
}

/// Why an upload was refused. Every case leaves the previous image in place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    /// The file is larger than [`ImageLimits::max_bytes`].
    #[error("the file is larger than {max} bytes")]
    TooLarge {
        /// The limit.
        max: usize,
    },
    /// The picture has more pixels than [`ImageLimits::max_pixels`].
    #[error("the picture has more than {max} pixels")]
    TooManyPixels {
        /// The limit.
        max: u64,
    },
    /// Not a PNG, JPEG, WebP or GIF file.
    #[error("not a PNG, JPEG, WebP or GIF image")]
    UnsupportedFormat,
    /// A file of an accepted format that does not decode (truncated or damaged).
    #[error("the image is truncated or damaged")]
    Damaged,
    /// This surface takes no images (a worker that never uploads).
    #[error("images are not accepted here")]
    NotAccepted,
}

/// One of the built-in backgrounds: a name and the two colours of its gradient, which the pages
/// draw (no image file is shipped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltinBackground {
    /// The name clients send and receive.
    pub name: &'static str,
    /// The gradient, top left to bottom right, as `#rrggbb`.
    pub colours: [&'static str; 2],
}

/// The built-in backgrounds, in the order a picker shows them.
pub const BUILTIN_BACKGROUNDS: [BuiltinBackground; 6] = [
    BuiltinBackground { name: "dawn", colours: ["#f6d365", "#fda085"] },
    BuiltinBackground { name: "sea", colours: ["#2b5876", "#4e4376"] },
    BuiltinBackground { name: "meadow", colours: ["#a8e063", "#56ab2f"] },
    BuiltinBackground { name: "slate", colours: ["#485563", "#29323c"] },
    BuiltinBackground { name: "dune", colours: ["#e6dada", "#b79891"] },
    BuiltinBackground { name: "night", colours: ["#141e30", "#243b55"] },
];

impl BuiltinBackground {
    /// The built-in background of that name.
    pub fn named(name: &str) -> Option<BuiltinBackground> {
        BUILTIN_BACKGROUNDS.into_iter().find(|b| b.name == name)
    }
}

/// A profile background.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Background {
    /// One of [`BUILTIN_BACKGROUNDS`], by name.
    Builtin(&'static str),
    /// An uploaded image.
    Image(ImageRef),
}

impl Background {
    /// How the store writes it: the built-in's name, or `image:{id}.{ext}`.
    pub fn code(&self) -> String {
        match self {
            Background::Builtin(name) => (*name).to_string(),
            Background::Image(r) => format!("image:{r}"),
        }
    }

    /// Parses [`Background::code`]; `None` for anything else (a built-in since removed).
    pub fn from_code(code: &str) -> Option<Background> {
        match code.strip_prefix("image:") {
            Some(r) => r.parse().ok().map(Background::Image),
            None => BuiltinBackground::named(code).map(|b| Background::Builtin(b.name)),
        }
    }

    /// The uploaded image, if it is one.
    pub fn image(&self) -> Option<ImageRef> {
        match self {
            Background::Image(r) => Some(*r),
            Background::Builtin(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_round_trip_and_refuse_anything_else() {
        let r = ImageRef { id: ImageId(0xabc), format: ImageFormat::Png };
        assert_eq!(r.to_string(), "00000000000000000000000000000abc.png");
        assert_eq!(r.to_string().parse::<ImageRef>(), Ok(r));
        assert_eq!(
            r.url("https://c.example", ImageSize::Small),
            "https://c.example/photo/00000000000000000000000000000abc/small.png"
        );
        for bad in [
            "",
            "abc.png",
            "00000000000000000000000000000ABC.png",
            "00000000000000000000000000000abc.gif",
            "https://files.example.com/1.png",
        ] {
            assert!(bad.parse::<ImageRef>().is_err(), "{bad}");
        }
    }

    #[test]
    fn backgrounds_round_trip() {
        let image = Background::Image(ImageRef { id: ImageId(7), format: ImageFormat::Jpeg });
        for b in [Background::Builtin("sea"), image] {
            assert_eq!(Background::from_code(&b.code()), Some(b));
        }
        assert_eq!(Background::from_code("nope"), None);
        assert_eq!(ImageSize::from_resize("MEDIUM"), Some(ImageSize::Medium));
        assert_eq!(ImageSize::from_resize("cover"), None);
    }
}
